import { LambdaClient } from '@aws-sdk/client-lambda';
import * as lambdaSdk from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import * as s3Sdk from '@aws-sdk/client-s3';
import { lambdaUpdater, s3Reader } from './aws';
import { DeployerEvent, handleEvent } from './handler';

// Created once per container, outside the handler (the runtime provides the SDK).
const s3 = s3Reader(new S3Client({}), s3Sdk);
const lambda = lambdaUpdater(new LambdaClient({}), lambdaSdk);

/**
 * Lambda entry point (`main.handler`): an S3 ObjectCreated event for
 * `biomes/<biome>/ledger/<project>.json` (directly or through SQS) deploys the
 * recorded artifact to `<NAME_PREFIX>-<biome>-<project>`.
 */
export async function handler(event: DeployerEvent) {
  const namePrefix = process.env.NAME_PREFIX;
  if (!namePrefix) throw new Error('NAME_PREFIX is not set');
  return handleEvent(event, {
    s3,
    lambda,
    namePrefix,
    now: () => Date.now(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    log: (entry) => console.log(JSON.stringify(entry)),
    maxWaitMs: Number(process.env.MAX_WAIT_SECONDS ?? 120) * 1000,
    pollMs: Number(process.env.POLL_SECONDS ?? 2) * 1000,
  });
}
