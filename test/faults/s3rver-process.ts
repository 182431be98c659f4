import { ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** s3rver in a child process: it can be killed with SIGKILL and restarted on the same data. */
export interface S3rverProcess {
  port: number;
  directory: string;
  /** Kills the server with SIGKILL (no clean shutdown) and waits for it to be gone. */
  kill(): Promise<void>;
  /** Starts the server again on the same data folder; resolves with its (new) port. */
  restart(): Promise<number>;
  stop(): Promise<void>;
}

const CHILD = join(__dirname, 's3rver-child.mjs');

function launch(directory: string, port: number, buckets: string[]): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, directory, String(port), ...buckets], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d: Buffer) => {
      const m = /ready (\d+)/.exec(d.toString());
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.on('exit', (code) => reject(new Error(`s3rver child exited (${code}): ${err}`)));
  });
}

/** Starts s3rver with the given buckets in a child process, storing into a temporary folder. */
export async function startS3rverProcess(buckets: string[]): Promise<S3rverProcess> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-proc-'));
  let { child, port } = await launch(directory, 0, buckets);
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  };
  const handle: S3rverProcess = {
    port,
    directory,
    kill,
    async restart() {
      await kill();
      ({ child, port } = await launch(directory, 0, buckets));
      handle.port = port;
      return port;
    },
    async stop() {
      await kill();
      await rm(directory, { recursive: true, force: true });
    },
  };
  return handle;
}
