import * as lambdaSdk from '@aws-sdk/client-lambda';
import * as s3Sdk from '@aws-sdk/client-s3';
import * as sqsSdk from '@aws-sdk/client-sqs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lambdaUpdater, s3Reader, sqsQueue } from '../../apps/services/artifact-deployer/src/aws';
import { DeployerDeps } from '../../apps/services/artifact-deployer/src/deploy';
import { handleEvent, handleSqsEvent, retryDelaySeconds } from '../../apps/services/artifact-deployer/src/handler';
import { normalizeStorePrefix } from '../../apps/services/artifact-deployer/src/record-event';
import { startS3rver, S3Server } from '../support/s3rver';
import { WORKSPACE_ROOT } from '../support/workspace';
import { historyKey, LedgerRecord } from '../../tools/nx-biome/src/core/ledger';
import { LambdaDouble, startLambdaDouble } from './doubles/lambda';
import { SqsDouble, startSqsDouble } from './doubles/sqs';

const BUCKET = 'geo-artifacts-dev';
const PROJECT = 'assay-ingest';

/** An artifact and the ledger record that points at it. */
function release(biome: string, deployedAt: string, overrides: Record<string, unknown> = {}) {
  const body = randomBytes(2048);
  const gitSha = createHash('sha1').update(body).digest('hex');
  const sha256 = createHash('sha256').update(body).digest('hex');
  const record = {
    schemaVersion: 1,
    project: PROJECT,
    kind: 'service',
    biome,
    environment: 'dev',
    artifactKey: `artifacts/${PROJECT}/${PROJECT}-${gitSha}.zip`,
    sha256,
    size: body.length,
    gitSha,
    dirty: false,
    deployedAt,
    deployedBy: 'alice',
    settings: { memorySize: 256 },
    ...overrides,
  };
  return { body, record, codeSha256: Buffer.from(sha256, 'hex').toString('base64') };
}

/** The S3 event notification Lambda receives when an object arrives (keys URL-encoded). */
function s3Event(key: string) {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventName: 'ObjectCreated:Put',
        s3: {
          s3SchemaVersion: '1.0',
          bucket: { name: BUCKET, arn: `arn:aws:s3:::${BUCKET}` },
          object: { key: encodeURIComponent(key).replace(/%2F/g, '/'), size: 1 },
        },
      },
    ],
  };
}

