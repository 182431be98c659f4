/**
 * Runs s3rver (test/support/s3rver.ts) in a process of its own for the
 * benchmark, so that the runner's own work (sampling /proc, listing the
 * store) never holds up the server's event loop. Prints one JSON line with
 * the endpoint and environment, then serves until stdin closes.
 */
import { startS3rver } from '../test/support/s3rver';

void (async () => {
  const server = await startS3rver(process.argv.slice(2));
  process.stdout.write(`${JSON.stringify({ endpoint: server.endpoint, env: server.env })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void server.stop().then(() => process.exit(0)));
})();
