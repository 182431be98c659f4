import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3rver, S3Server, withEnv } from '../support/s3rver';
import { copyWorkspace, TempWorkspace } from '../support/workspace';
import { openStore } from '../../tools/nx-biome/src/adapters/store/open-store';

/**
 * Layered settings and shared data sets through the real Nx CLI on a temporary
 * copy of this workspace, with each environment's store on s3rver: deploy,
 * override a setting in one biome (tfvars and ledger follow, nothing is built
 * or uploaded), keep it across deploys, unset it, refuse bad input, list what
 * each project reads, and refuse a promotion whose data sets the next
 * environment lacks.
 */

const BIOME = 'dev-cfg';
const DEV = 's3://geo-artifacts-dev/e2e';
const STAGING = 's3://geo-artifacts-staging/e2e';

let ws: TempWorkspace;
let server: S3Server;
let env: Record<string, string>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON documents explored by path in assertions
type Json = Record<string, any>;

const tfvars = async (biome = BIOME): Promise<Json> =>
  JSON.parse(await readFile(join(ws.root, `dist/terraform/${biome}.tfvars.json`), 'utf8'));
const nx = (...args: string[]) => ws.nx([...args, '--output-style=static'], env);
/** Reads the store the way the plugin does (s3rver through the SDK). */
async function storeJson(url: string, key: string): Promise<Json | undefined> {
  return withEnv(env, async () => {
    const body = await openStore(url, ws.root).get(key);
    return body ? JSON.parse(body.toString('utf8')) : undefined;
  });
}
const storeKeys = (url: string, prefix: string) =>
  withEnv(env, async () => (await openStore(url, ws.root).list(prefix)).map((o) => o.key));

beforeAll(async () => {
  ws = await copyWorkspace('e2e-settings-');
  server = await startS3rver(['geo-artifacts-dev', 'geo-artifacts-staging']);
  env = { ...server.env, BIOME_STORE_DEV: DEV, BIOME_STORE_STAGING: STAGING };
  const run = await nx('run-many', '-t', 'deploy', `--biome=${BIOME}`);
  expect(run.code, run.output).toBe(0);
}, 300_000);

afterAll(async () => {
  await ws?.cleanup();
  await server?.stop();
});

