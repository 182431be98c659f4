// Runs s3rver in its own process so that a test can SIGKILL it mid-request.
// argv: <directory> <port|0> <bucket>...; prints "ready <port>" once listening.
import S3rver from 's3rver';

const [directory, port, ...buckets] = process.argv.slice(2);
const server = new S3rver({
  port: Number(port),
  address: '127.0.0.1',
  silent: true,
  directory,
  configureBuckets: buckets.map((name) => ({ name })),
});
const address = await server.run();
process.stdout.write(`ready ${address.port}\n`);
