import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import type { EsBuildExecutorOptions } from '@nx/esbuild/executors';
import { availableParallelism } from 'node:os';
import { batchTasks, BatchTaskResult, runBatch } from '../batch';

/**
 * Nx batch implementation of `esbuild`: every build task of a run in one
 * process. Each task runs @nx/esbuild's own executor with its own options, so
 * its output is byte for byte what `@nx/esbuild:esbuild` gives; what is saved
 * is a Node start and the import of @nx/esbuild, @nx/js and esbuild per
 * project (most of a small build's cost), and esbuild's one service process
 * bundles several projects at once.
 */
export default async function* esbuildBatch(
  taskGraph: TaskGraph,
  inputs: Record<string, EsBuildExecutorOptions>,
  _overrides: EsBuildExecutorOptions,
  context: ExecutorContext,
): AsyncGenerator<BatchTaskResult> {
  const { esbuildExecutor } = await import('@nx/esbuild/executors');
  const tasks = batchTasks(taskGraph, inputs, context);
  yield* runBatch(tasks, Math.max(2, availableParallelism()) * 2, (t) => `build ${t.context.projectName}`, async (t) => {
    let success = true;
    // esbuild prints its own messages; a failed build yields success: false.
    for await (const result of esbuildExecutor(t.options, t.context)) success &&= result.success;
    return success;
  });
}