describe('layered settings through nx', () => {
  it("a first deploy renders the project defaults, the data sets each service reads and the environment's data-set bucket", async () => {
    const t = await tfvars();
    expect(t.data_set_bucket).toBe('geo-datasets-dev-111111111111');
    expect(t.services['assay-ingest']).toMatchObject({
      environment: { LOG_LEVEL: 'info' },
      data_sets: { 'assay-reference': 'assays/reference' },
      ssm_parameter_arns: [],
    });
    expect(t.services['grade-predict'].data_sets).toEqual({ 'ore-training': 'training/ore-grade' });
    const record = await storeJson(DEV, `biomes/${BIOME}/ledger/assay-ingest.json`);
    expect(record?.resolvedSettings).toEqual({
      environment: { LOG_LEVEL: 'info' },
      sources: { LOG_LEVEL: 'project' },
      secrets: [],
      dataSets: { 'assay-reference': 'assays/reference' },
    });
  });

  it('--set overrides one biome: new ledger record with the same artifact, tfvars re-rendered, nothing built or uploaded', async () => {
    const before = await storeJson(DEV, `biomes/${BIOME}/ledger/assay-ingest.json`);
    const artifacts = await storeKeys(DEV, 'artifacts/');
    const run = await nx(
      'run',
      'infra:biome-config',
      `--biome=${BIOME}`,
      '--projects=assay-ingest',
      '--set',
      'LOG_LEVEL=debug',
      '--set',
      'DB_PASSWORD=ssm:/geo/dev/db-password',
    );
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain(
      `assay-ingest in ${BIOME}: new record, same artifact ${before!.artifactKey} (DB_PASSWORD=ssm:/geo/dev/db-password, LOG_LEVEL=debug)`,
    );
    expect(run.output).not.toMatch(/packaged|:build|:package/);

    const t = await tfvars();
    expect(t.services['assay-ingest'].environment).toMatchObject({
      LOG_LEVEL: 'debug',
      DB_PASSWORD: 'ssm:/geo/dev/db-password',
      BIOME,
    });
    expect(t.services['assay-ingest'].ssm_parameter_arns).toEqual([
      'arn:aws:ssm:ap-southeast-2:111111111111:parameter/geo/dev/db-password',
    ]);
    expect(t.services['assay-ingest'].s3_key).toBe(before!.artifactKey);
    expect(t.services['grade-predict'].environment.LOG_LEVEL).toBe('info');

    const after = await storeJson(DEV, `biomes/${BIOME}/ledger/assay-ingest.json`);
    expect(after).toMatchObject({
      artifactKey: before!.artifactKey,
      sha256: before!.sha256,
      gitSha: before!.gitSha,
      origin: { action: 'configure' },
    });
    expect(after!.resolvedSettings.sources).toEqual({ DB_PASSWORD: 'biome', LOG_LEVEL: 'biome' });
    expect(await storeJson(DEV, `biomes/${BIOME}/config.json`)).toMatchObject({
      biome: BIOME,
      projects: { 'assay-ingest': { DB_PASSWORD: 'ssm:/geo/dev/db-password', LOG_LEVEL: 'debug' } },
    });
    expect(await storeKeys(DEV, 'artifacts/')).toEqual(artifacts);
    expect((await storeKeys(DEV, `biomes/${BIOME}/history/assay-ingest/`)).length).toBe(2);
  }, 300_000);

  it('--dry-run prints the change and writes nothing', async () => {
    const layer = await storeJson(DEV, `biomes/${BIOME}/config.json`);
    const text = await readFile(join(ws.root, `dist/terraform/${BIOME}.tfvars.json`), 'utf8');
    const run = await nx(
      'run',
      'infra:biome-config',
      `--biome=${BIOME}`,
      '--projects=assay-ingest',
      '--unset',
      'LOG_LEVEL',
      '--dry-run',
    );
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain(`[dry-run] assay-ingest in ${BIOME}: new record, same artifact`);
    expect(run.output).toContain('nothing was written');
    expect(await storeJson(DEV, `biomes/${BIOME}/config.json`)).toEqual(layer);
    expect(await readFile(join(ws.root, `dist/terraform/${BIOME}.tfvars.json`), 'utf8')).toBe(text);
  }, 300_000);

  it('the override survives a deploy of the same commit: unchanged, the configured record stays', async () => {
    const record = await storeJson(DEV, `biomes/${BIOME}/ledger/assay-ingest.json`);
    const run = await nx('run', 'assay-ingest:deploy', `--biome=${BIOME}`);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/assay-ingest → dev-cfg: unchanged/);
    expect(await storeJson(DEV, `biomes/${BIOME}/ledger/assay-ingest.json`)).toEqual(record);
    expect(record!.resolvedSettings.environment.LOG_LEVEL).toBe('debug');
  }, 300_000);

  it('--list shows every variable with its layer, secret references marked, and the data sets read', async () => {
    const run = await nx('run', 'infra:biome-config', `--biome=${BIOME}`, '--list');
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(
      /assay-ingest\s+│ DB_PASSWORD\s+│ ssm:\/geo\/dev\/db-password\s+│ biome \(secret reference\)/,
    );
    expect(run.output).toMatch(/grade-predict\s+│ LOG_LEVEL\s+│ info\s+│ project/);
    expect(run.output).toContain('s3://geo-datasets-dev-111111111111/training/ore-grade/');
  }, 300_000);

  it('--unset brings the project default back; the secret reference stays', async () => {
    const run = await nx(
      'run',
      'infra:biome-config',
      `--biome=${BIOME}`,
      '--projects=assay-ingest',
      '--unset',
      'LOG_LEVEL',
    );
    expect(run.code, run.output).toBe(0);
    const t = await tfvars();
    expect(t.services['assay-ingest'].environment).toMatchObject({
      LOG_LEVEL: 'info',
      DB_PASSWORD: 'ssm:/geo/dev/db-password',
    });
    const record = await storeJson(DEV, `biomes/${BIOME}/ledger/assay-ingest.json`);
    expect(record!.resolvedSettings.sources).toEqual({ DB_PASSWORD: 'biome', LOG_LEVEL: 'project' });
  }, 300_000);

  it('infra:biome-show lists the data sets each project reads', async () => {
    const run = await nx('run', 'infra:biome-show', `--biome=${BIOME}`);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('data sets read (read-only)');
    expect(run.output).toMatch(
      /assay-ingest\s+│ assay-reference\s+│ s3:\/\/geo-datasets-dev-111111111111\/assays\/reference\//,
    );
    expect(run.output).toMatch(
      /grade-predict\s+│ ore-training\s+│ s3:\/\/geo-datasets-dev-111111111111\/training\/ore-grade\//,
    );
  }, 300_000);
});

