import { describe, expect, it } from 'vitest';
import { BiomeError } from './errors';
import { LedgerRecord, parseLedgerRecord, planProjectDeploy, touchBiomeMeta } from './ledger';
import { parseBiomeName } from './names';
import { testConfig } from './test-config';
import { renderTfvars, resolveWorkflowDefinition } from './tfvars';

const config = testConfig();
const biome = parseBiomeName('dev-bob', config);
const SHA_A = 'a'.repeat(40);
const SHA_B = 'b'.repeat(40);

function record(
  project: string,
  kind: LedgerRecord['kind'],
  gitSha: string,
  settings: Record<string, unknown> = {},
): LedgerRecord {
  const ext = kind === 'model' ? 'tar.gz' : 'zip';
  return {
    schemaVersion: 1,
    project,
    kind,
    biome: 'dev-bob',
    environment: 'dev',
    artifactKey: `artifacts/${project}/${project}-${gitSha}.${ext}`,
    sha256: 'f'.repeat(64),
    size: 100,
    gitSha,
    dirty: false,
    deployedAt: '2026-11-20T10:00:00.000Z',
    deployedBy: 'bob',
    settings,
  };
}

describe('renderTfvars', () => {
  const records = [
    record('grade-predict', 'service', SHA_B, {
      memorySize: 512,
      timeout: 60,
      model: 'ore-grade',
      environment: { LOG_LEVEL: 'debug' },
    }),
    record('assay-ingest', 'service', SHA_A),
    record('ore-grade', 'model', SHA_A),
    record('plant-feed', 'workflow', SHA_B, {
      definition:
        '{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"${service:assay-ingest}"},"End":true}}}',
    }),
  ];
  const { tfvars, warnings } = renderTfvars({
    config,
    biome,
    records,
    meta: {
      schemaVersion: 1,
      biome: 'dev-bob',
      environment: 'dev',
      owner: 'bob',
      created: 'x',
      expires: null,
      asleep: true,
    },
  });

  it('covers every project of the ledger, sorted, with key, SHA and the base64 sha256 for source_code_hash', () => {
    expect(Object.keys(tfvars.services)).toEqual(['assay-ingest', 'grade-predict']);
    expect(tfvars.services['assay-ingest']).toMatchObject({
      function_name: 'geo-dev-bob--assay-ingest',
      s3_key: `artifacts/assay-ingest/assay-ingest-${SHA_A}.zip`,
      git_sha: SHA_A,
      source_code_hash: Buffer.from('f'.repeat(64), 'hex').toString('base64'),
      memory_size: 256,
      timeout: 30,
    });
    expect(tfvars).toMatchObject({
      biome: 'dev-bob',
      environment: 'dev',
      artifact_bucket: 'geo-artifacts-dev-111111111111',
      asleep: true,
      owner: 'bob',
      sandpit: true,
    });
    expect(warnings).toEqual([]);
  });

  it('passes per-project settings through and gives a model user its biome target', () => {
    expect(tfvars.services['grade-predict']).toMatchObject({ memory_size: 512, timeout: 60, model: 'ore-grade' });
    expect(tfvars.services['grade-predict'].environment).toEqual({
      LOG_LEVEL: 'debug',
      BIOME: 'dev-bob',
      GIT_SHA: SHA_B,
      MODEL_TARGET: `dev-bob/ore-grade-${SHA_A}.tar.gz`,
    });
    expect(tfvars.models['ore-grade'].target_path).toBe(`dev-bob/ore-grade-${SHA_A}.tar.gz`);
  });

  it('resolves workflow service references to the biome functions', () => {
    expect(tfvars.workflows['plant-feed'].definition).toContain(
      '"FunctionName":"arn:aws:lambda:ap-southeast-2:111111111111:function:geo-dev-bob--assay-ingest"',
    );
    expect(tfvars.workflows['plant-feed'].services).toEqual(['assay-ingest']);
    expect(resolveWorkflowDefinition('${service:x}', config, parseBiomeName('dev', config))).toBe(
      'arn:aws:lambda:ap-southeast-2:111111111111:function:geo-dev--x',
    );
  });

  it('warns when a service uses a model the biome does not record', () => {
    const r = renderTfvars({ config, biome, records: [records[0]] });
    expect(r.warnings[0]).toMatch(/uses model "ore-grade", which biome dev-bob does not record/);
    expect(r.tfvars.services['grade-predict'].environment.MODEL_TARGET).toBeUndefined();
  });
});

