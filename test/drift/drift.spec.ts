import type { ExecutorContext } from '@nx/devkit';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startS3rver, S3Server } from '../support/s3rver';
import { WORKSPACE_ROOT } from '../support/workspace';
import { LambdaDouble, startLambdaDouble } from '../ci/doubles/lambda';
import { plantedRecord } from '../board/fixture';
import { startSfnDouble, SfnDouble } from './sfn-double';
import { startThrottlingProxy, ThrottlingProxy } from './throttle';
import { WorkspaceConfig } from '../../tools/nx-biome/src/core/config';
import { DriftReport, modelsBucketName } from '../../tools/nx-biome/src/core/drift';
import { isBiomeError } from '../../tools/nx-biome/src/core/errors';
import { LedgerRecord } from '../../tools/nx-biome/src/core/ledger';
import { parseBiomeName } from '../../tools/nx-biome/src/core/names';
import { renderTfvars } from '../../tools/nx-biome/src/core/tfvars';
import { createWorkloadProbe } from '../../tools/nx-biome/src/adapters/workload';
import { loadWorkspaceConfig } from '../../tools/nx-biome/src/adapters/workspace';
import { Deps, realDeps } from '../../tools/nx-biome/src/operations/context';
import { writeBiomeMeta, writeRecord } from '../../tools/nx-biome/src/operations/ledger-store';
import { biomeDriftWith } from '../../tools/nx-biome/src/executors/biome-drift/executor';

const BIOME = 'staging';
const SHA = {
  ingest: '1'.repeat(40),
  grade: '2'.repeat(40),
  flow: '3'.repeat(40),
  model: '4'.repeat(40),
  other: '9'.repeat(40),
};
const DEFINITION = JSON.stringify({
  Comment: 'Ingest assays',
  StartAt: 'Ingest',
  States: { Ingest: { Type: 'Task', Resource: '${service:assay-ingest}', End: true } },
});
const MODEL_BYTES = Buffer.from('model weights v1\n'.repeat(100));
const hex = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const b64 = (h: string) => Buffer.from(h, 'hex').toString('base64');

