import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configSchema, dataSetSchema, environmentSchema, parseWorkspaceConfig } from './config';
import { BiomeError } from './errors';
import { LedgerRecord, planProjectDeploy } from './ledger';
import { parseBiomeName } from './names';
import { planPromotion } from './promotion';
import {
  BiomeSettings,
  checkSetting,
  parseBiomeSettings,
  planSettingsChange,
  resolveSettings,
  secretLikeReason,
} from './settings';
import { renderTfvars } from './tfvars';

const SHA = 'a'.repeat(40);
const DATA_SETS = {
  'assay-reference': { prefix: 'assays/reference', description: 'CRM assays', owner: 'lab' },
  'ore-training': { prefix: 'training/ore-grade', description: 'labelled intervals', owner: 'ml' },
};

function config(overrides: { dev?: Record<string, unknown>; staging?: Record<string, unknown> } = {}) {
  return parseWorkspaceConfig({
    namePrefix: 'geo',
    promotionOrder: ['dev', 'staging', 'prod'],
    environments: {
      dev: {
        account: '111111111111',
        region: 'ap-southeast-2',
        multiTenant: true,
        dataSets: DATA_SETS,
        settings: { '*': { LOG_LEVEL: 'warn', REGION_LABEL: 'apac' }, 'assay-ingest': { BATCH_SIZE: 50 } },
        ...overrides.dev,
      },
      staging: { account: '222222222222', region: 'ap-southeast-2', dataSets: DATA_SETS, ...overrides.staging },
      prod: { account: '333333333333', region: 'ap-southeast-2' },
    },
  });
}

/** The error a call throws (fails the test when it throws none or a non-BiomeError). */
function errorOf(fn: () => unknown): BiomeError {
  try {
    fn();
  } catch (e) {
    if (e instanceof BiomeError) return e;
    throw e;
  }
  throw new Error('expected a BiomeError');
}

function record(project: string, settings: Record<string, unknown>, extra: Partial<LedgerRecord> = {}): LedgerRecord {
  return {
    schemaVersion: 1,
    project,
    kind: 'service',
    biome: 'dev-bob',
    environment: 'dev',
    artifactKey: `artifacts/${project}/${project}-${SHA}.zip`,
    sha256: 'f'.repeat(64),
    size: 1,
    gitSha: SHA,
    dirty: false,
    deployedAt: '2026-11-20T10:00:00.000Z',
    deployedBy: 'bob',
    settings,
    ...extra,
  };
}

const cfg = config();
const bob = parseBiomeName('dev-bob', cfg);
const biomeLayer = (projects: BiomeSettings['projects']): BiomeSettings => ({
  schemaVersion: 1,
  biome: 'dev-bob',
  projects,
});
const projectSettings = {
  memorySize: 256,
  dataSets: ['assay-reference'],
  environment: { LOG_LEVEL: 'info', FEATURE_X: 'on' },
};

describe('layered settings: project defaults → environment → biome', () => {
  it('the last layer wins, and each variable says where it came from', () => {
    const r = resolveSettings({
      config: cfg,
      biome: bob,
      project: 'assay-ingest',
      kind: 'service',
      settings: projectSettings,
      biomeSettings: biomeLayer({ 'assay-ingest': { LOG_LEVEL: 'debug' }, 'grade-predict': { LOG_LEVEL: 'trace' } }),
    });
    expect(r.environment).toEqual({ BATCH_SIZE: '50', FEATURE_X: 'on', LOG_LEVEL: 'debug', REGION_LABEL: 'apac' });
    expect(r.sources).toEqual({
      BATCH_SIZE: 'environment',
      FEATURE_X: 'project',
      LOG_LEVEL: 'biome',
      REGION_LABEL: 'environment',
    });
    expect(r.dataSets).toEqual({ 'assay-reference': 'assays/reference' });
    expect(r.secrets).toEqual([]);
  });

  it('without a biome layer the environment layer wins over the project defaults; another environment has its own', () => {
    expect(
      resolveSettings({ config: cfg, biome: bob, project: 'assay-ingest', kind: 'service', settings: projectSettings })
        .environment.LOG_LEVEL,
    ).toBe('warn');
    const staging = parseBiomeName('staging', cfg);
    expect(
      resolveSettings({
        config: cfg,
        biome: staging,
        project: 'assay-ingest',
        kind: 'service',
        settings: projectSettings,
      }).environment,
    ).toEqual({ FEATURE_X: 'on', LOG_LEVEL: 'info' });
  });

  it('a secret reference stays a reference and names the secret to grant', () => {
    const r = resolveSettings({
      config: cfg,
      biome: bob,
      project: 'assay-ingest',
      kind: 'service',
      settings: {},
      biomeSettings: biomeLayer({
        'assay-ingest': { DB_PASSWORD: 'ssm:/geo/dev/db-password', API_KEY: 'secretsmanager:geo/dev/assay-api' },
      }),
    });
    expect(r.environment.DB_PASSWORD).toBe('ssm:/geo/dev/db-password');
    expect(r.secrets).toEqual([
      { key: 'API_KEY', service: 'secretsmanager', name: 'geo/dev/assay-api' },
      { key: 'DB_PASSWORD', service: 'ssm', name: '/geo/dev/db-password' },
    ]);
  });
});

