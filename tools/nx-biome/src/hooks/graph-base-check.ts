import { execFileSync } from 'node:child_process';
import { BiomeError, formatBiomeError, isBiomeError } from '../core/errors';
import { selectRun } from '../core/run-selection';
import { readNxCommandLine } from '../adapters/nx-command-line';
import { asNxError, runsInNxProcess } from './nx-error';

/**
 * `nx affected` in a shallow clone, or with a `--base` / `NX_BASE` this clone
 * does not have, fails with the plugin's error and fix instead of Nx's raw git
 * message (or, worse, an empty affected set). Nx resolves the affected set
 * right after building the graph, before the pre-run hook: this runs at graph
 * time. It reads the command line only where it is the Nx command's own
 * (plugin in the Nx process); in an isolated worker Nx's own git error stands.
 */
export async function checkAffectedBase(
  workspaceRoot: string,
  argv: readonly string[] = process.argv,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  if (!runsInNxProcess(argv) || !argv.includes('affected')) return;
  const cmd = await readNxCommandLine(argv);
  if (!cmd || cmd.command !== 'affected') return;
  const run = selectRun(cmd);
  const base = run.base ?? env.NX_BASE;
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: workspaceRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    let shallow: boolean;
    try {
      shallow = git('rev-parse', '--is-shallow-repository') === 'true';
    } catch {
      return; // not a git repository: Nx says so itself
    }
    if (shallow) {
      throw new BiomeError(
        'GIT_SHALLOW_CLONE',
        'This is a shallow clone: nx affected cannot see the base commit and would report too little.',
        'Fetch full history (git fetch --unshallow, or GIT_DEPTH: 0 in GitLab CI).',
      );
    }
    if (base === undefined) return;
    try {
      if (base.startsWith('-')) throw new Error('option-like ref');
      git('rev-parse', '--verify', '--quiet', '--end-of-options', `${base}^{commit}`);
    } catch {
      throw new BiomeError(
        'GIT_BASE_UNKNOWN',
        `--base=${base} names no commit in this clone.`,
        `Check the spelling, fetch it (git fetch origin ${base}), or leave --base out: npx nx-biome deploy --biome=<b> starts from the biome's last complete deploy run.`,
      );
    }
  } catch (e) {
    // Nx shows a graph-time error only as "Failed to process project graph"
    // unless --verbose: say what is wrong first.
    if (isBiomeError(e)) console.error(`\n ✖ ${formatBiomeError(e)}\n`);
    throw asNxError(e);
  }
}
