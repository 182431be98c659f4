import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../tools/nx-biome/src/adapters/store/open-store';
import { StorePort } from '../../tools/nx-biome/src/adapters/store/store';
import { readLedger } from '../../tools/nx-biome/src/operations/ledger-store';
import { auditBiome } from '../faults/audit';
import { createDeployFixture, DeployFixture } from '../faults/fixture';
import { createFigures } from '../faults/figures';
import { FaultProxy, startFaultProxy } from '../faults/proxy';
import { startS3rver, S3Server } from '../support/s3rver';
import { WORKSPACE_ROOT } from '../support/workspace';

/*
 * Lifecycle commands racing deploys, as separate processes: a destroy runs
 * in a child process (the plugin's executor, real dependencies) while this
 * process deploys, all through the real AWS SDK against s3rver behind the
 * fault proxy. The proxy holds the destroy's DeleteObjects back for a few
 * seconds, so the overlap happens on every run, not by luck.
 */

const BUCKET = 'geo-artifacts-dev';
const PROJECTS = ['vein-a', 'vein-b', 'vein-c'];
const HOLD_MS = 6000;

let server: S3Server;
let proxy: FaultProxy;
let fx: DeployFixture;
let env: Record<string, string>;
let store: StorePort;
const figures = createFigures('lifecycle-races');
const saved = { ...process.env };

beforeAll(async () => {
  server = await startS3rver([BUCKET]);
  proxy = await startFaultProxy(server.port, 7);
  env = {
    ...server.env,
    AWS_ENDPOINT_URL_S3: proxy.endpoint,
    BIOME_STORE: `s3://${BUCKET}/races`,
    BIOME_LOCK_WAIT_SECONDS: '120',
  };
  Object.assign(process.env, env);
  fx = await createDeployFixture(
    [...PROJECTS, 'vein-d'].map((name) => ({ name, bytes: 32 * 1024 })),
    'lifecycle-races-',
  );
  for (const p of [...PROJECTS, 'vein-d']) await fx.package(p);
  store = openStore(env.BIOME_STORE, fx.root);
}, 300_000);

let stores = 0;

/**
 * Every test, and every retry of one, deploys into a store prefix of its own:
 * artifacts are shared between biomes by key, so a shared store would let one
 * test's uploads (or a partial object a fault left) change what the next sees.
 */
beforeEach(() => {
  env = { ...env, BIOME_STORE: `s3://${BUCKET}/races-${++stores}` };
  process.env.BIOME_STORE = env.BIOME_STORE;
  store = openStore(env.BIOME_STORE, fx.root);
});

/** A test that failed before clearing its fault rules must not leave them to the next one. */
afterEach(() => {
  proxy?.clearRules();
});

afterAll(async () => {
  process.env = saved;
  await figures.write();
  await proxy?.close();
  await server?.stop();
  await fx?.cleanup();
});

/** A lifecycle command in a child process (see lifecycle-worker.ts). */
function runWorker(command: string, options: Record<string, unknown>): Promise<{ code: number; output: string }> {
  const child = spawn(
    process.execPath,
    ['-r', '@swc-node/register', join(__dirname, 'lifecycle-worker.ts'), command, fx.root, JSON.stringify(options)],
    {
      cwd: WORKSPACE_ROOT,
      env: { ...process.env, ...env, BIOME_DEPLOYED_BY: 'reaper' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, output })));
}

/** Deploys each project, keeping going after a failure; returns the failures. */
async function deployEach(
  projects: string[],
  biome: string,
): Promise<{ project: string; code?: string; message: string }[]> {
  const failed: { project: string; code?: string; message: string }[] = [];
  await Promise.all(
    projects.map((p) =>
      fx.deploy(p, biome, env).catch((e: { code?: string; message: string }) => {
        failed.push({ project: p, code: e.code, message: e.message });
      }),
    ),
  );
  return failed;
}

const deleteObjects = { method: 'POST', path: /[?&]delete/ };

describe('destroy racing deploys, in separate processes', () => {
  it('GC: a destroy never deletes an artifact that another biome records while the delete is in flight; a re-run converges', async () => {
    expect(await deployEach(PROJECTS, 'dev-old')).toEqual([]);
    proxy.addRule({ match: deleteObjects, action: { kind: 'delay', ms: HOLD_MS, phase: 'request' }, times: 1 });
    const destroy = runWorker('biome-destroy', { biome: 'dev-old' });
    // The destroy has planned and its DeleteObjects is on the wire (held by the proxy): another biome deploys the same commit now.
    await proxy.waitFor(deleteObjects, 90_000);
    const failed = await deployEach(PROJECTS, 'dev-new');
    const done = await destroy;
    proxy.clearRules();
    expect(done.code, done.output).toBe(0);
    // What was recorded names artifacts that are there; what was refused says why.
    const audit = await auditBiome(store, 'dev-new');
    figures.add('danglingRecords', audit.dangling.length);
    expect(audit.dangling).toEqual([]);
    for (const f of failed) expect(f.code, f.message).toBe('ARTIFACT_MISSING');
    // A re-run uploads what the destroy removed, and every record is sound.
    expect(await deployEach(PROJECTS, 'dev-new')).toEqual([]);
    const after = await auditBiome(store, 'dev-new');
    expect(after.dangling).toEqual([]);
    expect(after.records.map((r) => r.project).sort()).toEqual(PROJECTS);
  }, 300_000);

  it('a destroy during a deploy of the same sandpit never leaves records without biome.json', async () => {
    expect(await deployEach(PROJECTS, 'dev-same')).toEqual([]);
    proxy.addRule({ match: deleteObjects, action: { kind: 'delay', ms: HOLD_MS, phase: 'request' }, times: 1 });
    const destroy = runWorker('biome-destroy', { biome: 'dev-same' });
    await proxy.waitFor(deleteObjects, 90_000);
    const failed = await deployEach(['vein-d'], 'dev-same');
    const done = await destroy;
    proxy.clearRules();
    expect(done.code, done.output).toBe(0);
    expect(failed).toEqual([]);
    const keys = (await store.list('biomes/dev-same/')).map((o) => o.key);
    const records = await readLedger(store, 'dev-same');
    // Either the deploy came after the destroy (the biome exists again, registered) or nothing is left.
    if (records.length > 0) expect(keys).toContain('biomes/dev-same/biome.json');
    expect((await auditBiome(store, 'dev-same')).dangling).toEqual([]);
  }, 300_000);
});
