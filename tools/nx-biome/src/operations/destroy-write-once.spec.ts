import { S3Client } from '@aws-sdk/client-s3';
import { createServer, request, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3rver, S3Server } from '../../../../test/support/s3rver';
import { createS3Store } from '../adapters/store/s3-store';
import { parseBiomeName } from '../core/names';
import { testConfig } from '../core/test-config';
import { Deps } from './context';
import { applyDestroy, destroyBiomes, planBiomesDestroy, withCollectionLeases } from './destroy';
import { readRecord, writeRecord } from './ledger-store';
import { acquireLease, collectionScope, GC_SCOPE, SANDPIT_GC_SCOPE } from './store-lock';

/**
 * Branch principals may never delete an artifact (IAM: docs/pipeline.md,
 * "Trust"). S3 then answers DeleteObjects with 200 and an AccessDenied error
 * per refused key. This front speaks DeleteObjects as S3 does, in front of
 * s3rver (which has no IAM): with `denyArtifacts`, every key below artifacts/
 * is refused; the others are deleted one by one (s3rver's own DeleteObjects
 * deletes a batch in parallel and can trip over its own empty folders).
 */
async function startDeleteFront(
  upstream: number,
  options: { denyArtifacts: boolean; denyWrites?: (key: string) => boolean },
) {
  const denied = (key: string) =>
    (options.denyArtifacts && key.startsWith('artifacts/')) || !!options.denyWrites?.(key);
  const send = (method: string, path: string, headers: Record<string, string | string[] | undefined>, body?: Buffer) =>
    new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>(
      (resolve, reject) => {
        const up = request({ host: '127.0.0.1', port: upstream, method, path, headers }, (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c) => chunks.push(c));
          r.on('end', () => resolve({ status: r.statusCode ?? 500, headers: r.headers, body: Buffer.concat(chunks) }));
        });
        up.on('error', reject);
        up.end(body);
      },
    );
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        const body = Buffer.concat(chunks);
        const [path, query = ''] = (req.url ?? '').split('?');
        if (req.method === 'POST' && /(^|&)delete(=|&|$)/.test(query)) {
          const errors: string[] = [];
          for (const [, key] of body.toString('utf8').matchAll(/<Key>([^<]*)<\/Key>/g)) {
            if (denied(key))
              errors.push(`<Error><Key>${key}</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`);
            else
              await send('DELETE', `${path.replace(/\/$/, '')}/${key.split('/').map(encodeURIComponent).join('/')}`, {
                host: req.headers.host,
              });
          }
          const xml = Buffer.from(
            `<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${errors.join('')}</DeleteResult>`,
          );
          res.writeHead(200, { 'content-type': 'application/xml', 'content-length': xml.length });
          return res.end(xml);
        }
        // A PUT or DELETE of a refused key: 403 AccessDenied, as S3 answers an IAM denial.
        const key = decodeURIComponent(path.split('/').slice(2).join('/'));
        if ((req.method === 'PUT' || req.method === 'DELETE') && options.denyWrites?.(key)) {
          const xml = Buffer.from(
            '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>',
          );
          res.writeHead(403, { 'content-type': 'application/xml', 'content-length': xml.length });
          return res.end(xml);
        }
        const r = await send(req.method ?? 'GET', req.url ?? '/', req.headers, body);
        res.writeHead(r.status, r.headers);
        res.end(r.body);
      } catch {
        res.destroy();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const BUCKET = 'geo-devops-artifacts-dev';
const SHA = 'c'.repeat(40);
const ARTIFACT = `artifacts/assay-ingest/assay-ingest-${SHA}.zip`;
const record = (biome: string) => ({
  schemaVersion: 1 as const,
  project: 'assay-ingest',
  kind: 'service' as const,
  biome,
  environment: 'dev',
  artifactKey: ARTIFACT,
  sha256: 'f'.repeat(64),
  size: 3,
  gitSha: SHA,
  dirty: false,
  deployedAt: '2026-02-01T10:00:00.000Z',
  deployedBy: 'bob',
  settings: {},
});

/** The real S3 client against a front (or s3rver itself), one attempt per call so a refusal shows at once. */
const s3StoreAt = (bucket: string, endpoint: string) =>
  createS3Store(bucket, '', {
    client: new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    }),
  });

