import { LambdaClient } from '@aws-sdk/client-lambda';
import * as lambdaSdk from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import * as s3Sdk from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import * as sqsSdk from '@aws-sdk/client-sqs';
import { lambdaUpdater, s3Reader, sqsQueue } from './aws';
import { DeployerDeps } from './deploy';
import { normalizeStorePrefix } from './record-event';
import { DeployerEvent, handleEvent, handleSqsEvent } from './handler';

// Created once per container, outside the handler (the runtime provides the SDK).
const s3 = s3Reader(new S3Client({}), s3Sdk);
const lambda = lambdaUpdater(new LambdaClient({}), lambdaSdk);
const sqs = new SQSClient({});

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/**
 * Lambda entry point (`main.handler`): an S3 ObjectCreated event for
 * `biomes/<biome>/ledger/<project>.json`, through SQS (batch item failures
 * reported) or directly, deploys the recorded artifact to the biome's function.
 */
export async function handler(event: DeployerEvent) {
  const deps: DeployerDeps = {
    s3,
    lambda,
    namePrefix: required('NAME_PREFIX'),
    environment: required('ENVIRONMENT'),
    storePrefix: normalizeStorePrefix(process.env.STORE_PREFIX),
    now: () => Date.now(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    log: (entry) => console.log(JSON.stringify(entry)),
    maxWaitMs: Number(process.env.MAX_WAIT_SECONDS ?? 120) * 1000,
    pollMs: Number(process.env.POLL_SECONDS ?? 2) * 1000,
  };
  if (event.Records?.[0]?.eventSource === 'aws:sqs') {
    const { batchItemFailures } = await handleSqsEvent(event, {
      ...deps,
      queue: sqsQueue(sqs, sqsSdk, required('QUEUE_URL'), required('DEAD_LETTER_QUEUE_URL')),
    });
    return { batchItemFailures };
  }
  return handleEvent(event, deps);
}