describe('artifact deployer against s3rver and a Lambda API double, through the real SDK clients', () => {
  let server: S3Server;
  let s3: s3Sdk.S3Client;
  let lambda: LambdaDouble;
  let logs: Record<string, unknown>[];
  let deps: DeployerDeps;
  let sqs: SqsDouble;
  let queue: ReturnType<typeof sqsQueue>;
  /** Bytes Lambda is given instead of the object's (the object changed between the deployer's read and Lambda's). */
  const swapped = new Map<string, Buffer>();

  beforeAll(async () => {
    server = await startS3rver([BUCKET]);
    sqs = await startSqsDouble();
    const sqsClient = new sqsSdk.SQSClient({
      endpoint: sqs.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'DOUBLE', secretAccessKey: 'DOUBLE' },
      maxAttempts: 1,
    });
    queue = sqsQueue(
      sqsClient,
      sqsSdk,
      sqs.queueUrl('geo-artifact-deployer-dev'),
      sqs.queueUrl('geo-artifact-deployer-dev-dlq'),
    );
    s3 = new s3Sdk.S3Client({
      endpoint: server.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    lambda = await startLambdaDouble(async (bucket, key) => {
      if (swapped.has(key)) return swapped.get(key);
      try {
        const r = await s3.send(new s3Sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
        return Buffer.from(await r.Body!.transformToByteArray());
      } catch {
        return undefined;
      }
    });
    const lambdaClient = new lambdaSdk.LambdaClient({
      endpoint: lambda.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'DOUBLE', secretAccessKey: 'DOUBLE' },
      maxAttempts: 1,
    });
    deps = {
      s3: s3Reader(s3, s3Sdk),
      lambda: lambdaUpdater(lambdaClient, lambdaSdk),
      namePrefix: 'geo',
      environment: 'dev',
      now: () => Date.now(),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      log: (entry) => logs.push(entry),
      maxWaitMs: 1500,
      pollMs: 10,
    };
  });
  afterAll(async () => {
    await sqs?.stop();
    await lambda?.stop();
    await server?.stop();
  });
  beforeEach(() => {
    logs = [];
  });

  /** What S3 replication does: the artifact (with its sha256 metadata) and/or the ledger record arrive. */
  async function replicate(
    r: ReturnType<typeof release>,
    what: { artifact?: boolean | Buffer; record?: boolean; prefix?: string } = {},
  ) {
    const prefix = what.prefix ?? '';
    if (what.artifact !== false) {
      const body = Buffer.isBuffer(what.artifact) ? what.artifact : r.body;
      await s3.send(
        new s3Sdk.PutObjectCommand({
          Bucket: BUCKET,
          Key: `${prefix}${r.record.artifactKey}`,
          Body: body,
          Metadata: { sha256: createHash('sha256').update(body).digest('hex'), 'git-sha': r.record.gitSha },
        }),
      );
    }
    const key = `${prefix}biomes/${r.record.biome}/ledger/${PROJECT}.json`;
    if (what.record !== false)
      await s3.send(
        new s3Sdk.PutObjectCommand({
          Bucket: BUCKET,
          Key: key,
          Body: JSON.stringify(r.record),
          ContentType: 'application/json',
        }),
      );
    return s3Event(key);
  }
  const codeUpdates = () => lambda.calls.filter((c) => c.method === 'PUT' && c.path.endsWith('/code'));

  it("happy path: a replicated record updates its biome's function from the S3 key; a duplicated event does nothing new", async () => {
    const fn = lambda.addFunction('geo-dev-happy--assay-ingest');
    const v1 = release('dev-happy', '2026-01-01T10:00:00.000Z');
    const event = await replicate(v1);
    const before = codeUpdates().length;

    expect(await handleEvent(event, deps)).toEqual([
      expect.objectContaining({
        biome: 'dev-happy',
        project: PROJECT,
        functionName: 'geo-dev-happy--assay-ingest',
        outcome: 'updated',
      }),
    ]);
    expect(fn.updates).toEqual([{ S3Bucket: BUCKET, S3Key: v1.record.artifactKey }]);
    expect(fn.codeSha256).toBe(v1.codeSha256);
    expect(fn.tags).toEqual({ 'biome:deployed-at': v1.record.deployedAt, 'biome:git-sha': v1.record.gitSha });

    // S3 delivers events at least once: the same event again changes nothing.
    expect(await handleEvent(event, deps)).toEqual([expect.objectContaining({ outcome: 'unchanged' })]);
    expect(codeUpdates().length).toBe(before + 1);
    expect(fn.updates.length).toBe(1);
  });

  it('a store below a configured prefix (STORE_PREFIX): the artifact key is read below the same prefix', async () => {
    const fn = lambda.addFunction('geo-dev-prefixed--assay-ingest');
    const v1 = release('dev-prefixed', '2026-01-01T10:00:00.000Z');
    expect(
      await handleEvent(await replicate(v1, { prefix: 'stores/dev/' }), { ...deps, storePrefix: 'stores/dev/' }),
    ).toEqual([expect.objectContaining({ outcome: 'updated' })]);
    expect(fn.updates).toEqual([{ S3Bucket: BUCKET, S3Key: `stores/dev/${v1.record.artifactKey}` }]);
  });

  it('out-of-order events: a record older than the one the function runs is ignored', async () => {
    const fn = lambda.addFunction('geo-dev-order--assay-ingest');
    const older = release('dev-order', '2026-01-02T10:00:00.000Z');
    const newer = release('dev-order', '2026-01-02T11:00:00.000Z');
    await replicate(older, { record: false });
    expect(await handleEvent(await replicate(newer), deps)).toEqual([expect.objectContaining({ outcome: 'updated' })]);
    // Replication delivers the older record last: the function keeps the newer code.
    const late = await handleEvent(await replicate(older), deps);
    expect(late).toEqual([expect.objectContaining({ outcome: 'older' })]);
    expect(late[0].reason).toContain(newer.record.deployedAt);
    expect(fn.codeSha256).toBe(newer.codeSha256);
    expect(fn.updates.map((u) => u.S3Key)).toEqual([newer.record.artifactKey]);
    expect(fn.tags['biome:deployed-at']).toBe(newer.record.deployedAt);
  });

  it('an artifact not replicated yet makes the event fail for a retry, and the retry deploys it', async () => {
    const fn = lambda.addFunction('geo-dev-early--assay-ingest');
    const v1 = release('dev-early', '2026-01-03T10:00:00.000Z');
    const event = await replicate(v1, { artifact: false });
    await expect(handleEvent(event, deps)).rejects.toThrow(
      /artifact s3:\/\/geo-artifacts-dev\/artifacts\/assay-ingest\/assay-ingest-[0-9a-f]{40}\.zip is not there yet \(replication pending\)/,
    );
    expect(fn.updates).toEqual([]);
    await replicate(v1, { record: false });
    expect(await handleEvent(event, deps)).toEqual([expect.objectContaining({ outcome: 'updated' })]);
    expect(fn.codeSha256).toBe(v1.codeSha256);
  });

  it('an artifact whose bytes differ from the record is never deployed', async () => {
    const fn = lambda.addFunction('geo-dev-corrupt--assay-ingest');
    const v1 = release('dev-corrupt', '2026-01-03T10:00:00.000Z');
    const other = Buffer.alloc(v1.body.length, 7);
    await expect(handleEvent(await replicate(v1, { artifact: other }), deps)).rejects.toThrow(
      /has sha256 [0-9a-f]{64}, the record says [0-9a-f]{64}: not deployed/,
    );
    expect(fn.updates).toEqual([]);
    expect(lambda.calls.some((c) => c.method === 'PUT' && c.path.includes('geo-dev-corrupt'))).toBe(false);
  });

  it('waits while an update is in progress (LastUpdateStatus InProgress, then ResourceConflictException), then updates', async () => {
    const fn = lambda.addFunction('geo-dev-busy--assay-ingest', {
      lastUpdateStatus: 'InProgress',
      inProgressPolls: 3,
      conflicts: 2,
    });
    const v1 = release('dev-busy', '2026-01-04T10:00:00.000Z');
    expect(await handleEvent(await replicate(v1), deps)).toEqual([expect.objectContaining({ outcome: 'updated' })]);
    expect(fn.codeSha256).toBe(v1.codeSha256);
    expect(logs.filter((l) => l.message === 'waiting').length).toBeGreaterThanOrEqual(3);
    expect(logs.filter((l) => l.message === 'update conflict, retrying').length).toBe(2);
    expect(fn.updates.length).toBe(1);
  });

  it('an update still in progress after the wait limit gives the event back for a retry', async () => {
    const fn = lambda.addFunction('geo-dev-stuck--assay-ingest', {
      lastUpdateStatus: 'InProgress',
      inProgressPolls: 1_000_000,
    });
    const v1 = release('dev-stuck', '2026-01-05T10:00:00.000Z');
    await expect(handleEvent(await replicate(v1), { ...deps, maxWaitMs: 200 })).rejects.toThrow(
      /geo-dev-stuck--assay-ingest: an update is still in progress after 0 s/,
    );
    expect(fn.updates).toEqual([]);
  });

  it('leaves alone what it must not deploy: no function yet, a workflow record, an invalid record, other keys', async () => {
    const none = release('dev-none', '2026-01-06T10:00:00.000Z');
    expect(await handleEvent(await replicate(none), deps)).toEqual([
      expect.objectContaining({ outcome: 'no-function' }),
    ]);
    const workflow = release('dev-flow', '2026-01-06T10:00:00.000Z', { kind: 'workflow' });
    expect(await handleEvent(await replicate(workflow), deps)).toEqual([
      expect.objectContaining({ outcome: 'not-a-service' }),
    ]);
    lambda.addFunction('geo-dev-evil--assay-ingest');
    const evil = release('dev-evil', '2026-01-06T10:00:00.000Z', { artifactKey: 'artifacts/other/../../secrets.zip' });
    expect(await handleEvent(await replicate(evil), deps)).toEqual([]);
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'error',
        message: 'invalid ledger record, not deployed',
        reason: expect.stringMatching(/LEDGER_RECORD_INVALID|points outside artifacts\/assay-ingest\//),
      }),
    );
    expect(lambda.functions.get('geo-dev-evil--assay-ingest')!.updates).toEqual([]);
    expect(await handleEvent(s3Event('biomes/dev-evil/history/assay-ingest/20260106T100000Z-abc.json'), deps)).toEqual(
      [],
    );
  });

  it('accepts the S3 event wrapped in SQS messages (S3 → SQS → Lambda) and reports no failed item', async () => {
    const fn = lambda.addFunction('geo-dev-queued--assay-ingest');
    const v1 = release('dev-queued', '2026-01-07T10:00:00.000Z');
    const message = sqs.receive('geo-artifact-deployer-dev', JSON.stringify(await replicate(v1)));
    const out = await handleSqsEvent({ Records: [message] }, { ...deps, queue });
    expect(out.batchItemFailures).toEqual([]);
    expect(out.results).toEqual([expect.objectContaining({ outcome: 'updated' })]);
    expect(fn.codeSha256).toBe(v1.codeSha256);
  });

  it('hashes the bytes it deploys: same-size bytes whose metadata claims the recorded sha256 are never deployed', async () => {
    const fn = lambda.addFunction('geo-dev-liar--assay-ingest');
    const v1 = release('dev-liar', '2026-01-08T10:00:00.000Z');
    const tampered = Buffer.alloc(v1.body.length, 9);
    await s3.send(
      new s3Sdk.PutObjectCommand({
        Bucket: BUCKET,
        Key: v1.record.artifactKey,
        Body: tampered,
        Metadata: { sha256: v1.record.sha256 },
      }),
    );
    await expect(handleEvent(await replicate(v1, { artifact: false }), deps)).rejects.toThrow(
      /has sha256 [0-9a-f]{64}, the record says [0-9a-f]{64}: not deployed/,
    );
    expect(fn.updates).toEqual([]);
  });

  it("checks CodeSha256 after the update: an object that changed between the read and Lambda's fetch is reported and retried", async () => {
    const fn = lambda.addFunction('geo-dev-swap--assay-ingest');
    const v1 = release('dev-swap', '2026-01-08T11:00:00.000Z');
    const event = await replicate(v1);
    swapped.set(v1.record.artifactKey, Buffer.alloc(v1.body.length, 3));
    try {
      await expect(handleEvent(event, deps)).rejects.toThrow(
        /geo-dev-swap--assay-ingest: Lambda reports CodeSha256 \S+ after the update, the record says \S+: .* changed while it was deployed/,
      );
      expect(logs).toContainEqual(
        expect.objectContaining({
          level: 'error',
          message: 'deployed code does not match the record',
          expected: v1.codeSha256,
        }),
      );
    } finally {
      swapped.delete(v1.record.artifactKey);
    }
    // The retry deploys the right bytes.
    expect(await handleEvent(event, deps)).toEqual([expect.objectContaining({ outcome: 'updated' })]);
    expect(fn.codeSha256).toBe(v1.codeSha256);
  });

  it('orders records by their history sequence, not by any clock: a record stamped a year ahead does not freeze the function', async () => {
    const fn = lambda.addFunction('geo-dev-seq--assay-ingest');
    const ahead = release('dev-seq', '2027-01-01T00:00:00.000Z', { sequence: 1 });
    const next = release('dev-seq', '2026-01-09T10:00:00.000Z', { sequence: 2 });
    const late = release('dev-seq', '2026-01-09T12:00:00.000Z', { sequence: 1 });
    expect(await handleEvent(await replicate(ahead), deps)).toEqual([expect.objectContaining({ outcome: 'updated' })]);
    await s3.send(
      new s3Sdk.PutObjectCommand({
        Bucket: BUCKET,
        Key: `biomes/dev-seq/history/${PROJECT}/s000000000001-20270101T000000Z-${ahead.record.gitSha}.json`,
        Body: JSON.stringify(ahead.record),
      }),
    );
    expect(await handleEvent(await replicate(next), deps)).toEqual([expect.objectContaining({ outcome: 'updated' })]);
    expect(fn.codeSha256).toBe(next.codeSha256);
    expect(fn.tags['biome:sequence']).toBe('2');
    await s3.send(
      new s3Sdk.PutObjectCommand({
        Bucket: BUCKET,
        Key: `biomes/dev-seq/history/${PROJECT}/s000000000002-20260109T100000Z-${next.record.gitSha}.json`,
        Body: JSON.stringify(next.record),
      }),
    );
    // A late event for an earlier sequence, whatever its time says, changes nothing.
    const out = await handleEvent(await replicate(late), deps);
    expect(out, JSON.stringify(logs.slice(-3))).toEqual([expect.objectContaining({ outcome: 'older' })]);
    expect(out[0].reason).toMatch(/sequence 2\) than this one \(sequence 1\)/);
    expect(fn.codeSha256).toBe(next.codeSha256);
  });

  it('a biome created again starts its sequence over: the function follows it when the record it ran is gone from the history', async () => {
    const fn = lambda.addFunction('geo-dev-reborn--assay-ingest', {
      tags: {
        'biome:sequence': '57',
        'biome:deployed-at': '2026-01-01T00:00:00.000Z',
        'biome:git-sha': 'a'.repeat(40),
      },
    });
    const fresh = release('dev-reborn', '2026-01-10T10:00:00.000Z', { sequence: 1 });
    expect(await handleEvent(await replicate(fresh), deps)).toEqual([expect.objectContaining({ outcome: 'updated' })]);
    expect(fn.codeSha256).toBe(fresh.codeSha256);
    expect(fn.tags['biome:sequence']).toBe('1');
  });

  it('a biome destroyed and created again is followed although its old history stays in the replica: order holds within an incarnation only', async () => {
    const fn = lambda.addFunction('geo-dev-again--assay-ingest');
    // Replication copies every write (history included) and never a delete.
    const deliver = async (r: ReturnType<typeof release>) => {
      await s3.send(
        new s3Sdk.PutObjectCommand({
          Bucket: BUCKET,
          Key: historyKey(r.record as LedgerRecord),
          Body: JSON.stringify(r.record),
        }),
      );
      return handleEvent(await replicate(r), deps);
    };
    const old1 = release('dev-again', '2026-01-12T10:00:00.000Z', { sequence: 1 });
    const old2 = release('dev-again', '2026-01-12T11:00:00.000Z', { sequence: 2 });
    expect(await deliver(old1)).toEqual([expect.objectContaining({ outcome: 'updated' })]);
    expect(await deliver(old2)).toEqual([expect.objectContaining({ outcome: 'updated' })]);
    // Destroyed and created again: the store counts the incarnation up and the history starts at 1.
    const new1 = release('dev-again', '2026-01-13T10:00:00.000Z', { sequence: 1, incarnation: 1 });
    const out = await deliver(new1);
    expect(out, JSON.stringify(logs.slice(-3))).toEqual([expect.objectContaining({ outcome: 'updated' })]);
    expect(fn.codeSha256).toBe(new1.codeSha256);
    expect(fn.tags['biome:incarnation']).toBe('1');
    // A record of the old incarnation arriving late, whatever its sequence, changes nothing.
    expect(await handleEvent(await replicate(old2), deps)).toEqual([expect.objectContaining({ outcome: 'older' })]);
    expect(fn.codeSha256).toBe(new1.codeSha256);
    const new2 = release('dev-again', '2026-01-13T11:00:00.000Z', { sequence: 2, incarnation: 1 });
    expect(await deliver(new2)).toEqual([expect.objectContaining({ outcome: 'updated' })]);
    expect(fn.codeSha256).toBe(new2.codeSha256);
  });

  it('refuses records of another environment found in its bucket (a staging record in the dev bucket), and deploys nothing', async () => {
    const fn = lambda.addFunction('geo-staging--assay-ingest');
    const sandpit = lambda.addFunction('geo-dev-other--assay-ingest');
    const staging = release('staging', '2026-01-11T10:00:00.000Z', { environment: 'staging' });
    expect(await handleEvent(await replicate(staging), deps)).toEqual([]);
    const mislabelled = release('dev-other', '2026-01-11T10:00:00.000Z', { environment: 'staging' });
    expect(await handleEvent(await replicate(mislabelled), deps)).toEqual([]);
    expect(logs.filter((l) => l.message === 'record of another environment, not deployed')).toHaveLength(2);
    expect(fn.updates).toEqual([]);
    expect(sandpit.updates).toEqual([]);
    // Through SQS, it goes to the dead-letter queue at once.
    const message = sqs.receive('geo-artifact-deployer-dev', JSON.stringify(await replicate(staging)));
    expect((await handleSqsEvent({ Records: [message] }, { ...deps, queue })).batchItemFailures).toEqual([]);
    expect(sqs.messages('geo-artifact-deployer-dev-dlq').at(-1)?.attributes.reason.StringValue).toMatch(
      /biome staging in environment staging; this deployer serves dev only/,
    );
  });

  // What a branch can write (biomes/dev-*, artifacts/*), replicated into the dev bucket, aimed at the main biome dev.
  describe('attack table: nothing a branch writes deploys to the main biome', () => {
    /** Plants a record at `key` and the bytes it names (hash and all) at `zipKey`. */
    async function plant(key: string, record: Record<string, unknown>, body: Buffer, zipKey: string) {
      await s3.send(new s3Sdk.PutObjectCommand({ Bucket: BUCKET, Key: zipKey, Body: body }));
      await s3.send(new s3Sdk.PutObjectCommand({ Bucket: BUCKET, Key: key, Body: JSON.stringify(record) }));
    }
    const rawEvent = (rawKey: string) => ({
      Records: [
        {
          eventVersion: '2.1',
          eventSource: 'aws:s3',
          eventName: 'ObjectCreated:Put',
          s3: { bucket: { name: BUCKET }, object: { key: rawKey } },
        },
      ],
    });

    it.each([
      // [label, object key written, raw key in the event (undefined: the key, URL-encoded), record overrides, where the zip is planted, expected reason]
      [
        'a ledger key nested below a sandpit (the replicated forgery)',
        'biomes/dev-x/ledger/p/biomes/dev/ledger/assay-ingest.json',
        undefined,
        {},
        'biomes/dev-x/ledger/p/',
        /is not biomes\/<biome>\/ledger\/<project>\.json/,
      ],
      [
        'a whole store nested below a sandpit',
        'biomes/dev-x/biomes/dev/ledger/assay-ingest.json',
        undefined,
        {},
        'biomes/dev-x/',
        /is not biomes\/<biome>\/ledger\/<project>\.json/,
      ],
      [
        '".." segments',
        'biomes/dev-x/../dev/ledger/assay-ingest.json',
        undefined,
        {},
        '',
        /is not biomes\/<biome>\/ledger\/<project>\.json/,
      ],
      [
        'URL-encoded slashes and dots',
        'biomes/dev-x/ledger/../../dev/ledger/assay-ingest.json',
        'biomes/dev-x/ledger/..%2F..%2Fdev%2Fledger%2Fassay-ingest.json',
        {},
        '',
        /is not biomes\/<biome>\/ledger\/<project>\.json/,
      ],
      [
        'a double-encoded slash',
        'biomes/dev%2Fledger/ledger/assay-ingest.json',
        'biomes/dev%252Fledger/ledger/assay-ingest.json',
        {},
        '',
        /is not biomes\/<biome>\/ledger\/<project>\.json/,
      ],
      [
        'a sandpit key whose record says biome dev',
        'biomes/dev-x/ledger/assay-ingest.json',
        undefined,
        {},
        '',
        /is for assay-ingest in dev, not assay-ingest in dev-x: its key and its content disagree/,
      ],
      [
        'a record naming another project than its key',
        'biomes/dev-x/ledger/grade-predict.json',
        undefined,
        { biome: 'dev-x' },
        '',
        /is for assay-ingest in dev-x, not grade-predict in dev-x/,
      ],
      [
        "another environment's biome (staging-x) recorded as dev",
        'biomes/staging-x/ledger/assay-ingest.json',
        undefined,
        { biome: 'staging-x' },
        '',
        /biome staging-x in environment dev; this deployer serves dev only/,
      ],
    ] as const)(
      '%s: deploys nothing and goes to the dead-letter queue',
      async (_label, key, rawKey, overrides, zipPrefix, reason) => {
        const main = lambda.functions.get('geo-dev--assay-ingest') ?? lambda.addFunction('geo-dev--assay-ingest');
        const target = lambda.functions.get('geo-dev-x--assay-ingest') ?? lambda.addFunction('geo-dev-x--assay-ingest');
        const forged = release('dev', '2026-02-01T10:00:00.000Z', overrides);
        await plant(key, forged.record, forged.body, `${zipPrefix}${forged.record.artifactKey}`);
        const raw = rawKey ?? encodeURIComponent(key).replace(/%2F/g, '/');
        const before = {
          main: main.updates.length,
          target: target.updates.length,
          codeUpdates: codeUpdates().length,
          dead: sqs.messages('geo-artifact-deployer-dev-dlq').length,
        };

        // Delivered directly: logged as an error, nothing deployed.
        expect(await handleEvent(rawEvent(raw), deps)).toEqual([]);
        expect(
          logs
            .filter((l) => l.level === 'error')
            .map((l) => String(l.reason))
            .join('\n'),
        ).toMatch(reason);
        // Through SQS: straight to the dead-letter queue, not retried.
        const message = sqs.receive('geo-artifact-deployer-dev', JSON.stringify(rawEvent(raw)));
        expect((await handleSqsEvent({ Records: [message] }, { ...deps, queue })).batchItemFailures).toEqual([]);
        const dead = sqs.messages('geo-artifact-deployer-dev-dlq').slice(before.dead);
        expect(dead.map((m) => m.attributes.reason.StringValue)).toEqual([expect.stringMatching(reason)]);

        expect(codeUpdates().length).toBe(before.codeUpdates);
        expect(main.updates.length).toBe(before.main);
        expect(target.updates.length).toBe(before.target);
        expect(main.codeSha256).not.toBe(forged.codeSha256);
      },
    );

    it('a record at a valid sandpit key reads its artifact only at artifacts/ below the configured prefix, never beside the key', async () => {
      const fn = lambda.addFunction('geo-dev-beside--assay-ingest');
      const v1 = release('dev-beside', '2026-02-02T10:00:00.000Z');
      // The bytes sit only where the key's folder would put them, not under artifacts/.
      await plant(
        'biomes/dev-beside/ledger/assay-ingest.json',
        v1.record,
        v1.body,
        `biomes/dev-beside/ledger/${v1.record.artifactKey}`,
      );
      await expect(handleEvent(s3Event('biomes/dev-beside/ledger/assay-ingest.json'), deps)).rejects.toThrow(
        /artifact s3:\/\/geo-artifacts-dev\/artifacts\/assay-ingest\/\S+ is not there yet/,
      );
      expect(fn.updates).toEqual([]);
    });

    it('a store prefix that is not one is refused when the deployer starts', () => {
      for (const bad of ['stores', '/stores/', 'a//', '../', 'a/../'])
        expect(() => normalizeStorePrefix(bad), bad).toThrow(/STORE_PREFIX .* is not a store prefix/);
      expect(normalizeStorePrefix(undefined)).toBe('');
      expect(normalizeStorePrefix('stores/dev/')).toBe('stores/dev/');
    });
  });

  it('malformed events (bad JSON, bad %-encoding) go to the dead-letter queue at once with an error line, not through ten retries', async () => {
    const before = sqs.messages('geo-artifact-deployer-dev-dlq').length;
    const badJson = sqs.receive('geo-artifact-deployer-dev', '{"Records": [');
    const badKey = sqs.receive(
      'geo-artifact-deployer-dev',
      JSON.stringify(s3Event('biomes/dev-x/ledger/a.json')).replace('a.json', 'a%E0%A4%A.json'),
    );
    const out = await handleSqsEvent({ Records: [badJson, badKey] }, { ...deps, queue });
    expect(out.batchItemFailures).toEqual([]);
    const dead = sqs.messages('geo-artifact-deployer-dev-dlq').slice(before);
    expect(dead.map((m) => m.body)).toEqual([badJson.body, badKey.body]);
    expect(dead.map((m) => m.attributes.reason.StringValue)).toEqual([
      'the message body is not valid JSON',
      expect.stringMatching(/the object key is not valid %-encoding: "biomes\/dev-x\/ledger\/a%E0%A4%A\.json"/),
    ]);
    expect(logs.filter((l) => l.message === 'sent to the dead-letter queue without retrying')).toHaveLength(2);
    // Delivered directly (no queue), the event is logged and dropped instead of failing with a URIError.
    expect(await handleEvent(JSON.parse(badKey.body), deps)).toEqual([]);
    expect(logs).toContainEqual(
      expect.objectContaining({ level: 'error', message: 'malformed event record, not deployed' }),
    );
  });

  it('retry timing: an artifact that has not arrived comes back in 30 s, then 60 s (ChangeMessageVisibility), not after the 30-minute visibility timeout', async () => {
    const fn = lambda.addFunction('geo-dev-slow--assay-ingest');
    const v1 = release('dev-slow', '2026-01-12T10:00:00.000Z');
    const event = await replicate(v1, { artifact: false });
    const first = sqs.receive('geo-artifact-deployer-dev', JSON.stringify(event));
    expect((await handleSqsEvent({ Records: [first] }, { ...deps, queue })).batchItemFailures).toEqual([
      { itemIdentifier: first.messageId },
    ]);
    const kept = () => sqs.messages('geo-artifact-deployer-dev').find((m) => m.messageId === first.messageId)!;
    expect(kept().visibilityTimeout).toBe(30);
    const second = sqs.redeliver('geo-artifact-deployer-dev', first.messageId);
    expect((await handleSqsEvent({ Records: [second] }, { ...deps, queue })).batchItemFailures).toEqual([
      { itemIdentifier: first.messageId },
    ]);
    expect(kept().visibilityTimeout).toBe(60);
    await replicate(v1, { record: false });
    const third = sqs.redeliver('geo-artifact-deployer-dev', first.messageId);
    expect((await handleSqsEvent({ Records: [third] }, { ...deps, queue })).batchItemFailures).toEqual([]);
    expect(fn.codeSha256).toBe(v1.codeSha256);
    expect([1, 2, 3, 4, 5, 6, 10].map(retryDelaySeconds)).toEqual([30, 60, 120, 240, 480, 900, 900]);
  });

  it('a throttled Lambda API (429 TooManyRequestsException) gives the message back with a delay, never to the dead-letter queue', async () => {
    const fn = lambda.addFunction('geo-dev-throttled--assay-ingest', { throttles: 1 });
    const v1 = release('dev-throttled', '2026-01-13T10:00:00.000Z');
    const before = sqs.messages('geo-artifact-deployer-dev-dlq').length;
    const message = sqs.receive('geo-artifact-deployer-dev', JSON.stringify(await replicate(v1)));
    expect((await handleSqsEvent({ Records: [message] }, { ...deps, queue })).batchItemFailures).toEqual([
      { itemIdentifier: message.messageId },
    ]);
    expect(sqs.messages('geo-artifact-deployer-dev-dlq').length).toBe(before);
    expect(logs).toContainEqual(
      expect.objectContaining({
        message: 'retrying later',
        delaySeconds: 30,
        reason: expect.stringMatching(/Rate exceeded/),
      }),
    );
    const again = sqs.redeliver('geo-artifact-deployer-dev', message.messageId);
    expect((await handleSqsEvent({ Records: [again] }, { ...deps, queue })).batchItemFailures).toEqual([]);
    expect(fn.codeSha256).toBe(v1.codeSha256);
  });
});

describe('artifact deployer bundle', () => {
  it("reuses the plugin's ledger validation without pulling the rest of the plugin: the bundle stays small", async () => {
    const esbuild = await import('esbuild');
    const config = (await import(join(WORKSPACE_ROOT, 'apps/services/artifact-deployer/esbuild.config.cjs'))).default;
    const out = await esbuild.build({
      ...config,
      entryPoints: [join(WORKSPACE_ROOT, 'apps/services/artifact-deployer/src/main.ts')],
      bundle: true,
      platform: 'node',
      target: 'node22',
      format: 'cjs',
      external: ['@aws-sdk/*'],
      write: false,
      outfile: 'main.js',
    });
    const text = out.outputFiles![0].text;
    expect(text).toContain('function parseLedgerRecord');
    expect(text).not.toMatch(/zod|@nx\/devkit|archiver/);
    expect(text.length).toBeLessThan(40_000);
  });
});
