import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { FunctionState } from './decide';
import { FunctionUpdater, ObjectReader, UpdateConflict } from './deploy';
import { QueuePort } from './handler';

const status = (e: unknown) => (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
const errorName = (e: unknown) => (e as { name?: string })?.name ?? '';

/** S3 reads through the SDK (the Lambda runtime provides it). */
export function s3Reader(client: S3Client, sdk: typeof import('@aws-sdk/client-s3')): ObjectReader {
  const absent = (e: unknown) => errorName(e) === 'NoSuchKey' || errorName(e) === 'NotFound' || status(e) === 404;
  return {
    async getText(bucket, key) {
      try {
        const r = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
        return await r.Body!.transformToString('utf8');
      } catch (e) {
        if (absent(e)) return undefined;
        throw e;
      }
    },
    async head(bucket, key) {
      try {
        const r = await client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }));
        return { size: r.ContentLength ?? 0, metadata: r.Metadata ?? {} };
      } catch (e) {
        if (absent(e)) return undefined;
        throw e;
      }
    },
    async sha256(bucket, key) {
      try {
        const r = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
        const hash = createHash('sha256');
        let size = 0;
        for await (const chunk of r.Body as AsyncIterable<Uint8Array>) {
          hash.update(chunk);
          size += chunk.length;
        }
        return { sha256: hash.digest('hex'), size, ...(r.VersionId ? { versionId: r.VersionId } : {}) };
      } catch (e) {
        if (absent(e)) return undefined;
        throw e;
      }
    },
  };
}

/** Lambda calls through the SDK. */
export function lambdaUpdater(client: LambdaClient, sdk: typeof import('@aws-sdk/client-lambda')): FunctionUpdater {
  return {
    async getFunction(name) {
      try {
        const r = await client.send(new sdk.GetFunctionCommand({ FunctionName: name }));
        const c = r.Configuration ?? {};
        const state: FunctionState = {
          name,
          arn: c.FunctionArn ?? name,
          codeSha256: c.CodeSha256 ?? '',
          revisionId: c.RevisionId,
          lastUpdateStatus: c.LastUpdateStatus,
          lastUpdateStatusReason: c.LastUpdateStatusReason,
          state: c.State,
          tags: r.Tags ?? {},
        };
        return state;
      } catch (e) {
        if (errorName(e) === 'ResourceNotFoundException') return undefined;
        throw e;
      }
    },
    async updateCode({ name, bucket, key, versionId, revisionId }) {
      try {
        await client.send(
          new sdk.UpdateFunctionCodeCommand({
            FunctionName: name,
            S3Bucket: bucket,
            S3Key: key,
            S3ObjectVersion: versionId,
            RevisionId: revisionId,
          }),
        );
      } catch (e) {
        if (errorName(e) === 'ResourceConflictException' || errorName(e) === 'PreconditionFailedException')
          throw new UpdateConflict(`${errorName(e)}: ${(e as Error).message}`);
        throw e;
      }
    },
    async tag(arn, tags) {
      await client.send(new sdk.TagResourceCommand({ Resource: arn, Tags: tags }));
    },
  };
}

/** The deployer's queue and its dead-letter queue through the SDK. */
export function sqsQueue(
  client: SQSClient,
  sdk: typeof import('@aws-sdk/client-sqs'),
  queueUrl: string,
  deadLetterQueueUrl: string,
): QueuePort {
  return {
    async retryAfter(receiptHandle, seconds) {
      await client.send(
        new sdk.ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    },
    async deadLetter(body, reason) {
      await client.send(
        new sdk.SendMessageCommand({
          QueueUrl: deadLetterQueueUrl,
          MessageBody: body,
          MessageAttributes: { reason: { DataType: 'String', StringValue: reason.slice(0, 1000) } },
        }),
      );
    },
  };
}
