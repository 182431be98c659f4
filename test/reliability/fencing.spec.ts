import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../tools/nx-biome/src/adapters/store/open-store';
import { StorePort } from '../../tools/nx-biome/src/adapters/store/store';
import { artifactKey } from '../../tools/nx-biome/src/core/artifact';
import { parseBiomeName } from '../../tools/nx-biome/src/core/names';
import { Deps } from '../../tools/nx-biome/src/operations/context';
import { deployProject } from '../../tools/nx-biome/src/operations/deploy';
import { destroyBiomes } from '../../tools/nx-biome/src/operations/destroy';
import { readBiomeMeta, updateBiomeMeta } from '../../tools/nx-biome/src/operations/ledger-store';
import { auditBiome } from '../faults/audit';
import { createFigures } from '../faults/figures';
import { startS3rver, S3Server } from '../support/s3rver';
import { WORKSPACE_ROOT } from '../support/workspace';
import { FENCING_CONFIG, packagedFor } from './fencing-fixture';

/*
 * Fencing: a lease holder stopped (SIGSTOP, a real process) for longer than
 * its lease, while a competitor takes the lease and writes, must fail when it
 * is resumed instead of writing. The worker stops itself at a fixed point
 * inside its lease (see fencing-worker.ts), so the test never races it.
 */

const TTL_SECONDS = 8;
const figures = createFigures('fencing');

/** A worker process, its output, and a way to see that it has stopped. */
function startWorker(
  args: string[],
  env: Record<string, string>,
): { child: ChildProcess; done: Promise<{ code: number; output: string }>; output: () => string } {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', join(__dirname, 'fencing-worker.ts'), ...args], {
    cwd: WORKSPACE_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const done = new Promise<{ code: number; output: string }>((resolve) =>
    child.on('close', (code) => resolve({ code: code ?? 1, output })),
  );
  return { child, done, output: () => output };
}

/** Waits until the process is in state T (stopped), as the kernel reports it. */
async function waitStopped(pid: number, output: () => string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    if (state === 'T') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`worker never stopped: ${output()}`);
}

describe.each([
  ['the folder store', false],
  ['S3 (s3rver)', true],
])('a lease holder stopped past its lease, on %s', (_label, useS3) => {
  let root: string;
  let server: S3Server | undefined;
  let url: string;
  let store: StorePort;
  let env: Record<string, string>;
  const saved = { ...process.env };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'fencing-'));
    env = { BIOME_LOCK_TTL_SECONDS: String(TTL_SECONDS), BIOME_LOCK_WAIT_SECONDS: '120' };
    if (useS3) {
      server = await startS3rver(['geo-fence']);
      env = { ...env, ...server.env };
      url = 's3://geo-fence/store';
    } else {
      url = `file://${join(root, 'store')}`;
    }
    Object.assign(process.env, env);
    store = openStore(url, root);
  });
  afterAll(async () => {
    process.env = saved;
    await figures.write();
    await server?.stop();
    await rm(root, { recursive: true, force: true });
  });

  const deploy = (biome: string, project: string, content: string) => {
    const p = packagedFor(project, content);
    return deployProject({
      store,
      config: FENCING_CONFIG,
      biome: parseBiomeName(biome, FENCING_CONFIG),
      manifest: p.manifest,
      readBody: async () => p.body,
      now: new Date(),
      deployedBy: 'amy',
      allowDirty: false,
      dryRun: false,
    });
  };

  it.runIf(useS3)(
    's3rver ignores If-Match on PUT (so no guarantee here rests on it; real S3 answers 412)',
    async () => {
      const { S3Client, PutObjectCommand, GetObjectCommand } = await import('@aws-sdk/client-s3');
      const client = new S3Client({
        endpoint: server!.endpoint,
        forcePathStyle: true,
        region: 'us-east-1',
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      });
      await client.send(new PutObjectCommand({ Bucket: 'geo-fence', Key: 'probe/if-match', Body: 'first' }));
      await client.send(
        new PutObjectCommand({
          Bucket: 'geo-fence',
          Key: 'probe/if-match',
          Body: 'second',
          IfMatch: '"00000000000000000000000000000000"',
        }),
      );
      const body = await (
        await client.send(new GetObjectCommand({ Bucket: 'geo-fence', Key: 'probe/if-match' }))
      ).Body!.transformToString();
      expect(body).toBe('second');
    },
  );

  it('biome.json: the resumed holder fails LEASE_LOST and the update made meanwhile stands (no lost update)', async () => {
    await deploy('dev-meta', 'vein-a', 'a1');
    const worker = startWorker(['meta', url, root, 'dev-meta'], env);
    await waitStopped(worker.child.pid!, worker.output);
    // The competitor waits for the stopped holder's entry to expire, then writes.
    await updateBiomeMeta(store, 'dev-meta', (meta) => ({ ...meta!, owner: 'competitor' }));
    worker.child.kill('SIGCONT');
    const { code, output } = await worker.done;
    figures.add('faultsInjected', 1);
    expect(output).toContain('LEASE_LOST');
    expect(output).not.toContain('WROTE');
    expect(code).toBe(1);
    expect((await readBiomeMeta(store, 'dev-meta'))!.owner).toBe('competitor');
  }, 120_000);

  it('a record: the resumed deploy fails LEASE_LOST instead of recording an artifact that a destroy collected meanwhile', async () => {
    // dev-old holds the artifact; a deploy of the same bytes to dev-new stops inside the collection lease.
    await deploy('dev-old', 'vein-b', 'b1');
    const worker = startWorker(['deploy', url, root, 'dev-new', 'vein-b', 'b1'], env);
    await waitStopped(worker.child.pid!, worker.output);
    const deps = { log: () => undefined, env: {} } as unknown as Deps;
    await destroyBiomes({
      store,
      config: FENCING_CONFIG,
      biomes: [parseBiomeName('dev-old', FENCING_CONFIG)],
      workspaceRoot: root,
      dryRun: false,
      terraform: false,
      deps,
    });
    expect(await store.head(artifactKey('vein-b', packagedFor('vein-b', 'b1').manifest.file))).toBeUndefined();
    worker.child.kill('SIGCONT');
    const { code, output } = await worker.done;
    figures.add('faultsInjected', 1);
    const audit = await auditBiome(store, 'dev-new');
    figures.add('danglingRecords', audit.dangling.length);
    expect(audit.dangling).toEqual([]);
    expect(output).toContain('LEASE_LOST');
    expect(code).toBe(1);
    // Run again: the artifact is uploaded anew and recorded.
    expect((await deploy('dev-new', 'vein-b', 'b1')).outcome).toBe('uploaded');
    expect((await auditBiome(store, 'dev-new')).dangling).toEqual([]);
  }, 120_000);
});
