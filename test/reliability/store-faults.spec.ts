import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../tools/nx-biome/src/adapters/store/open-store';
import { StorePort } from '../../tools/nx-biome/src/adapters/store/store';
import { auditBiome, partialArtifacts } from '../faults/audit';
import { createDeployFixture, DeployFixture } from '../faults/fixture';
import { createFigures } from '../faults/figures';
import { FaultProxy, startFaultProxy } from '../faults/proxy';
import { S3rverProcess, startS3rverProcess } from '../faults/s3rver-process';

/*
 * Store faults through the real AWS SDK client and the plugin's real deploy
 * path (package, deploy and infra-deploy executors in-process), against
 * s3rver in a child process behind a fault-injecting TCP proxy.
 */

const BUCKET = 'geo-artifacts-dev';
const PROJECTS = ['ore-a', 'ore-b', 'ore-c', 'ore-d', 'ore-e'];
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const artifactPut = (project?: string) => ({ method: 'PUT', path: new RegExp(`/artifacts/${project ?? '[a-z-]+'}/`) });

let server: S3rverProcess;
let proxy: FaultProxy;
let fx: DeployFixture;
let baseEnv: Record<string, string>;
const figures = createFigures('store-faults');
const saved = { ...process.env };
let kills = 0;
/** True between a kill and the restart: a test that fails there must not leave the next one without a server. */
let serverDown = false;
let stores = 0;

/**
 * A store of the calling test's own: a fresh prefix per test and per attempt
 * (a retried test starts from an empty store too), so nothing a test or an
 * earlier attempt left (a partial object from a cut upload, a record) is seen
 * by another.
 */
function freshStore(): { env: Record<string, string>; store: StorePort } {
  const url = `s3://${BUCKET}/faults-${++stores}`;
  // The S3 client reads the endpoint and credentials from the process environment; the plugin the store URL from env.
  process.env.BIOME_STORE = url;
  return { env: { ...baseEnv, BIOME_STORE: url }, store: openStore(url, fx.root) };
}

/** Whatever a test did or failed to undo: no fault rule, a running server, a resumed proxy. */
afterEach(async () => {
  proxy?.clearRules();
  if (serverDown) {
    proxy.setUpstream(await server.restart());
    serverDown = false;
  }
});