describe('bad input fails with a named error and writes nothing', () => {
  // More cases (AWS key ids, PEM blocks, other environments' parameters) are in tools/nx-biome/src/core/settings.spec.ts.
  it.each([
    [
      'a secret pasted as a plain value',
      ['--projects=assay-ingest', '--set', 'DB_PASSWORD=Tr0ub4dor&3horse'],
      'SETTING_LOOKS_SECRET',
      'ssm:/geo/dev/db-password',
    ],
    [
      'a key that is not an env var name',
      ['--projects=assay-ingest', '--set', 'log-level=debug'],
      'SETTING_INVALID',
      'LOG_LEVEL',
    ],
    [
      'a workflow instead of a service',
      ['--projects=plant-feed', '--set', 'LOG_LEVEL=debug'],
      'OPTIONS_INVALID',
      'assay-ingest',
    ],
  ])(
    '%s',
    async (_label, args, code, fix) => {
      const layer = await storeJson(DEV, `biomes/${BIOME}/config.json`);
      const record = await storeJson(DEV, `biomes/${BIOME}/ledger/assay-ingest.json`);
      const run = await nx('run', 'infra:biome-config', `--biome=${BIOME}`, ...args);
      expect(run.code).not.toBe(0);
      expect(run.output).toContain(`${code}:`);
      expect(run.output).toMatch(new RegExp(`fix: .*${fix.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
      expect(await storeJson(DEV, `biomes/${BIOME}/config.json`)).toEqual(layer);
      expect(await storeJson(DEV, `biomes/${BIOME}/ledger/assay-ingest.json`)).toEqual(record);
    },
    300_000,
  );

  it('a --set value without KEY= is refused without echoing it; --set __proto__=x is refused, not a silent no-op', async () => {
    const layer = await storeJson(DEV, `biomes/${BIOME}/config.json`);
    const noKey = await nx(
      'run',
      'infra:biome-config',
      `--biome=${BIOME}`,
      '--projects=assay-ingest',
      '--set',
      'hunter2hunter2hunter2',
    );
    expect(noKey.code).not.toBe(0);
    const refusal = noKey.output.split('\n').find((l) => l.includes('OPTIONS_INVALID:'))!;
    expect(refusal).toMatch(/--set value number 1 \(21 characters, not shown/);
    expect(refusal).not.toMatch(/hunter/);
    expect(noKey.output).toMatch(/fix: .*--setFromEnv=KEY/);
    const proto = await nx(
      'run',
      'infra:biome-config',
      `--biome=${BIOME}`,
      '--projects=assay-ingest',
      '--set',
      '__proto__=x',
    );
    expect(proto.code, proto.output).not.toBe(0);
    expect(proto.output).toContain('SETTING_INVALID: Setting "__proto__"');
    expect(await storeJson(DEV, `biomes/${BIOME}/config.json`)).toEqual(layer);
  }, 300_000);

  it('--setFromEnv keeps a value off the command line: a plain secret is refused without appearing anywhere in the output; a reference is saved', async () => {
    const record = await storeJson(DEV, `biomes/${BIOME}/ledger/assay-ingest.json`);
    const secret = 'Tr0ub4dor&3horseBatteryStaple';
    const refused = await ws.nx(
      [
        'run',
        'infra:biome-config',
        `--biome=${BIOME}`,
        '--projects=assay-ingest',
        '--setFromEnv=API_PASSWORD',
        '--output-style=static',
      ],
      { ...env, API_PASSWORD: secret },
    );
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain('SETTING_LOOKS_SECRET');
    expect(refused.output).not.toContain(secret);
    expect(await storeJson(DEV, `biomes/${BIOME}/ledger/assay-ingest.json`)).toEqual(record);
    // The refusal of a secret typed on the command line says it is exposed, and how to keep values off it.
    const typed = await nx(
      'run',
      'infra:biome-config',
      `--biome=${BIOME}`,
      '--projects=assay-ingest',
      '--set',
      `API_PASSWORD=${secret}`,
    );
    expect(typed.code).not.toBe(0);
    expect(typed.output).toMatch(/given on the command line, which Nx prints .*rotate it/);
    expect(typed.output).toMatch(/fix: .*--setFromEnv=KEY/);
    const saved = await ws.nx(
      [
        'run',
        'infra:biome-config',
        `--biome=${BIOME}`,
        '--projects=assay-ingest',
        '--setFromEnv=API_PASSWORD',
        '--output-style=static',
      ],
      { ...env, API_PASSWORD: 'ssm:/geo/dev/api-password' },
    );
    expect(saved.code, saved.output).toBe(0);
    // A value given through the environment stays out of the job log too: the log names where it came from.
    expect(saved.output).not.toContain('ssm:/geo/dev/api-password');
    expect(saved.output).toContain('API_PASSWORD=<from $API_PASSWORD>');
    expect((await tfvars()).services['assay-ingest'].environment.API_PASSWORD).toBe('ssm:/geo/dev/api-password');
    const cleanup = await nx(
      'run',
      'infra:biome-config',
      `--biome=${BIOME}`,
      '--projects=assay-ingest',
      '--unset',
      'API_PASSWORD',
    );
    expect(cleanup.code, cleanup.output).toBe(0);
  }, 300_000);

  it('a deploy of a service that reads an unknown data set fails before its record is written', async () => {
    const file = join(ws.root, 'apps/services/assay-ingest/project.json');
    const original = await readFile(file, 'utf8');
    await writeFile(
      file,
      original.replace('"dataSets": ["assay-reference"]', '"dataSets": ["assay-reference", "drill-logs"]'),
    );
    ws.git('commit', '-qam', 'assay-ingest reads drill logs');
    try {
      const record = await storeJson(DEV, `biomes/${BIOME}/ledger/assay-ingest.json`);
      const run = await nx('run', 'assay-ingest:deploy', `--biome=${BIOME}`);
      expect(run.code).not.toBe(0);
      expect(run.output).toContain(
        'DATA_SET_UNKNOWN: assay-ingest reads data set "drill-logs", which environment dev does not declare (it declares: assay-reference, ore-training)',
      );
      expect(run.output).toContain('environments.dev.dataSets');
      // Caught by the pre-run check: nothing was built or packaged.
      expect(run.output).not.toMatch(/nx run assay-ingest:(build|package)/);
      expect(await storeJson(DEV, `biomes/${BIOME}/ledger/assay-ingest.json`)).toEqual(record);
    } finally {
      await writeFile(file, original);
      ws.git('commit', '-qam', 'back to the reference assays only');
    }
  }, 300_000);
});

describe('promotion and data sets', () => {
  it("refuses when staging lacks a data set the biome reads, copying nothing; promotes once it is declared, with staging's own layers", async () => {
    const file = join(ws.root, 'nx-biome.json');
    const original = await readFile(file, 'utf8');
    const config = JSON.parse(original);
    delete config.environments.staging.dataSets['ore-training'];
    await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
    ws.git('commit', '-qam', 'staging without the training set');
    const refused = await nx('run', 'infra:promote', `--from=${BIOME}`, '--to=staging');
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain(
      'DATA_SET_MISSING: staging cannot run what dev-cfg runs: environment staging lacks data set "ore-training"',
    );
    expect(refused.output).toContain('grade-predict reads ore-training');
    expect(refused.output).toContain('fix: Declare ore-training under environments.staging.dataSets');
    expect(await storeKeys(STAGING, '')).toEqual([]);

    await writeFile(file, original);
    ws.git('commit', '-qam', 'staging has the training set again');
    const promoted = await nx('run', 'infra:promote', `--from=${BIOME}`, '--to=staging');
    expect(promoted.code, promoted.output).toBe(0);
    const t = await tfvars('staging');
    expect(t.data_set_bucket).toBe('geo-datasets-staging-222222222222');
    // dev-cfg's own layer (DB_PASSWORD=ssm:/geo/dev/…) stays in dev-cfg.
    expect(t.services['assay-ingest'].environment).not.toHaveProperty('DB_PASSWORD');
    expect(t.services['assay-ingest'].ssm_parameter_arns).toEqual([]);
    expect(t.services['grade-predict'].data_sets).toEqual({ 'ore-training': 'training/ore-grade' });
    const record = await storeJson(STAGING, 'biomes/staging/ledger/assay-ingest.json');
    expect(record!.resolvedSettings).toMatchObject({
      environment: { LOG_LEVEL: 'info' },
      dataSets: { 'assay-reference': 'assays/reference' },
    });
  }, 300_000);
});
