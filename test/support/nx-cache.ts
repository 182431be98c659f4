import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NX_BIN, nxEnv } from './workspace';

/** A cache endpoint started the way CI starts it: `nx run infra:cache-serve` in the background. */
export interface RunningCacheServe {
  url: string;
  /** Ends the "job shell" the endpoint watches; resolves with the endpoint's output once Nx exits. */
  stop(): Promise<{ code: number; output: string }>;
}

/**
 * Runs `nx run infra:cache-serve --urlFile=... --watchPid=<job>` in `root`,
 * where <job> is a stand-in for the CI job's shell (a sleeping process this
 * helper owns), and waits for the URL file.
 */
export async function startCacheServe(
  root: string,
  args: string[],
  env: Record<string, string>,
): Promise<RunningCacheServe> {
  const job: ChildProcess = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const urlFile = `dist/ci/nx-cache-${job.pid}.url`;
  const child = spawn(
    process.execPath,
    [
      NX_BIN,
      'run',
      'infra:cache-serve',
      `--urlFile=${urlFile}`,
      `--watchPid=${job.pid}`,
      '--output-style=static',
      ...args,
    ],
    { cwd: root, env: nxEnv(env) },
  );
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  let gone = false;
  void exited.then(() => (gone = true));
  const path = join(root, urlFile);
  // Generous: Nx loads the workspace graph first (seconds on a busy machine).
  for (let i = 0; i < 600 && !existsSync(path); i++) {
    if (gone) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!existsSync(path)) {
    job.kill();
    child.kill();
    throw new Error(`cache-serve did not start:\n${output}`);
  }
  return {
    url: readFileSync(path, 'utf8').trim(),
    async stop() {
      job.kill();
      return { code: await exited, output };
    },
  };
}