describe('a sandpit destroy under a role that may not delete artifacts', () => {
  let s3: S3Server;
  /** A branch principal's view of the store, and a main role's. */
  let sandpit: Awaited<ReturnType<typeof startDeleteFront>>;
  let main: Awaited<ReturnType<typeof startDeleteFront>>;
  const storeAt = (endpoint: string) => s3StoreAt(BUCKET, endpoint);

  beforeAll(async () => {
    s3 = await startS3rver([BUCKET]);
    sandpit = await startDeleteFront(s3.port, { denyArtifacts: true });
    main = await startDeleteFront(s3.port, { denyArtifacts: false });
  });
  afterAll(async () => {
    await sandpit?.close();
    await main?.close();
    await s3?.stop();
  });

  async function seed(biome: string) {
    const store = storeAt(s3.endpoint);
    await store.put(ARTIFACT, Buffer.from('zip'));
    await store.put(`biomes/${biome}/ledger/assay-ingest.json`, Buffer.from(JSON.stringify(record(biome))));
    await store.put(
      `biomes/${biome}/biome.json`,
      Buffer.from(
        JSON.stringify({
          schemaVersion: 1,
          biome,
          environment: 'dev',
          owner: 'bob',
          created: '2026-02-01T10:00:00.000Z',
          expires: null,
        }),
      ),
    );
  }

  it('removes the biome and keeps its unused artifacts, saying why; any other delete failure still fails', async () => {
    await seed('dev-x');
    const store = storeAt(sandpit.endpoint);
    const plan = await planBiomesDestroy(store, ['dev-x']);
    expect(plan.deleteArtifacts).toEqual([ARTIFACT]);
    const lines: string[] = [];
    await applyDestroy(store, plan, (l) => lines.push(l));
    const left = (await storeAt(s3.endpoint).list('')).map((o) => o.key);
    expect(left).toEqual([ARTIFACT]);
    expect(lines[0]).toBe(
      'kept 1 unused artifact(s): this role may not delete artifacts (write-once for branch principals); a destroy under a main role removes them',
    );

    // Not a refusal (the store is gone): the destroy fails and deletes nothing more.
    await seed('dev-y');
    const dead = storeAt('http://127.0.0.1:9');
    await expect(
      applyDestroy(dead, { ...plan, biomes: ['dev-y'], biomeKeys: ['biomes/dev-y/biome.json'] }, () => undefined),
    ).rejects.toThrow();
    expect((await storeAt(s3.endpoint).list('biomes/dev-y/')).length).toBe(2);
  });

  it('with a role that may delete them (a main role), the same destroy deletes them', async () => {
    await seed('dev-z');
    const store = storeAt(main.endpoint);
    const plan = await planBiomesDestroy(store, ['dev-y', 'dev-z']);
    const lines: string[] = [];
    await applyDestroy(store, plan, (l) => lines.push(l));
    expect(await store.list('')).toEqual([]);
    expect(lines[0]).toBe('deleted 1 artifact(s)');
  });
});

/**
 * Branch principals may write leases only below locks/biomes/<env>-* and
 * locks/gc-sandpits/ (IAM: docs/reliability.md, "Collection leases"); the
 * front refuses the rest as S3 does (403 AccessDenied per PUT or DELETE).
 */
