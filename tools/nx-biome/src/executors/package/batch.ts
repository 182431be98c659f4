import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { availableParallelism } from 'node:os';
import { createGit } from '../../adapters/git';
import { batchGit } from '../../operations/batch-deps';
import { inputRootsOf } from '../../operations/dirty-check';
import { batchArtifactListing } from '../../operations/package-reuse';
import { batchTasks, BatchTaskResult, runBatch } from '../batch';
import { packageProject } from './executor';
import type { PackageExecutorSchema } from './schema';

/**
 * Nx batch implementation of `package`: every package task of a run in one
 * process (one Node start, one import of archiver), git asked once for HEAD
 * and the tree status, archives built a few at a time (deflate runs on
 * libuv's thread pool, so a couple in flight keep every core busy).
 */
export default async function* packageBatch(
  taskGraph: TaskGraph,
  inputs: Record<string, PackageExecutorSchema>,
  _overrides: PackageExecutorSchema,
  context: ExecutorContext,
): AsyncGenerator<BatchTaskResult> {
  const tasks = batchTasks(taskGraph, inputs, context);
  const git = batchGit(
    createGit(context.root),
    inputRootsOf(
      context.projectGraph,
      tasks.map((t) => t.context.projectName!),
    ),
  );
  const listArtifacts = batchArtifactListing();
  yield* runBatch(
    tasks,
    Math.max(2, availableParallelism()) * 2,
    (t) => `package ${t.context.projectName}`,
    async (t, log) => {
      await packageProject(t.options, t.context, git, log, listArtifacts);
    },
  );
}
