/**
 * @geo/nx-biome: the workspace plugin. Executors and generators are declared
 * in executors.json / generators.json; this entry adds a pre-run check so that
 * a bad `--biome`, a dirty tree or a shallow clone fails before any task
 * (build included) writes anything, and the workflow → service edges of the
 * project graph.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CreateDependencies, DependencyType, PreTasksExecution } from '@nx/devkit';
import { BiomeError, formatBiomeError, isBiomeError } from './core/errors';
import { readRunSelection } from './core/run-selection';
import { planWorkflowDependencies, ProjectShape } from './core/workflow';

export const name = '@geo/nx-biome';

/**
 * A workflow depends on the services its definition invokes through
 * `${service:<name>}`: changing a service marks the workflow affected. Reads
 * only the workflows' definition files, so the graph stays cheap to compute.
 */
export const createDependencies: CreateDependencies = (_options, context) => {
  const read = (path: string) => {
    try {
      return readFileSync(join(context.workspaceRoot, path), 'utf8');
    } catch {
      return undefined; // a missing definition is the build's error to report, not the graph's
    }
  };
  return planWorkflowDependencies(context.projects as Record<string, ProjectShape>, read).map((edge) =>
    edge.sourceFile
      ? { ...edge, sourceFile: edge.sourceFile, type: 'static' as DependencyType.static }
      : { source: edge.source, target: edge.target, type: 'implicit' as DependencyType.implicit },
  );
};

export const preTasksExecution: PreTasksExecution = async (_options, context) => {
  const run = readRunSelection(context.argv ?? []);
  if (run.biome === undefined && !run.affected && !run.deploys) return;
  try {
    // Loaded here, not at plugin load: every Nx command loads the plugin, few run this check.
    const [{ parseBiomeName }, { loadWorkspaceConfig }, { assertNotShallow, createGit }, { dirtyTreeError, inputRootsOf }] = await Promise.all([
      import('./core/names'),
      import('./adapters/workspace'),
      import('./adapters/git'),
      import('./operations/dirty-check'),
    ]);
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
