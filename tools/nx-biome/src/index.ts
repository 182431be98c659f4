/**
 * @geo/nx-biome: the workspace plugin. Executors and generators are declared
 * in executors.json / generators.json; this entry adds the workflow → service
 * edges of the project graph and the hooks of a deploy run: a pre-run check so
 * that a bad `--biome`, a dirty tree or a shallow clone fails before any task
 * (build included) writes anything, and the end-of-run render and summary.
 * Each hook delegates to a module of src/hooks/.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CreateDependencies, DependencyType, PostTasksExecution, PreTasksExecution } from '@nx/devkit';
import { planWorkflowDependencies, ProjectShape } from './core/workflow';
import { checkAffectedBase } from './hooks/graph-base-check';
import { prepareRun } from './hooks/pre-run';
import { finishRun } from './hooks/post-run';

export const name = '@geo/nx-biome';

export { createNodesV2 } from './plugins/inferred-targets';

/**
 * A workflow depends on the services its definition invokes through
 * `${service:<name>}`: changing a service marks the workflow affected. Reads
 * only the workflows' definition files, so the graph stays cheap to compute.
 */
export const createDependencies: CreateDependencies = async (_options, context) => {
  await checkAffectedBase(context.workspaceRoot);
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

/**
 * Checks a deploy before any task and hands every task the run's variables.
 * Nx 23 takes a hook's variables from what it writes to process.env (it wraps
 * process.env to collect them in an isolated worker or the daemon; a returned
 * value is ignored), so the variables `prepareRun` returns are written there,
 * in one place.
 */
export const preTasksExecution: PreTasksExecution = async (_options, context) => {
  Object.assign(process.env, await prepareRun(context));
};

/** After the last task of a run: renders and summarises every biome the run deployed to. */
export const postTasksExecution: PostTasksExecution = async (_options, context) => {
  await finishRun(context);
};