describe('bad input names the layer, the key and the fix', () => {
  it('refuses a key that is not an environment variable name, in any layer', () => {
    const e = errorOf(() =>
      resolveSettings({
        config: cfg,
        biome: bob,
        project: 'assay-ingest',
        kind: 'service',
        settings: {},
        biomeSettings: biomeLayer({ 'assay-ingest': { 'log-level': 'debug' } }),
      }),
    );
    expect(e.code).toBe('SETTING_INVALID');
    expect(e.message).toContain('"log-level"');
    expect(e.message).toContain('biome dev-bob (biomes/dev-bob/config.json');
    expect(e.hint).toContain('LOG_LEVEL');
    const p = errorOf(() =>
      resolveSettings({
        config: cfg,
        biome: bob,
        project: 'assay-ingest',
        kind: 'service',
        settings: { environment: { '1X': 'a' } },
      }),
    );
    expect(p.message).toContain("project assay-ingest (its package target's settings.environment)");
    const env = errorOf(() => config({ dev: { settings: { '*': { 'BAD NAME': 'x' } } } }));
    expect(env.code).toBe('SETTING_INVALID');
    expect(env.message).toContain('environment dev (nx-biome.json environments.dev.settings)');
  });

  it('refuses names the platform sets or Lambda reserves', () => {
    for (const key of ['BIOME', 'GIT_SHA', 'MODEL_TARGET', 'AWS_REGION', 'LAMBDA_TASK_ROOT']) {
      expect(
        errorOf(() => checkSetting({ layerText: 'x', key, value: 'v', config: cfg, environment: 'dev' })).message,
        key,
      ).toContain('reserved');
    }
  });

  it.each([
    ['UPSTREAM_KEY_ID', 'AKIAIOSFODNN7EXAMPLE', 'AWS access key id'],
    ['TLS_KEY', '-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----', 'PEM'],
    ['DB_PASSWORD', 'hunter2hunter2', 'plain text'],
    ['SERVICE_SECRET', 'not-so-secret', 'plain text'],
    ['API_TOKEN', 'Zx8vQ2mLp9RtY4wKc7NbH3jF', 'token'],
    ['BLOB', 'q8Zp3LxV9mWc2RtY7bNk4HsJ6dFg1AeU0oIy5TrE', 'random token'],
  ])('refuses a secret pasted as a plain value (%s) without repeating it', (key, value, reason) => {
    const e = errorOf(() => checkSetting({ layerText: 'biome dev-bob', key, value, config: cfg, environment: 'dev' }));
    expect(e.code).toBe('SETTING_LOOKS_SECRET');
    expect(e.message).toContain(reason);
    expect(e.message).toContain(key);
    expect(`${e.message}${e.hint}`).not.toContain(value.slice(0, 12));
    expect(e.hint).toContain(`${key}=ssm:/geo/dev/`);
  });

  it('lets ordinary values through: words, numbers, a commit SHA, a short token TTL, a URL', () => {
    for (const [key, value] of [
      ['LOG_LEVEL', 'debug'],
      ['TOKEN_TTL', '3600'],
      ['PASSWORD_MIN_LENGTH', '12'],
      ['UPSTREAM_SHA', SHA],
      ['API_URL', 'https://assays.example.com/v2/batches'],
    ]) {
      expect(secretLikeReason(key, value), key).toBeUndefined();
    }
  });

  it("refuses a reference to another environment's parameter or secret", () => {
    const ssm = errorOf(() =>
      checkSetting({
        layerText: 'biome dev-bob',
        key: 'DB_PASSWORD',
        value: 'ssm:/geo/prod/db-password',
        config: cfg,
        environment: 'dev',
      }),
    );
    expect(ssm.message).toContain('not a parameter of environment dev');
    expect(ssm.hint).toContain('/geo/dev/');
    expect(
      errorOf(() =>
        checkSetting({
          layerText: 'x',
          key: 'K',
          value: 'secretsmanager:arn:aws:secretsmanager:x',
          config: cfg,
          environment: 'dev',
        }),
      ).message,
    ).toContain('not a secret of environment dev');
  });

  it('refuses an unknown data set, naming it and the declared ones', () => {
    const e = errorOf(() =>
      resolveSettings({
        config: cfg,
        biome: bob,
        project: 'assay-ingest',
        kind: 'service',
        settings: { dataSets: ['assay-reference', 'drill-logs'] },
      }),
    );
    expect(e.code).toBe('DATA_SET_UNKNOWN');
    expect(e.message).toContain('"drill-logs"');
    expect(e.message).toContain('assay-reference, ore-training');
    expect(e.hint).toContain('environments.dev.dataSets');
  });

  it('refuses data sets on a workflow (no function role) and a malformed list', () => {
    expect(
      errorOf(() =>
        resolveSettings({
          config: cfg,
          biome: bob,
          project: 'plant-feed',
          kind: 'workflow',
          settings: { dataSets: ['assay-reference'] },
        }),
      ).message,
    ).toContain('only services');
    expect(
      errorOf(() =>
        resolveSettings({
          config: cfg,
          biome: bob,
          project: 'assay-ingest',
          kind: 'service',
          settings: { dataSets: 'assay-reference' },
        }),
      ).code,
    ).toBe('SETTING_INVALID');
  });

  it('refuses data-set prefixes that nest (a grant to one would reach the other) and a bad prefix', () => {
    const nested = errorOf(() =>
      config({
        dev: {
          dataSets: {
            all: { prefix: 'assays', description: 'd', owner: 'o' },
            raw: { prefix: 'assays/raw', description: 'd', owner: 'o' },
          },
        },
      }),
    );
    expect(nested.code).toBe('CONFIG_INVALID');
    expect(nested.message).toContain('"raw" (assays/raw) lies inside "all" (assays)');
    expect(
      errorOf(() => config({ dev: { dataSets: { x: { prefix: '/assays/', description: 'd', owner: 'o' } } } })).message,
    ).toContain('environments.dev.dataSets.x.prefix');
    expect(errorOf(() => config({ dev: { dataSets: { x: { prefix: 'a', owner: 'o' } } } })).message).toContain(
      'description',
    );
  });

  it('refuses a stored biome layer that is not JSON, has unknown fields, belongs to another biome or hides a secret', () => {
    const parse = (v: unknown) => () =>
      parseBiomeSettings(typeof v === 'string' ? v : JSON.stringify(v), 's3://b biomes/dev-bob/config.json', {
        config: cfg,
        biome: bob,
      });
    expect(errorOf(parse('{')).code).toBe('SETTING_INVALID');
    expect(errorOf(parse({ schemaVersion: 1, biome: 'dev-bob', projects: {}, extra: 1 })).message).toContain(
      'layer: biome dev-bob',
    );
    expect(errorOf(parse({ schemaVersion: 1, biome: 'dev-amy', projects: {} })).message).toContain('for biome dev-amy');
    expect(
      errorOf(
        parse({ schemaVersion: 1, biome: 'dev-bob', projects: { 'assay-ingest': { DB_PASSWORD: 'hunter2hunter2' } } }),
      ).code,
    ).toBe('SETTING_LOOKS_SECRET');
  });
});

