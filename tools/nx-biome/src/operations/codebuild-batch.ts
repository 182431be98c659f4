import { BiomeError } from '../core/errors';
import { BatchState, batchOutcome, describeBatchProgress } from '../core/codebuild-batch';
import { CodeBuildRequest } from '../core/codebuild';
import { CodeBuildBatchPort } from '../adapters/codebuild-batch';

export interface FollowBatchDeps {
  batch: CodeBuildBatchPort;
  now(): number;
  sleep(ms: number): Promise<void>;
  log(line: string): void;
}

/**
 * Starts a batch (or retries the failed builds of one) and follows it until
 * it ends, logging each build of the graph as it starts and ends. Throws
 * CODEBUILD_FAILED naming the failed builds, with the retry command; after
 * `timeoutSeconds`, stops the batch and throws.
 */
export async function runBatchInCodeBuild(
  start:
    { request: CodeBuildRequest } | { retry: string; projectName: string; timeoutSeconds: number; pollSeconds: number },
  deps: FollowBatchDeps,
): Promise<BatchState> {
  const started = deps.now();
  const projectName = 'request' in start ? start.request.projectName : start.projectName;
  const timeoutSeconds = 'request' in start ? start.request.timeoutSeconds : start.timeoutSeconds;
  const pollSeconds = 'request' in start ? start.request.pollSeconds : start.pollSeconds;
  let batch =
    'request' in start
      ? await deps.batch.startBuildBatch(start.request)
      : await deps.batch.retryBuildBatch(start.retry);
  deps.log(
    'request' in start
      ? `CodeBuild ${projectName}: batch ${batch.id} started (${start.request.buildspec} at ${start.request.sourceVersion.slice(0, 12)}): ${batch.groups.map((g) => g.identifier).join(', ')}`
      : `CodeBuild ${projectName}: batch ${batch.id} retrying its failed builds`,
  );
  const deadline = started + timeoutSeconds * 1000;
  let previous: BatchState | undefined;
  for (;;) {
    for (const line of describeBatchProgress(previous, batch)) deps.log(line);
    const outcome = batchOutcome(batch, projectName);
    if (outcome.done) {
      if (outcome.error) throw outcome.error;
      deps.log(
        `CodeBuild ${projectName}: batch ${batch.id} SUCCEEDED in ${Math.round((deps.now() - started) / 1000)} s`,
      );
      return batch;
    }
    if (deps.now() >= deadline) {
      await deps.batch.stopBuildBatch(batch.id);
      throw new BiomeError(
        'CODEBUILD_FAILED',
        `CodeBuild batch ${batch.id} (${projectName}) did not finish within ${timeoutSeconds} s; it was stopped.`,
        "Raise --timeoutSeconds, or look at the running builds' logs.",
      );
    }
    await deps.sleep(Math.max(0, Math.min(pollSeconds * 1000, deadline - deps.now())));
    previous = batch;
    batch = await deps.batch.getBuildBatch(batch.id);
  }
}