describe('biome-drift: the ledger against Lambda, Step Functions and S3 doubles, through the real AWS SDK clients', () => {
  let root: string;
  let config: WorkspaceConfig;
  let deps: Deps;
  let lines: string[];
  let s3: S3Server;
  let lambda: LambdaDouble;
  let sfn: SfnDouble;
  let proxies: Record<'lambda' | 'sfn' | 's3', ThrottlingProxy>;
  let records: LedgerRecord[];
  let tfvars: ReturnType<typeof renderTfvars>['tfvars'];
  let modelsBucket: string;
  let modelKey: string;
  const savedEnv = { ...process.env };
  const context = () => ({ root, cwd: root, projectName: 'infra', isVerbose: false }) as unknown as ExecutorContext;
  const s3Client = () =>
    new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
  const putModel = (body: Buffer, metadata: Record<string, string>) =>
    s3Client().send(new PutObjectCommand({ Bucket: modelsBucket, Key: modelKey, Body: body, Metadata: metadata }));
  const probe = (extra: Record<string, string> = {}) =>
    createWorkloadProbe({
      region: 'ap-southeast-2',
      env: {
        AWS_ENDPOINT_URL_LAMBDA: proxies.lambda.endpoint,
        AWS_ENDPOINT_URL_SFN: proxies.sfn.endpoint,
        AWS_ENDPOINT_URL_S3: proxies.s3.endpoint,
        AWS_MAX_ATTEMPTS: '3',
        ...extra,
      },
    });

  /** Runs the check; returns the report, or the BiomeError it failed with and what was printed. */
  async function drift(
    options: Record<string, unknown> = {},
    extraEnv: Record<string, string> = {},
  ): Promise<{ report?: DriftReport; error?: { code: string; message: string; hint?: string }; output: string }> {
    lines = [];
    try {
      const report = await biomeDriftWith({ biome: BIOME, ...options }, context(), deps, probe(extraEnv));
      return { report, output: lines.join('\n') };
    } catch (e) {
      if (!isBiomeError(e)) throw e;
      return { error: { code: e.code, message: e.message, hint: e.hint }, output: lines.join('\n') };
    }
  }
  /** A project's table row on one line: cells that wrapped (tables fit 120 columns) are joined back. */
  const rowOf = (out: string, project: string) => {
    const lines = out.split('\n');
    const start = lines.findIndex((l) => l.startsWith(`│ ${project} `));
    if (start < 0) return '';
    const cells = lines[start].split('│').map((c) => c.trim());
    for (const line of lines.slice(start + 1)) {
      const more = line.split('│').map((c) => c.trim());
      if (!line.startsWith('│') || more[1] !== '') break;
      more.forEach((c, i) => c && (cells[i] = `${cells[i]} ${c}`));
    }
    return `${cells.join(' │ ')}`.trim();
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'drift-'));
    await copyFile(join(WORKSPACE_ROOT, 'nx-biome.json'), join(root, 'nx-biome.json'));
    config = await loadWorkspaceConfig(root);
    const biome = parseBiomeName(BIOME, config);
    modelsBucket = modelsBucketName(config, biome.environment);
    s3 = await startS3rver([modelsBucket]);
    // Credentials for the SDK's chain (s3rver checks signatures); no instance metadata lookups.
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    delete process.env.AWS_PROFILE;
    lambda = await startLambdaDouble(async () => undefined);
    sfn = await startSfnDouble();
    proxies = {
      lambda: await startThrottlingProxy(lambda.endpoint, 'lambda'),
      sfn: await startThrottlingProxy(sfn.endpoint, 'sfn'),
      s3: await startThrottlingProxy(s3.endpoint, 's3'),
    };
    deps = {
      ...realDeps(root, config, {}),
      now: () => new Date('2026-11-30T12:00:00.000Z'),
      log: (l) => lines.push(l),
    };
    const at = new Date('2026-11-28T09:00:00.000Z');
    records = [
      plantedRecord({
        project: 'assay-ingest',
        biome: BIOME,
        environment: 'staging',
        gitSha: SHA.ingest,
        deployedAt: at,
        deployedBy: 'release-bot',
      }),
      plantedRecord({
        project: 'grade-api',
        biome: BIOME,
        environment: 'staging',
        gitSha: SHA.grade,
        deployedAt: at,
        deployedBy: 'release-bot',
      }),
      {
        ...plantedRecord({
          project: 'assay-flow',
          kind: 'workflow',
          biome: BIOME,
          environment: 'staging',
          gitSha: SHA.flow,
          deployedAt: at,
          deployedBy: 'release-bot',
        }),
        settings: { definition: DEFINITION },
      },
      {
        ...plantedRecord({
          project: 'grade-model',
          kind: 'model',
          biome: BIOME,
          environment: 'staging',
          gitSha: SHA.model,
          deployedAt: at,
          deployedBy: 'release-bot',
        }),
        sha256: hex(MODEL_BYTES),
      },
    ];
    const store = deps.storeFor('staging');
    await writeBiomeMeta(store, {
      schemaVersion: 1,
      biome: BIOME,
      environment: 'staging',
      owner: 'platform',
      created: at.toISOString(),
      expires: null,
      asleep: false,
    });
    for (const r of records) {
      // A record is written only while its artifact is stored.
      await store.put(r.artifactKey, r.kind === 'model' ? MODEL_BYTES : Buffer.from(`${r.project}@${r.gitSha}`), {
        ifAbsent: true,
      });
      await writeRecord(store, r);
    }
    tfvars = renderTfvars({ config, biome, records }).tfvars;
    modelKey = `${tfvars.model_prefix}${tfvars.models['grade-model'].target_path}`;
  });

  /** The account as Terraform leaves it after applying the ledger. */
  beforeEach(async () => {
    lambda.functions.clear();
    for (const project of ['assay-ingest', 'grade-api']) {
      const s = tfvars.services[project];
      lambda.addFunction(s.function_name, {
        codeSha256: s.source_code_hash,
        description: `${project} @ ${s.git_sha} in ${BIOME}`,
        lastModified: '2026-11-28T09:05:00.000Z',
        tags: { git_sha: s.git_sha },
      });
    }
    sfn.machines.clear();
    const w = tfvars.workflows['assay-flow'];
    sfn.deploy(
      `arn:aws:states:ap-southeast-2:222222222222:stateMachine:${w.state_machine_name}`,
      w.definition,
      w.version_description,
      new Date('2026-11-28T09:06:00.000Z'),
    );
    await putModel(MODEL_BYTES, { sha256: hex(MODEL_BYTES), 'git-sha': SHA.model });
  });

  afterAll(async () => {
    for (const p of Object.values(proxies ?? {})) await p.stop();
    await lambda?.stop();
    await sfn?.stop();
    await s3?.stop();
    process.env = savedEnv;
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('looks where Terraform puts things: names from the tfvars code, the models bucket of the biome stack', async () => {
    const mainTf = await readFile(join(WORKSPACE_ROOT, 'infra/stacks/biome/main.tf'), 'utf8');
    expect(mainTf).toContain(
      'coalesce(var.models_bucket, "${var.name_prefix}-models-${var.environment}-${var.aws_account_id}")',
    );
    expect(modelsBucket).toBe('geo-models-staging-222222222222');
    const { report } = await drift();
    expect(report!.rows.map((r) => r.resource)).toEqual([
      'state machine geo-staging--assay-flow',
      'Lambda function geo-staging--assay-ingest',
      'Lambda function geo-staging--grade-api',
      `model s3://geo-models-staging-222222222222/models/staging/grade-model-${SHA.model}.tar.gz`,
    ]);
  });

  it('no drift: every project ok, with what runs and since when', async () => {
    const { report, error, output } = await drift();
    expect(error).toBeUndefined();
    expect(report!.drift).toBe(false);
    expect(report!.rows.map((r) => [r.project, r.status])).toEqual([
      ['assay-flow', 'ok'],
      ['assay-ingest', 'ok'],
      ['grade-api', 'ok'],
      ['grade-model', 'ok'],
    ]);
    expect(output).toContain(
      'drift check of staging (account 222222222222, ap-southeast-2): 4 ok, 0 drifted, 0 missing, 0 not checked',
    );
    expect(rowOf(output, 'assay-ingest')).toMatch(
      /11111111 .* 11111111 .* 2026-11-28 09:05Z .* OK .* CodeSha256 matches \(\$LATEST\)/,
    );
    expect(rowOf(output, 'assay-flow')).toMatch(
      /33333333 .* 33333333 .* 2026-11-28 09:06Z .* OK .* definition matches \(alias live → 1\)/,
    );
    expect(rowOf(output, 'grade-model')).toMatch(/OK .* sha256 matches \(by metadata\)/);
    // The state machine was read through its live alias, then the version it routes to.
    expect(sfn.calls.slice(-2).map((c) => c.target)).toEqual(['DescribeStateMachineAlias', 'DescribeStateMachine']);
  });

  it('changed code: a console edit of a function is drift, with the running code and since when; non-zero exit', async () => {
    const fn = lambda.functions.get('geo-staging--grade-api')!;
    fn.codeSha256 = b64(hex('edited in the console'));
    fn.lastModified = '2026-11-29T16:42:00.000Z';
    const { report, error, output } = await drift();
    expect(report).toBeUndefined();
    expect(error!.code).toBe('DRIFT_DETECTED');
    expect(error!.message).toContain('1 project(s) in staging do not run what the ledger records: grade-api (drift)');
    expect(rowOf(output, 'grade-api')).toMatch(
      new RegExp(`22222222 .* unknown code ${hex('edited in the console').slice(0, 12)} .* 2026-11-29 16:42Z .* DRIFT`),
    );
    expect(rowOf(output, 'assay-ingest')).toContain('OK');
  });

  it('changed code everywhere: an older commit deployed by hand, a new state machine version, other model bytes', async () => {
    const fn = lambda.functions.get('geo-staging--assay-ingest')!;
    fn.codeSha256 = b64(hex('older build'));
    fn.tags = { 'biome:git-sha': SHA.other };
    const w = tfvars.workflows['assay-flow'];
    sfn.deploy(
      `arn:aws:states:ap-southeast-2:222222222222:stateMachine:${w.state_machine_name}`,
      w.definition.replace('Ingest assays', 'Ingest assays, hotfix'),
      `assay-flow ${SHA.other}`,
      new Date('2026-11-29T08:00:00.000Z'),
    );
    await putModel(Buffer.from('retrained by hand'), { 'git-sha': SHA.other });
    const { error, output } = await drift({ outputFile: 'dist/drift/staging.json' });
    expect(error!.code).toBe('DRIFT_DETECTED');
    expect(error!.message).toContain('assay-flow (drift), assay-ingest (drift), grade-model (drift)');
    expect(rowOf(output, 'assay-ingest')).toMatch(/11111111 .* 99999999 .* DRIFT/);
    expect(rowOf(output, 'assay-flow')).toMatch(
      /33333333 .* 99999999 .* 2026-11-29 08:00Z .* DRIFT .* definition differs .*alias live → 2/,
    );
    expect(rowOf(output, 'grade-model')).toMatch(
      /44444444 .* 99999999 .* DRIFT .* sha256 [0-9a-f]{16,}…? ≠ ledger .*by bytes/,
    );
    // The JSON report is written even when the check fails.
    const saved = JSON.parse(await readFile(join(root, 'dist/drift/staging.json'), 'utf8'));
    expect(saved.drift).toBe(true);
    expect(saved.rows.find((r: { project: string }) => r.project === 'assay-ingest')).toMatchObject({
      status: 'drift',
      expectedCommit: SHA.ingest,
      running: SHA.other,
    });
    // The table may cut a long hash to fit 120 columns; the report keeps it whole.
    expect(saved.rows.find((r: { project: string }) => r.project === 'grade-model').detail).toMatch(
      /sha256 [0-9a-f]{64} ≠ ledger [0-9a-f]{64}/,
    );
  });

  it('missing function and state machine: reported as missing, non-zero exit', async () => {
    lambda.functions.delete('geo-staging--grade-api');
    sfn.machines.clear();
    const { error, output } = await drift();
    expect(error!.code).toBe('DRIFT_DETECTED');
    expect(error!.message).toContain('assay-flow (missing), grade-api (missing)');
    expect(rowOf(output, 'grade-api')).toMatch(/MISSING .* Lambda function geo-staging--grade-api does not exist/);
    expect(output).toContain('2 ok, 0 drifted, 2 missing');
  });

  it('throttled APIs: the SDK retries and the check succeeds; each proxy really throttled', async () => {
    const before = { lambda: proxies.lambda.throttled(), sfn: proxies.sfn.throttled(), s3: proxies.s3.throttled() };
    proxies.lambda.throttleNext(2);
    proxies.sfn.throttleNext(2);
    proxies.s3.throttleNext(2);
    const { report, error } = await drift({ concurrency: 1 });
    expect(error).toBeUndefined();
    expect(report!.rows.every((r) => r.status === 'ok')).toBe(true);
    expect(proxies.lambda.throttled() - before.lambda).toBe(2);
    expect(proxies.sfn.throttled() - before.sfn).toBe(2);
    expect(proxies.s3.throttled() - before.s3).toBe(2);
  });

  it('throttled past the retries: said clearly, not called drift, still a non-zero exit', async () => {
    proxies.lambda.throttleNext(1000);
    try {
      const { error, output, report } = await drift({ concurrency: 1 }, { AWS_MAX_ATTEMPTS: '2' });
      expect(report).toBeUndefined();
      expect(error!.code).toBe('DRIFT_UNCHECKED');
      expect(error!.message).toMatch(/2 project\(s\) in staging could not be checked \(this is not drift\)/);
      expect(error!.message).toContain(
        'Lambda GetFunction answered TooManyRequestsException (HTTP 429) after 2 attempt(s)',
      );
      expect(output).toContain('2 ok, 0 drifted, 0 missing, 2 not checked');
      expect(error!.hint).toBe('Re-run later, lower --concurrency, or raise AWS_MAX_ATTEMPTS.');
      expect(rowOf(output, 'assay-ingest')).toMatch(/ \? .* UNCHECKED .* not checked: throttled by AWS/);
    } finally {
      proxies.lambda.throttleNext(0);
    }
  });

  it('without AWS credentials: says so and how to give them, not "re-run later"', async () => {
    const saved = { ...process.env };
    for (const k of [
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'AWS_PROFILE',
      'AWS_ROLE_ARN',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
    ])
      delete process.env[k];
    Object.assign(process.env, {
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
      AWS_CONFIG_FILE: '/nonexistent',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    try {
      const { error, output } = await drift({}, { AWS_MAX_ATTEMPTS: '1' });
      expect(error!.code).toBe('DRIFT_UNCHECKED');
      expect(error!.message).toMatch(/could not be checked \(this is not drift\)/);
      expect(error!.message).toMatch(/no AWS credentials found/);
      expect(error!.hint).toBe(
        `Give the check credentials for account ${config.environments.staging.account} (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; in CI the drift job's role CI_ROLE_ARN_DRIFT_STAGING), then run nx run infra:biome-drift --biome=staging again.`,
      );
      expect(error!.hint).not.toMatch(/concurrency|later/);
      expect(rowOf(output, 'assay-ingest')).toMatch(/UNCHECKED .* not checked: no AWS credentials/);
    } finally {
      process.env = saved;
    }
  });

  it('--json prints clean JSON and nothing else', async () => {
    const { report, output } = await drift({ json: true });
    const parsed = JSON.parse(output);
    expect(parsed).toEqual(JSON.parse(JSON.stringify(report)));
    expect(parsed.rows[1]).toMatchObject({
      project: 'assay-ingest',
      status: 'ok',
      expectedCommit: SHA.ingest,
      running: SHA.ingest,
      since: '2026-11-28T09:05:00.000Z',
    });
  });

  it('bad input: an unknown biome or a bad --concurrency is refused before any AWS call', async () => {
    const calls = lambda.calls.length;
    expect((await drift({ biome: 'dev-nobody' })).error?.code).toBe('BIOME_NOT_FOUND');
    expect((await drift({ concurrency: 0 })).error).toMatchObject({
      code: 'OPTIONS_INVALID',
      message: expect.stringContaining('--concurrency must be a whole number from 1 to 32'),
    });
    expect(lambda.calls.length).toBe(calls);
  });
});
