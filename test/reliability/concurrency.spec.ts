import { execFileSync } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../tools/nx-biome/src/adapters/store/open-store';
import { StorePort } from '../../tools/nx-biome/src/adapters/store/store';
import { auditBiome, partialArtifacts } from '../faults/audit';
import { createDeployFixture, DeployFixture, noise } from '../faults/fixture';
import { createFigures } from '../faults/figures';
import { FaultProxy, startFaultProxy } from '../faults/proxy';
import { startS3rver, S3Server } from '../support/s3rver';

/*
 * Throttling and concurrency through the real AWS SDK client and the
 * plugin's deploy and render code, in-process, against s3rver behind the
 * fault proxy.
 */

const BUCKET = 'geo-artifacts-dev';
const PROJECTS = ['mill-a', 'mill-b', 'mill-c', 'mill-d', 'mill-e'];

let server: S3Server;
let proxy: FaultProxy;
let fx: DeployFixture;
let env: Record<string, string>;
let store: StorePort;
const figures = createFigures('concurrency');
const saved = { ...process.env };

beforeAll(async () => {
  server = await startS3rver([BUCKET]);
  proxy = await startFaultProxy(server.port, 30);
  env = { ...server.env, AWS_ENDPOINT_URL_S3: proxy.endpoint, BIOME_STORE: `s3://${BUCKET}/conc` };
  Object.assign(process.env, env);
  fx = await createDeployFixture(PROJECTS.map((name) => ({ name, bytes: 96 * 1024 })));
  for (const p of PROJECTS) await fx.package(p);
  store = openStore(env.BIOME_STORE, fx.root);
});

let stores = 0;

/**
 * Every test, and every retry of one, deploys into a store prefix of its own:
 * artifacts are shared between biomes by key, so a shared store would let one
 * test's uploads (or a partial object a fault left) change what the next sees.
 */
beforeEach(() => {
  env = { ...env, BIOME_STORE: `s3://${BUCKET}/conc-${++stores}` };
  process.env.BIOME_STORE = env.BIOME_STORE;
  store = openStore(env.BIOME_STORE, fx.root);
});

/** A test that failed before clearing its fault rules must not leave them to the next one. */
afterEach(() => {
  proxy?.clearRules();
});

afterAll(async () => {
  process.env = saved;
  figures.add('faultsInjected', proxy?.faultsInjected() ?? 0);
  figures.note('faultCounts', { ...proxy?.counts });
  await figures.write();
  await proxy?.close();
  await server?.stop();
  await fx?.cleanup();
});

/** Runs deploys with at most `limit` at once (what `nx run-many --parallel=<limit>` does with processes). */
async function deployAll(projects: string[], biome: string, limit: number) {
  const results: { project: string; ok: boolean; error?: { code: string; message: string } }[] = [];
  const queue = [...projects];
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let p = queue.shift(); p; p = queue.shift()) {
        try {
          await fx.deploy(p, biome, env);
          results.push({ project: p, ok: true });
        } catch (e) {
          results.push({ project: p, ok: false, error: e as { code: string; message: string } });
        }
      }
    }),
  );
  return results.sort((a, b) => (a.project < b.project ? -1 : 1));
}

async function expectSound(biome: string, expected: string[]) {
  const audit = await auditBiome(store, biome);
  const recorded = audit.records.map((r) => r.project).sort();
  figures.add('danglingRecords', audit.dangling.length);
  figures.add('recordsLost', expected.filter((p) => !recorded.includes(p)).length);
  const partial = await partialArtifacts(store);
  figures.add('partialArtifacts', partial.length);
  expect(audit.dangling).toEqual([]);
  expect(partial).toEqual([]);
  return recorded;
}

describe('30% of requests answered 503 SlowDown', () => {
  it('deploys with bounded concurrency and jittered retries: success, or exactly the projects without a record fail', async () => {
    const from = proxy.seen.length;
    proxy.addRule({ action: { kind: 'slowDown' }, rate: 0.3 });
    const results = await deployAll(PROJECTS.slice(0, 3), 'dev-slow', 2);
    proxy.clearRules();
    const seen = proxy.seen.slice(from);
    const slowed = seen.filter((r) => r.fault === 'slowDown').length;
    // 30% on average; a short run can draw fewer, so only require that faults clearly happened.
    expect(slowed / seen.length).toBeGreaterThan(0.1);
    // Two deploys at a time, each one request at a time: never more than two requests in flight.
    expect(proxy.maxInFlight).toBeLessThanOrEqual(2);
    // Every throttled call was retried by the SDK with a backoff that varies (jitter), never at once.
    const byCall = new Map<string, number[]>();
    for (const r of seen) if (r.invocationId) byCall.set(r.invocationId, [...(byCall.get(r.invocationId) ?? []), r.at]);
    const gaps = [...byCall.values()].filter((t) => t.length > 1).map((t) => t[1] - t[0]);
    expect(gaps.length).toBeGreaterThan(2);
    expect(new Set(gaps).size).toBeGreaterThan(1);
    expect(Math.max(...seen.filter((r) => r.attempt).map((r) => r.attempt!))).toBeGreaterThan(1);
    const recorded = await expectSound(
      'dev-slow',
      results.filter((r) => r.ok).map((r) => r.project),
    );
    const failed = results.filter((r) => !r.ok).map((r) => r.project);
    expect(PROJECTS.slice(0, 3).filter((p) => !recorded.includes(p))).toEqual(failed);
    for (const r of results.filter((x) => !x.ok)) expect(r.error?.code).toBe('STORE_UNREACHABLE');
    figures.note('slowDown30', {
      requests: seen.length,
      slowed,
      retriedCalls: gaps.length,
      failed,
      maxInFlight: proxy.maxInFlight,
    });
  });

  it('when throttling outlasts the retries: a non-zero result that lists exactly what was not published, and a re-run completes', async () => {
    proxy.addRule({
      match: { path: /\/(artifacts|biomes\/dev-throttled\/(ledger|history))\/mill-[de]\b/ },
      action: { kind: 'slowDown' },
    });
    const started = Date.now();
    const results = await deployAll(['mill-c', 'mill-d', 'mill-e'], 'dev-throttled', 3);
    figures.note('throttledRunMs', Date.now() - started);
    proxy.clearRules();
    expect(results.filter((r) => !r.ok).map((r) => r.project)).toEqual(['mill-d', 'mill-e']);
    for (const r of results.filter((x) => !x.ok)) {
      expect(r.error?.code).toBe('STORE_UNREACHABLE');
      expect(r.error?.message).toMatch(/SlowDown|503/);
    }
    expect(await expectSound('dev-throttled', ['mill-c'])).toEqual(['mill-c']);
    const again = await deployAll(['mill-d', 'mill-e'], 'dev-throttled', 2);
    expect(again.every((r) => r.ok)).toBe(true);
    expect(await expectSound('dev-throttled', ['mill-c', 'mill-d', 'mill-e'])).toEqual(['mill-c', 'mill-d', 'mill-e']);
  });
});