beforeAll(async () => {
  server = await startS3rverProcess([BUCKET]);
  proxy = await startFaultProxy(server.port, 8);
  baseEnv = {
    AWS_ENDPOINT_URL_S3: proxy.endpoint,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  // The S3 client reads the endpoint and credentials from the process environment.
  Object.assign(process.env, baseEnv);
  fx = await createDeployFixture(PROJECTS.map((name) => ({ name, bytes: 160 * 1024 })));
  for (const p of PROJECTS) await fx.package(p);
});

afterAll(async () => {
  process.env = saved;
  figures.add('faultsInjected', (proxy?.faultsInjected() ?? 0) + kills);
  figures.note('requestsThroughProxy', proxy?.counts.requests);
  figures.note('faultCounts', { ...proxy?.counts, serverKills: kills });
  figures.note('multipartRequests', proxy?.requests({ path: /[?&](uploads|uploadId)/ }).length);
  await figures.write();
  await proxy?.close();
  await server?.stop();
  await fx?.cleanup();
});

async function manifestSha(project: string): Promise<string> {
  return JSON.parse(await readFile(join(fx.root, 'dist/artifacts', `${project}.manifest.json`), 'utf8')).sha256;
}

/** After every fault: nothing partial in the store, no record pointing at anything but complete bytes. */
async function expectStoreSound(store: StorePort, biome: string, expected: string[]) {
  const audit = await auditBiome(store, biome);
  const partial = await partialArtifacts(store);
  const recorded = audit.records.map((r) => r.project).sort();
  figures.add('danglingRecords', audit.dangling.length);
  figures.add('partialArtifacts', partial.length);
  figures.add('recordsLost', expected.filter((p) => !recorded.includes(p)).length);
  expect(audit.dangling).toEqual([]);
  expect(partial).toEqual([]);
  expect(recorded).toEqual(expect.arrayContaining(expected));
  return audit;
}

describe('a connection cut mid-upload', () => {
  it('is retried by the SDK: the object is complete with the right sha256 and the record points at it', async () => {
    const { env, store } = freshStore();
    const from = proxy.seen.length;
    proxy.addRule({ match: artifactPut('ore-a'), action: { kind: 'cut', afterBytes: 40_000 }, times: 2 });
    const result = await fx.deploy('ore-a', 'dev-cut', env);
    proxy.clearRules();
    expect(result.outcome).toBe('uploaded');
    const puts = proxy.requests(artifactPut('ore-a'), from);
    expect(puts.map((r) => r.fault ?? 'ok')).toEqual(['cut', 'cut', 'ok']);
    // One API call, three attempts: the SDK's own retry, not a second deploy.
    expect(new Set(puts.map((r) => r.invocationId)).size).toBe(1);
    expect(puts.map((r) => r.attempt)).toEqual([1, 2, 3]);
    expect(sha256((await store.get(result.key))!)).toBe(await manifestSha('ore-a'));
    await expectStoreSound(store, 'dev-cut', ['ore-a']);
  });

  it('on every attempt: the deploy fails naming the store and writes no record; a re-run replaces what the cut left and records only verified bytes', async () => {
    const { env, store } = freshStore();
    const from = proxy.seen.length;
    proxy.addRule({ match: artifactPut('ore-b'), action: { kind: 'cut', afterBytes: 30_000 } });
    const error = await fx.deploy('ore-b', 'dev-cut', env).then(
      () => undefined,
      (e) => e,
    );
    proxy.clearRules();
    expect(error?.code).toBe('STORE_UNREACHABLE');
    expect(error.message).toContain(env.BIOME_STORE);
    expect(error.hint).toMatch(/nothing was recorded/);
    // The SDK gave up after its configured attempts (6), each one cut.
    expect(proxy.requests(artifactPut('ore-b'), from).map((r) => r.fault)).toEqual(Array(6).fill('cut'));
    expect(await store.get('biomes/dev-cut/ledger/ore-b.json')).toBeUndefined();
    const audit = await auditBiome(store, 'dev-cut');
    expect(audit.dangling).toEqual([]);
    expect(audit.records.map((r) => r.project)).not.toContain('ore-b');
    // s3rver keeps the bytes that arrived before the cut, with the metadata of the
    // whole object (its sha256 included): a store can claim to hold what it does not.
    figures.note('partialObjectLeftByServerAfterCut', (await partialArtifacts(store)).length);

    // The re-run, in the same store: the partial object is replaced, never trusted.
    const result = await fx.deploy('ore-b', 'dev-cut', env);
    expect(result.outcome).toBe('uploaded');
    expect(sha256((await store.get(result.key))!)).toBe(await manifestSha('ore-b'));
    await expectStoreSound(store, 'dev-cut', ['ore-b']);
  });
});

describe('the server killed mid-run', () => {
  it('restarted within the retry window: the same run completes', async () => {
    const { env, store } = freshStore();
    proxy.addRule({ match: artifactPut('ore-c'), action: { kind: 'stall', afterBytes: 50_000 }, times: 1 });
    const seen = proxy.waitFor(artifactPut('ore-c'));
    const run = fx.deploy('ore-c', 'dev-blip', env);
    await seen;
    proxy.suspend();
    serverDown = true;
    await server.kill();
    kills++;
    proxy.dropConnections();
    proxy.setUpstream(await server.restart());
    serverDown = false;
    const result = await run;
    proxy.clearRules();
    expect(result.outcome).toBe('uploaded');
    await expectStoreSound(store, 'dev-blip', ['ore-c']);
  });

  it('down for the rest of the run: the run fails, and a re-run after the restart uploads only what is missing', async () => {
    const { env, store } = freshStore();
    const biome = 'dev-kill';
    proxy.addRule({ match: artifactPut('ore-d'), action: { kind: 'stall', afterBytes: 60_000 }, times: 1 });
    const seen = proxy.waitFor(artifactPut('ore-d'));
    const runs = PROJECTS.map((p) => fx.deploy(p, biome, env));
    await seen;
    serverDown = true;
    await server.kill();
    kills++;
    proxy.dropConnections();
    const first = await Promise.allSettled(runs);
    proxy.clearRules();
    expect(first[PROJECTS.indexOf('ore-d')].status).toBe('rejected');
    for (const r of first) if (r.status === 'rejected') expect(r.reason.code).toBe('STORE_UNREACHABLE');
    proxy.setUpstream(await server.restart());
    serverDown = false;

    // What the crash left: records only for complete artifacts. The server itself may
    // leave a partial object (s3rver writes in place); the re-run must complete it.
    const before = await auditBiome(store, biome);
    expect(before.dangling).toEqual([]);
    const recorded = before.records.map((r) => r.project);
    const partial = (await partialArtifacts(store)).map((k) => k.split('/')[1]);
    const missing: string[] = [];
    for (const p of PROJECTS) {
      const file = JSON.parse(await readFile(join(fx.root, 'dist/artifacts', `${p}.manifest.json`), 'utf8')).file;
      if (!(await store.head(`artifacts/${p}/${file}`)) || partial.includes(p)) missing.push(p);
    }
    expect(missing).toContain('ore-d');
    expect(recorded.filter((p) => missing.includes(p))).toEqual([]);

    const from = proxy.seen.length;
    const again = await Promise.all(PROJECTS.map((p) => fx.deploy(p, biome, env)));
    const uploadedNow = [
      ...new Set(proxy.requests(artifactPut(), from).map((r) => /\/artifacts\/([a-z-]+)\//.exec(r.path)![1])),
    ].sort();
    expect(uploadedNow).toEqual(missing.sort());
    for (const r of again) {
      expect(r.outcome).toBe(
        recorded.includes(r.project) ? 'unchanged' : missing.includes(r.project) ? 'uploaded' : 'present',
      );
    }
    await expectStoreSound(store, biome, PROJECTS);
    figures.note('killRun', {
      recordedBeforeRerun: recorded,
      missingOrPartialBeforeRerun: missing,
      partialLeftByServer: partial,
    });
  });

  it('never starts a multipart upload, so none can be left incomplete', async () => {
    // Artifacts go up as one PutObject (s3rver does not implement ListMultipartUploads;
    // the proxy saw every request of this file instead).
    expect(proxy.requests({ path: /[?&](uploads|uploadId)/ })).toEqual([]);
    expect(proxy.requests(artifactPut()).length).toBeGreaterThan(0);
  });
});