describe("leases of branch principals: their sandpits and the sandpits' collection, never main's", () => {
  const LEASE_BUCKET = 'geo-devops-artifacts-leases';
  const MAIN_ONLY = /^(locks\/gc\/|locks\/biomes\/dev\/|biomes\/dev\/)/;
  const config = testConfig();
  let s3: S3Server;
  let branch: Awaited<ReturnType<typeof startDeleteFront>>;
  let main: Awaited<ReturnType<typeof startDeleteFront>>;
  const storeAt = (endpoint: string) => s3StoreAt(LEASE_BUCKET, endpoint);
  const lines: string[] = [];
  const deps = { log: (line: string) => lines.push(line), env: {} } as unknown as Deps;
  const destroy = (endpoint: string, biome: string) =>
    destroyBiomes({
      store: storeAt(endpoint),
      config,
      biomes: [parseBiomeName(biome, config)],
      workspaceRoot: '/nonexistent-workspace',
      dryRun: false,
      terraform: false,
      deps,
    });
  const lockKeys = async () => (await storeAt(s3.endpoint).list('locks/')).map((o) => o.key);
  const waitSeconds = process.env.BIOME_LOCK_WAIT_SECONDS;

  beforeAll(async () => {
    s3 = await startS3rver([LEASE_BUCKET]);
    branch = await startDeleteFront(s3.port, { denyArtifacts: true, denyWrites: (key) => MAIN_ONLY.test(key) });
    main = await startDeleteFront(s3.port, { denyArtifacts: false });
    await storeAt(s3.endpoint).put(ARTIFACT, Buffer.from('zip'));
  });
  afterAll(async () => {
    if (waitSeconds === undefined) delete process.env.BIOME_LOCK_WAIT_SECONDS;
    else process.env.BIOME_LOCK_WAIT_SECONDS = waitSeconds;
    await branch?.close();
    await main?.close();
    await s3?.stop();
  });

  it("the front refuses main's lease folders as IAM does", async () => {
    await expect(storeAt(branch.endpoint).put('locks/gc/scope.json', Buffer.from('{}'))).rejects.toThrow(
      /access denied \(AccessDenied\)/,
    );
    await expect(storeAt(branch.endpoint).put('locks/biomes/dev/scope.json', Buffer.from('{}'))).rejects.toThrow(
      /access denied \(AccessDenied\)/,
    );
  });

  it("a sandpit deploy records its artifact under its own biome's lease and the sandpits' collection lease", async () => {
    expect(collectionScope('dev-bob')).toBe(SANDPIT_GC_SCOPE);
    expect(collectionScope('dev')).toBe(GC_SCOPE);
    const written = await writeRecord(storeAt(branch.endpoint), record('dev-bob'));
    expect((await readRecord(storeAt(s3.endpoint), 'dev-bob', 'assay-ingest'))?.sequence).toBe(written.sequence);
    // Only the permanent markers stay; nothing in main's folders.
    expect((await lockKeys()).sort()).toEqual(['locks/biomes/dev-bob/scope.json', 'locks/gc-sandpits/scope.json']);
  });

  it("a sandpit destroy, refused main's collection lease, removes the biome and keeps every artifact (a main deploy may be recording one)", async () => {
    const own = ARTIFACT.replace(SHA, 'd'.repeat(40));
    await storeAt(s3.endpoint).put(own, Buffer.from('zip'));
    await storeAt(s3.endpoint).put(
      'biomes/dev-gone/ledger/assay-ingest.json',
      Buffer.from(JSON.stringify({ ...record('dev-gone'), artifactKey: own })),
    );
    await storeAt(s3.endpoint).put(
      'biomes/dev-gone/biome.json',
      Buffer.from(
        JSON.stringify({
          schemaVersion: 1,
          biome: 'dev-gone',
          environment: 'dev',
          owner: 'bob',
          created: '2026-02-01T10:00:00.000Z',
          expires: null,
        }),
      ),
    );
    lines.length = 0;
    expect(await destroy(branch.endpoint, 'dev-gone')).toEqual(['dev-gone']);
    expect(await storeAt(s3.endpoint).list('biomes/dev-gone/')).toEqual([]);
    expect(await storeAt(s3.endpoint).head(own)).toBeDefined();
    expect(lines).toContain(
      "kept 1 unused artifact(s): this role may not take the main biomes' collection lease (branch principals); a destroy under a main role removes them",
    );
    expect((await lockKeys()).filter((k) => k.startsWith('locks/gc/'))).toEqual([]);
  });

  it("a sandpit's collection never makes a main record write wait", async () => {
    process.env.BIOME_LOCK_WAIT_SECONDS = '2';
    await withCollectionLeases(storeAt(branch.endpoint), 'a sandpit collection', async (options) => {
      expect(options).toEqual({ artifacts: false });
      await writeRecord(storeAt(main.endpoint), record('dev'));
    });
    expect(await readRecord(storeAt(s3.endpoint), 'dev', 'assay-ingest')).toBeDefined();
    expect(await lockKeys()).toContain('locks/gc/scope.json');
  });

  it("main's collection waits for a sandpit recording an artifact, and deletes it only once no record names it", async () => {
    process.env.BIOME_LOCK_WAIT_SECONDS = '2';
    // dev-old's record names the artifact and a main role destroys it; dev-bob's records it meanwhile.
    await storeAt(s3.endpoint).put(
      'biomes/dev-old/ledger/assay-ingest.json',
      Buffer.from(JSON.stringify(record('dev-old'))),
    );
    await storeAt(s3.endpoint).put(
      'biomes/dev-old/biome.json',
      Buffer.from(
        JSON.stringify({
          schemaVersion: 1,
          biome: 'dev-old',
          environment: 'dev',
          owner: 'bob',
          created: '2026-02-01T10:00:00.000Z',
          expires: null,
        }),
      ),
    );
    // dev's record (written above) goes, so that dev-bob's is the only other one naming the artifact.
    await storeAt(main.endpoint).delete((await storeAt(s3.endpoint).list('biomes/dev/')).map((o) => o.key));
    // A sandpit deploy between its artifact upload and its record: the shared sandpit collection lease.
    const recording = await acquireLease(storeAt(branch.endpoint), collectionScope('dev-bob'), 'shared', {
      purpose: 'record assay-ingest in dev-bob',
    });
    try {
      await expect(destroy(main.endpoint, 'dev-old')).rejects.toThrow(/gc-sandpits is busy/);
      expect(await storeAt(s3.endpoint).head(ARTIFACT)).toBeDefined();
      expect((await storeAt(s3.endpoint).list('biomes/dev-old/')).length).toBe(2);
      await writeRecord(storeAt(branch.endpoint), record('dev-bob'));
    } finally {
      await recording.release();
    }
    lines.length = 0;
    expect(await destroy(main.endpoint, 'dev-old')).toEqual(['dev-old']);
    expect(lines).toContain(`  keep   ${ARTIFACT} (still used by dev-bob)`);
    expect(await storeAt(s3.endpoint).head(ARTIFACT)).toBeDefined();
    // The last record naming it goes: a main role's destroy deletes it, under both collection scopes.
    expect(await destroy(main.endpoint, 'dev-bob')).toEqual(['dev-bob']);
    expect(await storeAt(s3.endpoint).head(ARTIFACT)).toBeUndefined();
    expect((await lockKeys()).filter((k) => !k.endsWith('/scope.json') && !k.endsWith('/incarnation.json'))).toEqual(
      [],
    );
  });
});
