import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseWorkspaceConfig } from '../core/config';
import { parseBiomeName } from '../core/names';
import { createFileStore } from '../adapters/store/file-store';
import { StorePort } from '../adapters/store/store';
import { createGit } from '../adapters/git';
import { Deps } from './context';
import { deployProject } from './deploy';
import { readRecord } from './ledger-store';
import { rollbackBiome } from './rollback';
import { configureBiome } from './settings';

/**
 * Settings against a real temp-folder store: biome-config writes records that
 * keep the artifact, a deploy keeps the override, and a rollback takes the
 * code back but keeps the biome's current overrides.
 */

const config = parseWorkspaceConfig({
  namePrefix: 'geo',
  promotionOrder: ['dev', 'staging'],
  environments: {
    dev: {
      account: '111111111111',
      region: 'ap-southeast-2',
      multiTenant: true,
      dataSets: { 'assay-reference': { prefix: 'assays/reference', description: 'd', owner: 'o' } },
    },
    staging: { account: '222222222222', region: 'ap-southeast-2' },
  },
});
const biome = parseBiomeName('dev-bob', config);
const C1 = '1'.repeat(40);
const C2 = '2'.repeat(40);

let root: string;
let store: StorePort;
let clock: number;
const now = () => new Date((clock += 60_000));

async function deploy(gitSha: string) {
  const body = Buffer.from(`assay-ingest@${gitSha}\n`.repeat(20));
  const sha256 = createHash('sha256').update(body).digest('hex');
  const manifest = {
    project: 'assay-ingest',
    kind: 'service' as const,
    file: `assay-ingest-${gitSha}.zip`,
    sha256,
    size: body.length,
    gitSha,
    dirty: false,
    dirtyFiles: [],
    settings: { dataSets: ['assay-reference'], environment: { LOG_LEVEL: 'info' } },
  };
  return deployProject({
    store,
    config,
    biome,
    manifest,
    readBody: async () => body,
    now: now(),
    deployedBy: 'amy',
    allowDirty: false,
    dryRun: false,
  });
}

const configure = (set: Record<string, string>, unset: string[] = [], dryRun = false) =>
  configureBiome({
    store,
    config,
    biome,
    change: { projects: ['assay-ingest'], set, unset },
    workspaceRoot: root,
    now: now(),
    by: 'amy',
    dryRun,
  });

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'settings-op-'));
  store = createFileStore(join(root, 'store'));
  clock = Date.parse('2026-11-30T00:00:00.000Z');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('configureBiome', () => {
  it('a dry run writes nothing; a change writes the layer and a record with the same artifact, and renders tfvars', async () => {
    await deploy(C1);
    const before = await readRecord(store, 'dev-bob', 'assay-ingest');
    const dry = await configure({ LOG_LEVEL: 'debug' }, [], true);
    expect(dry.updates.map((u) => u.project)).toEqual(['assay-ingest']);
    expect(await store.get('biomes/dev-bob/config.json')).toBeUndefined();
    expect(await readRecord(store, 'dev-bob', 'assay-ingest')).toEqual(before);

    const done = await configure({ LOG_LEVEL: 'debug' });
    const after = await readRecord(store, 'dev-bob', 'assay-ingest');
    expect(after).toMatchObject({
      artifactKey: before!.artifactKey,
      sha256: before!.sha256,
      origin: { action: 'configure' },
      resolvedSettings: { environment: { LOG_LEVEL: 'debug' } },
    });
    const tfvars = JSON.parse(await readFile(done.tfvarsPath, 'utf8'));
    expect(tfvars.services['assay-ingest'].environment.LOG_LEVEL).toBe('debug');
    // Setting the same value again changes nothing.
    expect((await configure({ LOG_LEVEL: 'debug' })).updates).toEqual([]);
  });

  it('a deploy of the same bytes keeps the override (unchanged); a new commit is deployed with it', async () => {
    await deploy(C1);
    await configure({ LOG_LEVEL: 'debug' });
    expect((await deploy(C1)).outcome).toBe('unchanged');
    await deploy(C2);
    expect((await readRecord(store, 'dev-bob', 'assay-ingest'))!.resolvedSettings!.environment.LOG_LEVEL).toBe('debug');
  });

  it('a rollback restores the earlier artifact and keeps the current overrides', async () => {
    await deploy(C1);
    await deploy(C2);
    await configure({ LOG_LEVEL: 'debug', FEATURE_FLAG: 'on' });
    const deps: Deps = {
      storeFor: () => store,
      git: createGit(root),
      now,
      env: { BIOME_DEPLOYED_BY: 'amy' },
      log: () => undefined,
    };
    await rollbackBiome({ store, config, biome, projects: ['assay-ingest'], deps, workspaceRoot: root, dryRun: false });
    const record = await readRecord(store, 'dev-bob', 'assay-ingest');
    expect(record).toMatchObject({ gitSha: C1, origin: { action: 'rollback' } });
    expect(record!.resolvedSettings!.environment).toEqual({ FEATURE_FLAG: 'on', LOG_LEVEL: 'debug' });
  });

  it('two biome-config runs at once both keep their setting (the biome lease serialises them)', async () => {
    await deploy(C1);
    await Promise.all([configure({ LOG_LEVEL: 'debug' }), configure({ FEATURE_FLAG: 'on' })]);
    const layer = JSON.parse((await store.get('biomes/dev-bob/config.json'))!.toString('utf8'));
    expect(JSON.stringify(layer)).toContain('LOG_LEVEL');
    expect(JSON.stringify(layer)).toContain('FEATURE_FLAG');
    expect((await readRecord(store, 'dev-bob', 'assay-ingest'))!.resolvedSettings!.environment).toMatchObject({
      LOG_LEVEL: 'debug',
      FEATURE_FLAG: 'on',
    });
  });

  it('a biome-config saved while a deploy publishes is in the record and tfvars the deploy leaves', async () => {
    await deploy(C1);
    const body = Buffer.from(`assay-ingest@${C2}\n`.repeat(20));
    const sha256 = createHash('sha256').update(body).digest('hex');
    const manifest = {
      project: 'assay-ingest',
      kind: 'service' as const,
      file: `assay-ingest-${C2}.zip`,
      sha256,
      size: body.length,
      gitSha: C2,
      dirty: false,
      dirtyFiles: [],
      settings: { dataSets: ['assay-reference'], environment: { LOG_LEVEL: 'info' } },
    };
    let configuring: ReturnType<typeof configure> | undefined;
    const readBody = async () => {
      // biome-config runs while this deploy uploads: it waits for the deploy's lease, or (before) ran straight through.
      configuring = configure({ LOG_LEVEL: 'debug' });
      await Promise.race([configuring, new Promise((resolve) => setTimeout(resolve, 3000))]);
      return body;
    };
    await deployProject({
      store,
      config,
      biome,
      manifest,
      readBody,
      now: now(),
      deployedBy: 'amy',
      allowDirty: false,
      dryRun: false,
    });
    const done = await configuring!;
    const record = await readRecord(store, 'dev-bob', 'assay-ingest');
    expect(record).toMatchObject({ gitSha: C2, resolvedSettings: { environment: { LOG_LEVEL: 'debug' } } });
    const tfvars = JSON.parse(await readFile(done.tfvarsPath, 'utf8'));
    expect(tfvars.services['assay-ingest'].environment.LOG_LEVEL).toBe('debug');
  });
});
