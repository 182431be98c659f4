/**
 * CodeBuild batch builds (`batch: build-graph`) as the runner follows them:
 * the batch's status and, per build of the graph (a shard, the final render),
 * its latest status and how many times it ran. Pure.
 */
import { BiomeError } from './errors';

export interface BatchGroupState {
  identifier: string;
  dependsOn: string[];
  /** Status of the latest run; undefined while it has not started. */
  status?: string;
  /** Runs so far, the latest included (retries add one). */
  runs: number;
}

export interface BatchState {
  id: string;
  status: string;
  groups: BatchGroupState[];
}

/** Lines for what changed since the last observation: a build started, ended, or ran again. */
export function describeBatchProgress(previous: BatchState | undefined, current: BatchState): string[] {
  const lines: string[] = [];
  for (const g of current.groups) {
    const before = previous?.groups.find((p) => p.identifier === g.identifier);
    if (g.status === undefined || (before?.status === g.status && before.runs === g.runs)) continue;
    const again = g.runs > 1 ? ` (run ${g.runs})` : '';
    lines.push(`  ${g.identifier.padEnd(16)} ${g.status === 'IN_PROGRESS' ? 'running…' : g.status}${again}`);
  }
  return lines;
}

/** Whether the batch ended, and the error that names its failed builds when it failed. */
export function batchOutcome(
  batch: BatchState,
  projectName: string,
): { done: false } | { done: true; error?: BiomeError } {
  if (batch.status === 'IN_PROGRESS') return { done: false };
  if (batch.status === 'SUCCEEDED') return { done: true };
  const failed = batch.groups
    .filter((g) => g.status !== undefined && !['SUCCEEDED', 'IN_PROGRESS'].includes(g.status))
    .map((g) => `${g.identifier} ${g.status}`);
  const skipped = batch.groups.filter((g) => g.status === undefined).map((g) => g.identifier);
  return {
    done: true,
    error: new BiomeError(
      'CODEBUILD_FAILED',
      `CodeBuild batch ${batch.id} (${projectName}) ${batch.status}: ${failed.join(', ') || 'no build failed'}${skipped.length ? `; not run: ${skipped.join(', ')}` : ''}.`,
      `Fix the cause in the failed build's log, then rerun only the failed builds: nx run infra:codebuild --retryBatch=${batch.id} --codebuildProject=${projectName}.`,
    ),
  };
}
