/**
 * @geo/nx-biome: the workspace plugin. Executors and generators are declared
 * in executors.json / generators.json; this entry adds a pre-run check so that
 * a bad `--biome`, a dirty tree or a shallow clone fails before any task
 * (build included) writes anything.
 */
import type { PreTasksExecution } from '@nx/devkit';
import { BiomeError, formatBiomeError, isBiomeError } from './core/errors';
import { parseBiomeName } from './core/names';
import { readRunSelection } from './core/run-selection';
import { loadWorkspaceConfig } from './adapters/workspace';
import { assertNotShallow, createGit } from './adapters/git';
import { dirtyTreeError, inputRootsOf } from './operations/dirty-check';

export const name = '@geo/nx-biome';

export const preTasksExecution: PreTasksExecution = async (_options, context) => {
  const run = readRunSelection(context.argv ?? []);
  if (run.biome === undefined && !run.affected && !run.deploys) return;
  try {
    const git = createGit(context.workspaceRoot);
    if (run.affected) await assertNotShallow(git);
    if (run.biome !== undefined) {
      if (run.biome === '') throw new BiomeError('OPTIONS_INVALID', '--biome was given without a value.', 'Pass --biome=<env> or --biome=<env>-<suffix>, e.g. --biome=dev-bob.');
      parseBiomeName(run.biome, await loadWorkspaceConfig(context.workspaceRoot));
    }
    if (run.deploys && !run.allowDirty) {
      const { readCachedProjectGraph } = await import('@nx/devkit');
      const roots = inputRootsOf(readCachedProjectGraph(), run.projects);
      const dirty = await git.dirtyFiles(roots);
      if (dirty.length > 0) throw dirtyTreeError(run.projects?.join(', ') ?? 'the workspace', dirty);
    }
  } catch (e) {
    if (!isBiomeError(e)) throw e;
    // Thrown before any task runs: nothing has been built, packaged or written.
    const error = new Error(formatBiomeError(e));
    error.stack = `✖ ${formatBiomeError(e)}`;
    throw error;
  }
};
