import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { WorkspaceConfig } from '../../core/config';
import { parseBiomeName } from '../../core/names';
import { createGit } from '../../adapters/git';
import { StorePort } from '../../adapters/store/store';
import { loadWorkspaceConfig } from '../../adapters/workspace';
import { batchGit, batchStore } from '../../operations/batch-deps';
import { Deps, realDeps } from '../../operations/context';
import { inputRootsOf } from '../../operations/dirty-check';
import { batchArtifactListing } from '../../operations/package-reuse';
import { batchTasks, BatchTaskResult, runBatch } from '../batch';
import { packageAndDeploy } from './executor';
import type { DeployExecutorSchema } from './schema';

/**
 * Projects in flight at once: loopback and S3 both answer many small requests in parallel, and the archives
 * being deflated meanwhile run on libuv's thread pool.
 */
const CONCURRENCY = 8;

/**
 * Nx batch implementation of `deploy`: every deploy task of a run in one
 * process, each packaging its project and then deploying it, sharing one
 * store client per environment, one git (HEAD and the tree status asked once
 * for every project's input folders) and one listing of dist/artifacts, with
 * a few projects in flight at a time. Each project goes through the same
 * `packageAndDeploy` as a single task; the biome's `biome.json` is written
 * once per biome at the end instead of once per project.
 */
export default async function* deployBatch(
  taskGraph: TaskGraph,
  inputs: Record<string, DeployExecutorSchema>,
  _overrides: DeployExecutorSchema,
  context: ExecutorContext,
): AsyncGenerator<BatchTaskResult> {
  const tasks = batchTasks(taskGraph, inputs, context);
  const roots = inputRootsOf(
    context.projectGraph,
    tasks.map((t) => t.context.projectName!),
  );
  const listArtifacts = batchArtifactListing();
  let shared: { config: WorkspaceConfig; deps: Deps } | undefined;
  const stores = new Map<string, ReturnType<typeof batchStore>>();
  const depsFor = async (biomeName: unknown, log: (line: string) => void) => {
    if (!shared) {
      const config = await loadWorkspaceConfig(context.root);
      const deps = realDeps(context.root, config);
      shared = { config, deps: { ...deps, git: batchGit(createGit(context.root), roots) } };
    }
    const { config, deps } = shared;
    return (): Deps => ({
      ...deps,
      log,
      storeFor(environment: string): StorePort {
        // Biome names are validated by packageAndDeploy before anything is packaged or the store is opened.
        const biome = parseBiomeName(String(biomeName), config).name;
        const id = `${environment}\0${biome}`;
        let store = stores.get(id);
        if (!store) stores.set(id, (store = batchStore(deps.storeFor(environment), biome)));
        return store;
      },
    });
  };
  try {
    yield* runBatch(
      tasks,
      CONCURRENCY,
      (t) => `deploy ${t.context.projectName}`,
      async (t, log) => {
        const makeDeps = await depsFor(t.options.biome, log);
        await packageAndDeploy(t.options, t.context, makeDeps, listArtifacts, shared!.config);
      },
    );
  } finally {
    for (const store of stores.values()) await store.flush();
  }
}