describe('concurrent deploys and renders', () => {
  it('two deploys of one biome at once lose no record, and the last tfvars covers both', async () => {
    // A second commit with new bytes for two projects: deploy "B" changes them while "A" renders.
    await fx.deploy('mill-a', 'dev-race', env);
    await fx.deploy('mill-b', 'dev-race', env);
    for (const p of ['mill-a', 'mill-b'])
      await writeFile(join(fx.root, 'dist/apps/services', p, 'index.js'), noise(`${p}-v2`, 96 * 1024));
    execFileSync('git', ['commit', '-q', '--allow-empty', '-m', 'v2'], { cwd: fx.root });
    for (const p of ['mill-a', 'mill-b']) await fx.package(p);

    // Deploy A renders the biome, but the store's answer to its ledger listing arrives late.
    const ledgerPrefix = encodeURIComponent(`${env.BIOME_STORE.replace(`s3://${BUCKET}/`, '')}/biomes/dev-race/ledger`);
    proxy.addRule({
      match: { method: 'GET', path: new RegExp(`list-type=2.*prefix=${ledgerPrefix}`) },
      action: { kind: 'delay', ms: 700, phase: 'response' },
      times: 1,
    });
    const listed = proxy.waitFor({ method: 'GET', path: new RegExp(`prefix=${ledgerPrefix}`) });
    const renderA = fx.render('dev-race', env);
    await listed;
    // Meanwhile deploy B records new versions of mill-a and mill-b, adds mill-c, and renders.
    await Promise.all([
      fx.deploy('mill-a', 'dev-race', env),
      fx.deploy('mill-b', 'dev-race', env),
      fx.deploy('mill-c', 'dev-race', env),
    ]);
    await fx.render('dev-race', env);
    await renderA;
    proxy.clearRules();

    const audit = await auditBiome(store, 'dev-race');
    const tfvars = JSON.parse(await readFile(join(fx.root, 'dist/terraform/dev-race.tfvars.json'), 'utf8'));
    for (const r of audit.records) expect(tfvars.services[r.project]?.s3_key, r.project).toBe(r.artifactKey);
    expect(Object.keys(tfvars.services).sort()).toEqual(['mill-a', 'mill-b', 'mill-c']);
    expect((await readdir(join(fx.root, 'dist/terraform'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await expectSound('dev-race', ['mill-a', 'mill-b', 'mill-c']);
  });

  it('deploys of two biomes at once do not interfere', async () => {
    // The artifacts are in the store first, as after any earlier deploy: s3rver writes an object in place, so a
    // writer that finds the key taken and reads it back can see the other writer's upload half-done (ARTIFACT_CORRUPT),
    // which S3's atomic PUT never shows. This test is about the two biomes' records and tfvars.
    expect((await deployAll(PROJECTS, 'dev-seed', 1)).filter((r) => !r.ok)).toEqual([]);
    const [a, b] = await Promise.all([deployAll(PROJECTS, 'dev-left', 3), deployAll(PROJECTS, 'dev-right', 3)]);
    expect([...a, ...b].filter((r) => !r.ok)).toEqual([]);
    await Promise.all([fx.render('dev-left', env), fx.render('dev-right', env)]);
    for (const [biome, other] of [
      ['dev-left', 'dev-right'],
      ['dev-right', 'dev-left'],
    ]) {
      expect(await expectSound(biome, PROJECTS)).toEqual(PROJECTS);
      const audit = await auditBiome(store, biome);
      expect(audit.records.every((r) => r.biome === biome)).toBe(true);
      const text = await readFile(join(fx.root, `dist/terraform/${biome}.tfvars.json`), 'utf8');
      expect(JSON.parse(text).biome).toBe(biome);
      expect(text).not.toContain(other);
      expect(Object.keys(JSON.parse(text).services).sort()).toEqual(PROJECTS);
    }
  });
});