describe('ledger records', () => {
  it('round-trips a valid record', () => {
    const r = record('assay-ingest', 'service', SHA_A);
    expect(parseLedgerRecord(JSON.stringify(r), 'x')).toEqual(r);
  });

  it.each([
    ['not JSON', '{oops', /is not valid JSON/],
    [
      'a key outside artifacts/',
      JSON.stringify({ ...record('a', 'service', SHA_A), artifactKey: 'biomes/dev/ledger/x.json' }),
      /points outside artifacts\/a\//,
    ],
    [
      'a traversal key',
      JSON.stringify({ ...record('a', 'service', SHA_A), artifactKey: `artifacts/a/../../etc/a-${SHA_A}.zip` }),
      /points outside/,
    ],
    ['a short SHA', JSON.stringify({ ...record('a', 'service', SHA_A), gitSha: 'abc1234' }), /invalid git SHA/],
    [
      'a bad project name',
      JSON.stringify({ ...record('a', 'service', SHA_A), project: '$(id)' }),
      /invalid project name/,
    ],
  ])('rejects %s', (_label, text, message) => {
    expect(() => parseLedgerRecord(text, 'biomes/dev-bob/ledger/a.json')).toThrow(BiomeError);
    expect(() => parseLedgerRecord(text, 'biomes/dev-bob/ledger/a.json')).toThrow(message);
  });

  it('plans unchanged when the biome already records the same bytes and settings, keeping the old key', () => {
    const current = record('a', 'service', SHA_A);
    const next = { ...record('a', 'service', SHA_B) };
    expect(planProjectDeploy({ current, next, currentArtifact: 'same' })).toEqual({
      action: 'unchanged',
      record: current,
      restore: false,
    });
    expect(planProjectDeploy({ current, next: { ...next, sha256: 'e'.repeat(64) } })).toMatchObject({
      action: 'record',
      record: { artifactKey: next.artifactKey },
    });
  });

  it('uploads a vanished artifact again under its recorded key, and distrusts a record whose artifact holds other bytes', () => {
    const current = record('a', 'service', SHA_A);
    const next = record('a', 'service', SHA_B);
    expect(planProjectDeploy({ current, next, currentArtifact: 'absent' })).toEqual({
      action: 'unchanged',
      record: current,
      restore: true,
    });
    expect(planProjectDeploy({ current, next, currentArtifact: 'different' })).toEqual({
      action: 'record',
      record: next,
      restore: false,
    });
  });

  it('a settings-only change records the new commit and settings but keeps the stored key (same bytes are not uploaded again)', () => {
    const current = record('a', 'service', SHA_A);
    const next = { ...record('a', 'service', SHA_B), settings: { memorySize: 1024 } };
    const plan = planProjectDeploy({ current, next, currentArtifact: 'same' });
    expect(plan).toMatchObject({
      action: 'record',
      restore: false,
      record: { artifactKey: current.artifactKey, gitSha: SHA_B, settings: { memorySize: 1024 } },
    });
  });

  it('refreshes a sandpit expiry on deploy; main biomes never expire', () => {
    const now = new Date('2026-11-26T00:00:00Z');
    expect(
      touchBiomeMeta({ biome: 'dev-bob', environment: 'dev', sandpit: true, owner: 'bob', now, ttlHours: 72 }).expires,
    ).toBe('2026-11-29T00:00:00.000Z');
    expect(
      touchBiomeMeta({ biome: 'dev', environment: 'dev', sandpit: false, owner: 'ci', now, ttlHours: 72 }).expires,
    ).toBeNull();
    // A sandpit created with its own TTL keeps it: a deploy refreshes by 24 h, not by the 72 h default.
    const created = {
      schemaVersion: 1 as const,
      biome: 'dev-bob',
      environment: 'dev',
      owner: 'bob',
      created: '2026-11-20T00:00:00.000Z',
      expires: '2026-11-21T00:00:00.000Z',
      ttlHours: 24,
      asleep: false,
    };
    expect(
      touchBiomeMeta({
        existing: created,
        biome: 'dev-bob',
        environment: 'dev',
        sandpit: true,
        owner: 'bob',
        now,
        ttlHours: 72,
      }).expires,
    ).toBe('2026-11-27T00:00:00.000Z');
  });
});
