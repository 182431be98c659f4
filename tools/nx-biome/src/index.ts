/**
 * @geo/nx-biome: the workspace plugin. Executors and generators are declared
 * in executors.json / generators.json; this entry adds a pre-run check so that
 * a bad `--biome`, a dirty tree or a shallow clone fails before any task
 * (build included) writes anything, and the workflow → service edges of the
 * project graph.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CreateDependencies, DependencyType, PostTasksExecution, PreTasksExecution } from '@nx/devkit';
import { BiomeError, formatBiomeError, isBiomeError } from './core/errors';
import { readRunSelection, RunSelection } from './core/run-selection';
import { DEPLOY_EXECUTOR, RUN_ID_VARIABLE } from './core/deploy-run';
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
  await check(run, context);
  // Nx hands a pre-run hook's environment to every task process of the run:
  // deploy tasks leave their outcome where the end-of-run summary finds it.
  if (run.deploys) process.env[RUN_ID_VARIABLE] = context.id;
};

/**
 * After the last task of a run: renders the tfvars of every biome the run
 * deployed to, once, from the biome's whole ledger, and prints what runs where.
 */
export const postTasksExecution: PostTasksExecution = async (_options, context) => {
  const run = readRunSelection(context.argv ?? []);
  if (!run.deploys) return;
  try {
    const { finishDeployRun } = await import('./executors/infra-deploy/finish-run');
    await finishDeployRun(context);
  } catch (e) {
    throw asNxError(e);
  }
};

/** A BiomeError as Nx prints a hook's error: the plugin's message and fix, no stack. */
function asNxError(e: unknown): unknown {
  if (!isBiomeError(e)) return e;
  const error = new Error(formatBiomeError(e));
  error.stack = `✖ ${formatBiomeError(e)}`;
  return error;
}

async function check(run: RunSelection, context: Parameters<PreTasksExecution>[1]): Promise<void> {
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
      const graph = readCachedProjectGraph();
      // Only what gets packaged must be clean: `infra:deploy` re-renders from the ledger and builds nothing.
      const packaged = run.projects?.filter((p) => graph.nodes[p]?.data.targets?.deploy?.executor === DEPLOY_EXECUTOR);
      if (packaged && packaged.length === 0) return;
      const roots = inputRootsOf(graph, packaged);
      const dirty = await git.dirtyFiles(roots);
      if (dirty.length > 0) throw dirtyTreeError(packaged?.join(', ') ?? 'the workspace', dirty);
    }
  } catch (e) {
    // Thrown before any task runs: nothing has been built, packaged or written.
    throw asNxError(e);
  }
}
