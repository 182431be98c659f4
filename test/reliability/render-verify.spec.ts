import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../tools/nx-biome/src/adapters/store/open-store';
import { StorePort } from '../../tools/nx-biome/src/adapters/store/store';
import { ledgerKey } from '../../tools/nx-biome/src/core/ledger';
import { readRecord } from '../../tools/nx-biome/src/operations/ledger-store';
import { renderBiomeTfvars, tfvarsPath } from '../../tools/nx-biome/src/operations/render';
import { createDeployFixture, DeployFixture } from '../faults/fixture';
import { createFigures } from '../faults/figures';
import { startS3rver, S3Server } from '../support/s3rver';

/*
 * The render (infra:deploy, and the end of every deploy run, through the
 * same finishBiome) checks every record's artifact in the store before it
 * writes tfvars: a tampered, swapped or missing artifact fails the render
 * with ARTIFACT_UNVERIFIED naming each project, and the tfvars stay as they
 * were. Against the folder store and s3rver, through the real executors.
 */

const PROJECTS = ['vein-a', 'vein-b', 'vein-c'];
const figures = createFigures('render-verify');

describe.each([
  ['the folder store', false],
  ['S3 (s3rver)', true],
])('render verifies artifacts on %s', (_label, useS3) => {
  let server: S3Server | undefined;
  let fx: DeployFixture;
  let env: Record<string, string>;
  let store: StorePort;
  let biomeCount = 0;
  const saved = { ...process.env };

  beforeAll(async () => {
    fx = await createDeployFixture(
      PROJECTS.map((name) => ({ name, bytes: 16 * 1024 })),
      'render-verify-',
    );
    if (useS3) {
      server = await startS3rver(['geo-render']);
      env = { ...server.env, BIOME_STORE: 's3://geo-render/store' };
    } else {
      env = { BIOME_STORE: `file://${join(fx.root, '.biome-store')}` };
    }
    Object.assign(process.env, env);
    store = openStore(env.BIOME_STORE, fx.root);
    for (const p of PROJECTS) await fx.package(p);
  }, 120_000);
  afterAll(async () => {
    process.env = saved;
    await figures.write();
    await server?.stop();
    await fx?.cleanup();
  });

  /** A fresh biome with every project deployed and rendered once. */
  async function deployedBiome(): Promise<{ biome: string; path: string; before: string }> {
    const biome = `dev-rv${++biomeCount}`;
    for (const p of PROJECTS) await fx.deploy(p, biome, env);
    await fx.render(biome, env);
    const path = tfvarsPath(fx.root, biome);
    return { biome, path, before: await readFile(path, 'utf8') };
  }

  const renderFails = async (biome: string) => {
    const error = await fx.render(biome, env).then(
      () => undefined,
      (e: { code?: string; message: string; hint?: string }) => e,
    );
    expect(error, 'the render must fail').toBeDefined();
    return error!;
  };

  it('an intact biome renders, with one HEAD per record, all in flight at once', async () => {
    const { biome } = await deployedBiome();
    let heads = 0;
    let inFlight = 0;
    let peak = 0;
    const counting: StorePort = {
      ...store,
      url: store.url,
      head: async (key, o) => {
        heads++;
        peak = Math.max(peak, ++inFlight);
        try {
          return await store.head(key, o);
        } finally {
          inFlight--;
        }
      },
    };
    const rendered = await renderBiomeTfvars({
      store: counting,
      config: fx.config,
      biome: { ...(await import('../../tools/nx-biome/src/core/names')).parseBiomeName(biome, fx.config) },
      workspaceRoot: fx.root,
    });
    expect(rendered.records.map((r) => r.project)).toEqual(PROJECTS);
    expect(heads).toBe(PROJECTS.length);
    expect(peak).toBe(PROJECTS.length);
  });

  it('an artifact whose bytes were altered (same size, metadata still vouching) fails the render; tfvars unchanged', async () => {
    const { biome, path, before } = await deployedBiome();
    const record = (await readRecord(store, biome, 'vein-b'))!;
    const original = (await store.get(record.artifactKey))!;
    const originalHead = (await store.head(record.artifactKey))!;
    const tampered = Buffer.from(original);
    tampered[100] ^= 0xff;
    // Written as a tamperer would: the recorded sha256 in the metadata, no MD5 for the ETag check.
    await store.put(record.artifactKey, tampered, { metadata: { sha256: record.sha256 } });
    const error = await renderFails(biome);
    await store.put(record.artifactKey, original, { metadata: originalHead.metadata });
    figures.add('badInputs', 1);
    expect(error.code).toBe('ARTIFACT_UNVERIFIED');
    expect(error.message).toContain(`vein-b: ${record.artifactKey} holds other bytes`);
    expect(error.message).not.toContain('vein-a:');
    expect(error.hint).toContain('--projects=vein-b');
    expect(await readFile(path, 'utf8')).toBe(before);
  });

  it("a record pointing at another build's key fails the render", async () => {
    const { biome, path, before } = await deployedBiome();
    const a = (await readRecord(store, biome, 'vein-a'))!;
    const other = `artifacts/vein-a/vein-a-${'e'.repeat(40)}.zip`;
    await store.put(other, Buffer.from('another build of vein-a'), { metadata: { sha256: 'f'.repeat(64) } });
    await store.put(ledgerKey(biome, 'vein-a'), Buffer.from(JSON.stringify({ ...a, artifactKey: other })));
    const error = await renderFails(biome);
    figures.add('badInputs', 1);
    expect(error.code).toBe('ARTIFACT_UNVERIFIED');
    expect(error.message).toContain(`vein-a: ${other} holds other bytes`);
    expect(await readFile(path, 'utf8')).toBe(before);
  });

  it('missing artifacts fail the render listing every project; nothing is written for a first render either', async () => {
    const { biome, path } = await deployedBiome();
    const keys = await Promise.all(
      ['vein-a', 'vein-c'].map(async (p) => (await readRecord(store, biome, p))!.artifactKey),
    );
    await store.delete(keys);
    await rm(path);
    const error = await renderFails(biome);
    figures.add('badInputs', 1);
    expect(error.code).toBe('ARTIFACT_UNVERIFIED');
    expect(error.message).toContain(`vein-a: ${keys[0]} is missing`);
    expect(error.message).toContain(`vein-c: ${keys[1]} is missing`);
    expect(error.message).not.toContain('vein-b:');
    expect(error.hint).toContain('--projects=vein-a,vein-c');
    await expect(stat(path)).rejects.toThrow();
    // The fix the error names works: the deploys upload the artifacts again, and the render succeeds.
    for (const p of ['vein-a', 'vein-c']) expect((await fx.deploy(p, biome, env)).outcome).toBe('restored');
    await fx.render(biome, env);
    expect(JSON.parse(await readFile(path, 'utf8')).services['vein-a']).toBeDefined();
  });
});
