import * as lambdaSdk from '@aws-sdk/client-lambda';
import * as s3Sdk from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lambdaUpdater, s3Reader } from '../../apps/services/artifact-deployer/src/aws';
import { DeployerDeps } from '../../apps/services/artifact-deployer/src/deploy';
import { handleEvent } from '../../apps/services/artifact-deployer/src/handler';
import { startS3rver, S3Server } from '../support/s3rver';
import { WORKSPACE_ROOT } from '../support/workspace';
import { LambdaDouble, startLambdaDouble } from './doubles/lambda';

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
  return { Records: [{ eventVersion: '2.1', eventSource: 'aws:s3', awsRegion: 'us-east-1', eventName: 'ObjectCreated:Put', s3: { s3SchemaVersion: '1.0', bucket: { name: BUCKET, arn: `arn:aws:s3:::${BUCKET}` }, object: { key: encodeURIComponent(key).replace(/%2F/g, '/'), size: 1 } } }] };
}

describe('artifact deployer against s3rver and a Lambda API double, through the real SDK clients', () => {
  let server: S3Server;
  let s3: s3Sdk.S3Client;
  let lambda: LambdaDouble;
  let logs: Record<string, unknown>[];
  let deps: DeployerDeps;

  beforeAll(async () => {
    server = await startS3rver([BUCKET]);
    s3 = new s3Sdk.S3Client({ endpoint: server.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
    lambda = await startLambdaDouble(async (bucket, key) => {
      try {
        const r = await s3.send(new s3Sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
        return Buffer.from(await r.Body!.transformToByteArray());
      } catch {
        return undefined;
      }
    });
    const lambdaClient = new lambdaSdk.LambdaClient({ endpoint: lambda.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'DOUBLE', secretAccessKey: 'DOUBLE' }, maxAttempts: 1 });
    deps = {
      s3: s3Reader(s3, s3Sdk),
      lambda: lambdaUpdater(lambdaClient, lambdaSdk),
      namePrefix: 'geo',
      now: () => Date.now(),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      log: (entry) => logs.push(entry),
      maxWaitMs: 1500,
      pollMs: 10,
    };
  });
  afterAll(async () => {
    await lambda?.stop();
    await server?.stop();
  });
  beforeEach(() => {
    logs = [];
  });

  /** What S3 replication does: the artifact (with its sha256 metadata) and/or the ledger record arrive. */
  async function replicate(r: ReturnType<typeof release>, what: { artifact?: boolean | Buffer; record?: boolean; prefix?: string } = {}) {
    const prefix = what.prefix ?? '';
    if (what.artifact !== false) {
      const body = Buffer.isBuffer(what.artifact) ? what.artifact : r.body;
      await s3.send(new s3Sdk.PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}${r.record.artifactKey}`, Body: body, Metadata: { sha256: createHash('sha256').update(body).digest('hex'), 'git-sha': r.record.gitSha } }));
    }
    const key = `${prefix}biomes/${r.record.biome}/ledger/${PROJECT}.json`;
    if (what.record !== false) await s3.send(new s3Sdk.PutObjectCommand({ Bucket: BUCKET, Key: key, Body: JSON.stringify(r.record), ContentType: 'application/json' }));
    return s3Event(key);
  }
  const codeUpdates = () => lambda.calls.filter((c) => c.method === 'PUT' && c.path.endsWith('/code'));

  it('happy path: a replicated record updates its biome\'s function from the S3 key; a duplicated event does nothing new', async () => {
    const fn = lambda.addFunction('geo-dev-happy--assay-ingest');
    const v1 = release('dev-happy', '2026-01-01T10:00:00.000Z');
    const event = await replicate(v1);
    const before = codeUpdates().length;

    expect(await handleEvent(event, deps)).toEqual([expect.objectContaining({ biome: 'dev-happy', project: PROJECT, functionName: 'geo-dev-happy--assay-ingest', outcome: 'updated' })]);
    expect(fn.updates).toEqual([{ S3Bucket: BUCKET, S3Key: v1.record.artifactKey }]);
    expect(fn.codeSha256).toBe(v1.codeSha256);
    expect(fn.tags).toEqual({ 'biome:deployed-at': v1.record.deployedAt, 'biome:git-sha': v1.record.gitSha });

    // S3 delivers events at least once: the same event again changes nothing.
    expect(await handleEvent(event, deps)).toEqual([expect.objectContaining({ outcome: 'unchanged' })]);
    expect(codeUpdates().length).toBe(before + 1);
    expect(fn.updates.length).toBe(1);
  });

  it('a store below a prefix: the artifact key is read below the same prefix', async () => {
    const fn = lambda.addFunction('geo-dev-prefixed--assay-ingest');
    const v1 = release('dev-prefixed', '2026-01-01T10:00:00.000Z');
    expect(await handleEvent(await replicate(v1, { prefix: 'stores/dev/' }), deps)).toEqual([expect.objectContaining({ outcome: 'updated' })]);
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
    await expect(handleEvent(event, deps)).rejects.toThrow(/artifact s3:\/\/geo-artifacts-dev\/artifacts\/assay-ingest\/assay-ingest-[0-9a-f]{40}\.zip is not there yet \(replication pending\)/);
    expect(fn.updates).toEqual([]);
    await replicate(v1, { record: false });
    expect(await handleEvent(event, deps)).toEqual([expect.objectContaining({ outcome: 'updated' })]);
    expect(fn.codeSha256).toBe(v1.codeSha256);
  });

  it('an artifact whose bytes differ from the record is never deployed', async () => {
    const fn = lambda.addFunction('geo-dev-corrupt--assay-ingest');
    const v1 = release('dev-corrupt', '2026-01-03T10:00:00.000Z');
    const other = Buffer.alloc(v1.body.length, 7);
    await expect(handleEvent(await replicate(v1, { artifact: other }), deps)).rejects.toThrow(/has sha256 [0-9a-f]{64}, the record says [0-9a-f]{64}: not deployed/);
    expect(fn.updates).toEqual([]);
    expect(lambda.calls.some((c) => c.method === 'PUT' && c.path.includes('geo-dev-corrupt'))).toBe(false);
  });

  it('waits while an update is in progress (LastUpdateStatus InProgress, then ResourceConflictException), then updates', async () => {
    const fn = lambda.addFunction('geo-dev-busy--assay-ingest', { lastUpdateStatus: 'InProgress', inProgressPolls: 3, conflicts: 2 });
    const v1 = release('dev-busy', '2026-01-04T10:00:00.000Z');
    expect(await handleEvent(await replicate(v1), deps)).toEqual([expect.objectContaining({ outcome: 'updated' })]);
    expect(fn.codeSha256).toBe(v1.codeSha256);
    expect(logs.filter((l) => l.message === 'waiting').length).toBeGreaterThanOrEqual(3);
    expect(logs.filter((l) => l.message === 'update conflict, retrying').length).toBe(2);
    expect(fn.updates.length).toBe(1);
  });

  it('an update still in progress after the wait limit gives the event back for a retry', async () => {
    const fn = lambda.addFunction('geo-dev-stuck--assay-ingest', { lastUpdateStatus: 'InProgress', inProgressPolls: 1_000_000 });
    const v1 = release('dev-stuck', '2026-01-05T10:00:00.000Z');
    await expect(handleEvent(await replicate(v1), { ...deps, maxWaitMs: 200 })).rejects.toThrow(/geo-dev-stuck--assay-ingest: an update is still in progress after 0 s/);
    expect(fn.updates).toEqual([]);
  });

  it('leaves alone what it must not deploy: no function yet, a workflow record, an invalid record, other keys', async () => {
    const none = release('dev-none', '2026-01-06T10:00:00.000Z');
    expect(await handleEvent(await replicate(none), deps)).toEqual([expect.objectContaining({ outcome: 'no-function' })]);
    const workflow = release('dev-flow', '2026-01-06T10:00:00.000Z', { kind: 'workflow' });
    expect(await handleEvent(await replicate(workflow), deps)).toEqual([expect.objectContaining({ outcome: 'not-a-service' })]);
    lambda.addFunction('geo-dev-evil--assay-ingest');
    const evil = release('dev-evil', '2026-01-06T10:00:00.000Z', { artifactKey: 'artifacts/other/../../secrets.zip' });
    expect(await handleEvent(await replicate(evil), deps)).toEqual([]);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'error', message: 'invalid ledger record, not deployed', reason: expect.stringMatching(/LEDGER_RECORD_INVALID|points outside artifacts\/assay-ingest\//) }));
    expect(lambda.functions.get('geo-dev-evil--assay-ingest')!.updates).toEqual([]);
    expect(await handleEvent(s3Event('biomes/dev-evil/history/assay-ingest/20260106T100000Z-abc.json'), deps)).toEqual([]);
  });

  it('accepts the S3 event wrapped in SQS messages (S3 → SQS → Lambda)', async () => {
    const fn = lambda.addFunction('geo-dev-queued--assay-ingest');
    const v1 = release('dev-queued', '2026-01-07T10:00:00.000Z');
    const event = await replicate(v1);
    expect(await handleEvent({ Records: [{ eventSource: 'aws:sqs', body: JSON.stringify(event) }] }, deps)).toEqual([expect.objectContaining({ outcome: 'updated' })]);
    expect(fn.codeSha256).toBe(v1.codeSha256);
  });
});

describe('artifact deployer bundle', () => {
  it('reuses the plugin\'s ledger validation without pulling the rest of the plugin: the bundle stays small', async () => {
    const esbuild = await import('esbuild');
    const config = (await import(join(WORKSPACE_ROOT, 'apps/services/artifact-deployer/esbuild.config.cjs'))).default;
    const out = await esbuild.build({ ...config, entryPoints: [join(WORKSPACE_ROOT, 'apps/services/artifact-deployer/src/main.ts')], bundle: true, platform: 'node', target: 'node20', format: 'cjs', external: ['@aws-sdk/*'], write: false, outfile: 'main.js' });
    const text = out.outputFiles![0].text;
    expect(text).toContain('function parseLedgerRecord');
    expect(text).not.toMatch(/zod|@nx\/devkit|archiver/);
    expect(text.length).toBeLessThan(40_000);
  });
});
