import type { BuildBatch, CodeBuildClient } from '@aws-sdk/client-codebuild';
import { BiomeError } from '../core/errors';
import { BatchState } from '../core/codebuild-batch';
import { CodeBuildRequest } from '../core/codebuild';
import { translate } from './codebuild';

/** The CodeBuild batch calls the runner makes, and nothing else. */
export interface CodeBuildBatchPort {
  startBuildBatch(request: CodeBuildRequest): Promise<BatchState>;
  getBuildBatch(id: string): Promise<BatchState>;
  /** Reruns the failed (and never-started) builds of a finished batch. */
  retryBuildBatch(id: string): Promise<BatchState>;
  stopBuildBatch(id: string): Promise<void>;
}

function toState(b: BuildBatch): BatchState {
  return {
    id: b.id ?? '(unknown)',
    status: b.buildBatchStatus ?? 'IN_PROGRESS',
    groups: (b.buildGroups ?? []).map((g) => ({
      identifier: g.identifier ?? '?',
      dependsOn: g.dependsOn ?? [],
      status: g.currentBuildSummary?.buildStatus,
      runs: (g.currentBuildSummary ? 1 : 0) + (g.priorBuildSummaryList?.length ?? 0),
    })),
  };
}

/** CodeBuild batch builds through the AWS SDK (standard credentials, region and AWS_ENDPOINT_URL_CODEBUILD). */
export function createCodeBuildBatch(options: { client?: CodeBuildClient } = {}): CodeBuildBatchPort {
  let loaded: Promise<{ client: CodeBuildClient; sdk: typeof import('@aws-sdk/client-codebuild') }> | undefined;
  const load = () =>
    (loaded ??= import('@aws-sdk/client-codebuild').then((sdk) => ({
      sdk,
      client:
        options.client ??
        new sdk.CodeBuildClient({
          region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
          maxAttempts: 5,
        }),
    })));
  let projectName = '';
  const one = (r: { buildBatch?: BuildBatch }, what: string) => {
    if (!r.buildBatch) throw new Error(`${what} returned no batch`);
    return toState(r.buildBatch);
  };
  return {
    async startBuildBatch(request) {
      const { client, sdk } = await load();
      projectName = request.projectName;
      try {
        const r = await client.send(
          new sdk.StartBuildBatchCommand({
            projectName: request.projectName,
            sourceVersion: request.sourceVersion,
            buildspecOverride: request.buildspec,
            environmentVariablesOverride: request.variables.map((v) => ({
              name: v.name,
              value: v.value,
              type: 'PLAINTEXT',
            })),
            buildTimeoutInMinutesOverride: request.timeoutInMinutes,
            idempotencyToken: request.idempotencyToken,
          }),
        );
        return one(r, 'StartBuildBatch');
      } catch (e) {
        throw translate(e, request.projectName);
      }
    },
    async getBuildBatch(id) {
      const { client, sdk } = await load();
      try {
        const r = await client.send(new sdk.BatchGetBuildBatchesCommand({ ids: [id] }));
        const batch = r.buildBatches?.[0];
        if (!batch)
          throw new BiomeError(
            'CODEBUILD_FAILED',
            `CodeBuild does not know build batch ${id}.`,
            'Check the batch id (nx run infra:codebuild printed it) and AWS_REGION.',
          );
        return toState(batch);
      } catch (e) {
        throw translate(e, projectName);
      }
    },
    async retryBuildBatch(id) {
      const { client, sdk } = await load();
      projectName ||= id.split(':')[0];
      try {
        return one(
          await client.send(new sdk.RetryBuildBatchCommand({ id, retryType: 'RETRY_FAILED_BUILDS' })),
          'RetryBuildBatch',
        );
      } catch (e) {
        throw translate(e, projectName);
      }
    },
    async stopBuildBatch(id) {
      const { client, sdk } = await load();
      try {
        await client.send(new sdk.StopBuildBatchCommand({ id }));
      } catch (e) {
        throw translate(e, projectName);
      }
    },
  };
}