describe('planSettingsChange (biome-config)', () => {
  const now = new Date('2026-11-30T00:00:00.000Z');
  it('sets, overwrites and unsets; an emptied project leaves the file; unsetting what is not set is reported', () => {
    const one = planSettingsChange({
      change: { projects: ['assay-ingest'], set: { LOG_LEVEL: 'debug' }, unset: [] },
      config: cfg,
      biome: bob,
      now,
      by: 'bob',
    });
    expect(one).toMatchObject({
      changed: true,
      notSet: [],
      next: { biome: 'dev-bob', projects: { 'assay-ingest': { LOG_LEVEL: 'debug' } }, updatedBy: 'bob' },
    });
    const same = planSettingsChange({
      current: one.next,
      change: { projects: ['assay-ingest'], set: { LOG_LEVEL: 'debug' }, unset: [] },
      config: cfg,
      biome: bob,
      now,
      by: 'bob',
    });
    expect(same.changed).toBe(false);
    const gone = planSettingsChange({
      current: one.next,
      change: { projects: ['assay-ingest'], set: {}, unset: ['LOG_LEVEL', 'NOPE'] },
      config: cfg,
      biome: bob,
      now,
      by: 'bob',
    });
    expect(gone).toMatchObject({
      changed: true,
      notSet: [{ project: 'assay-ingest', key: 'NOPE' }],
      next: { projects: {} },
    });
  });

  it('checks what is set as the biome layer', () => {
    expect(
      errorOf(() =>
        planSettingsChange({
          change: {
            projects: ['assay-ingest'],
            set: { AWS_SECRET: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
            unset: [],
          },
          config: cfg,
          biome: bob,
          now,
          by: 'bob',
        }),
      ).message,
    ).toContain('biome dev-bob');
  });
});

describe('the ledger and the tfvars carry the resolved settings; the artifact does not change', () => {
  const resolved = resolveSettings({
    config: cfg,
    biome: bob,
    project: 'assay-ingest',
    kind: 'service',
    settings: projectSettings,
    biomeSettings: biomeLayer({
      'assay-ingest': {
        LOG_LEVEL: 'debug',
        DB_PASSWORD: 'ssm:/geo/dev/db-password',
        API_KEY: 'secretsmanager:geo/dev/assay-api',
      },
    }),
  });

  it('renders the recorded variables, data sets and exactly the referenced ARNs', () => {
    const { tfvars } = renderTfvars({
      config: cfg,
      biome: bob,
      records: [record('assay-ingest', projectSettings, { resolvedSettings: resolved }), record('grade-predict', {})],
    });
    expect(tfvars.data_set_bucket).toBe('geo-datasets-dev-111111111111');
    const s = tfvars.services['assay-ingest'];
    expect(s.environment).toEqual({
      API_KEY: 'secretsmanager:geo/dev/assay-api',
      BATCH_SIZE: '50',
      DB_PASSWORD: 'ssm:/geo/dev/db-password',
      FEATURE_X: 'on',
      LOG_LEVEL: 'debug',
      REGION_LABEL: 'apac',
      BIOME: 'dev-bob',
      GIT_SHA: SHA,
      DATA_SET_BUCKET: 'geo-datasets-dev-111111111111',
      DATA_SET_ASSAY_REFERENCE_PREFIX: 'assays/reference',
    });
    // A service that reads no data set gets no data-set variables.
    expect(tfvars.services['grade-predict'].environment).not.toHaveProperty('DATA_SET_BUCKET');
    expect(s.data_sets).toEqual({ 'assay-reference': 'assays/reference' });
    expect(s.ssm_parameter_arns).toEqual(['arn:aws:ssm:ap-southeast-2:111111111111:parameter/geo/dev/db-password']);
    expect(s.secret_arns).toEqual([
      'arn:aws:secretsmanager:ap-southeast-2:111111111111:secret:geo/dev/assay-api-??????',
    ]);
    expect(s.s3_key).toBe(`artifacts/assay-ingest/assay-ingest-${SHA}.zip`);
    expect(tfvars.services['grade-predict']).toMatchObject({ data_sets: {}, ssm_parameter_arns: [], secret_arns: [] });
  });

  it('refuses a record whose recorded settings were edited to carry a secret', () => {
    const tampered = { ...resolved, environment: { ...resolved.environment, DB_PASSWORD: 'hunter2hunter2' } };
    expect(
      errorOf(() =>
        renderTfvars({
          config: cfg,
          biome: bob,
          records: [record('assay-ingest', projectSettings, { resolvedSettings: tampered })],
        }),
      ).code,
    ).toBe('SETTING_LOOKS_SECRET');
  });

  it('a settings-only change is a new record with the same artifact key; the same settings are unchanged', () => {
    const current = record('assay-ingest', projectSettings, { resolvedSettings: resolved });
    const changed = { ...resolved, environment: { ...resolved.environment, LOG_LEVEL: 'trace' } };
    const plan = planProjectDeploy({
      current,
      next: { ...current, resolvedSettings: changed },
      currentArtifact: 'same',
    });
    expect(plan).toMatchObject({
      action: 'record',
      restore: false,
      record: { artifactKey: current.artifactKey, resolvedSettings: changed },
    });
    expect(
      planProjectDeploy({ current, next: { ...current, deployedAt: 'later' }, currentArtifact: 'same' }).action,
    ).toBe('unchanged');
  });
});

describe('promotion needs the same data sets in the target environment', () => {
  const noTraining = config({ staging: { dataSets: { 'assay-reference': DATA_SETS['assay-reference'] } } });
  it('refuses with every missing data set and the project reading it, before anything is copied', () => {
    const e = errorOf(() =>
      planPromotion({
        source: 'dev',
        target: parseBiomeName('staging', noTraining),
        records: [
          record('assay-ingest', { dataSets: ['assay-reference'] }),
          record('grade-predict', { dataSets: ['ore-training'] }),
        ],
        targetRecords: [],
        contains: new Map(),
        allowRollback: false,
      }),
    );
    expect(e.code).toBe('DATA_SET_MISSING');
    expect(e.message).toContain('environment staging lacks data set "ore-training"');
    expect(e.message).toContain('grade-predict reads ore-training');
    expect(e.message).not.toContain('assay-ingest reads');
    expect(e.hint).toContain('environments.staging.dataSets');
  });

  it('passes when the names exist there (prefixes may differ)', () => {
    const moved = config({
      staging: { dataSets: { ...DATA_SETS, 'ore-training': { ...DATA_SETS['ore-training'], prefix: 'training/v2' } } },
    });
    const steps = planPromotion({
      source: 'dev',
      target: parseBiomeName('staging', moved),
      records: [record('grade-predict', { dataSets: ['ore-training'] })],
      targetRecords: [],
      contains: new Map(),
      allowRollback: false,
    });
    expect(steps.map((s) => s.action)).toEqual(['copy']);
  });
});

describe('config.schema.json (for editors) and the zod schema (what the plugin enforces)', () => {
  const schema = JSON.parse(readFileSync(join(__dirname, '../../config.schema.json'), 'utf8'));
  it('declare the same fields at every level', () => {
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(configSchema.shape).sort());
    expect(Object.keys(schema.definitions.environment.properties).sort()).toEqual(
      Object.keys(environmentSchema.shape).sort(),
    );
    expect(Object.keys(schema.definitions.dataSet.properties).sort()).toEqual(Object.keys(dataSetSchema.shape).sort());
  });

  it("the repository's nx-biome.json passes the plugin's checks and declares the same data-set names in every environment", () => {
    const repo = parseWorkspaceConfig(JSON.parse(readFileSync(join(__dirname, '../../../../nx-biome.json'), 'utf8')));
    const names = Object.values(repo.environments).map((e) => Object.keys(e.dataSets ?? {}).sort());
    expect(names[0].length).toBeGreaterThan(0);
    for (const n of names) expect(n).toEqual(names[0]);
  });
});
