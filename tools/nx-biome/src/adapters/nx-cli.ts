import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BiomeError } from '../core/errors';

const run = promisify(execFile);

/** Nx settings a nested Nx may inherit; the per-task NX_* variables of the calling task must not leak into it. */
const NX_KEEP = new Set([
  'NX_DAEMON',
  'NX_NO_CLOUD',
  'NX_TUI',
  'NX_ISOLATE_PLUGINS',
  'NX_USE_LOCAL',
  'NX_CACHE_DIRECTORY',
  'NX_VERBOSE_LOGGING',
]);

function nestedEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (!k.startsWith('NX_') || NX_KEEP.has(k)) out[k] = v;
  return { ...out, NX_DAEMON: 'false', NX_TUI: 'false' };
}

/** The Nx command line of a workspace, for what the devkit does not offer (the affected set). */
export interface NxCliPort {
  /** Projects with `target`; with `affected`, only those affected between base and head (Nx's own rules). */
  projectsWithTarget(target: string, affected?: { base: string; head: string }): Promise<string[]>;
}

/** The workspace's own Nx CLI (`node_modules/nx`), run as a child process. */
export function createNxCli(workspaceRoot: string, env: NodeJS.ProcessEnv = process.env): NxCliPort {
  return {
    async projectsWithTarget(target, affected) {
      const bin = require.resolve('nx/bin/nx.js', { paths: [workspaceRoot] });
      const args = [
        bin,
        'show',
        'projects',
        `--withTarget=${target}`,
        '--json',
        ...(affected ? ['--affected', `--base=${affected.base}`, `--head=${affected.head}`] : []),
      ];
      try {
        const { stdout } = await run(process.execPath, args, {
          cwd: workspaceRoot,
          env: nestedEnv(env),
          maxBuffer: 64 * 1024 * 1024,
        });
        const start = stdout.indexOf('[');
        return (JSON.parse(stdout.slice(start)) as string[]).sort();
      } catch (e) {
        const err = e as { stderr?: string; message: string };
        throw new BiomeError(
          'OPTIONS_INVALID',
          `nx show projects${affected ? ` --affected --base=${affected.base}` : ''} failed: ${(err.stderr || err.message).trim().split('\n').slice(-3).join(' ')}`,
          'Check that --base names a commit this clone has (full history, not shallow).',
        );
      }
    },
  };
}
