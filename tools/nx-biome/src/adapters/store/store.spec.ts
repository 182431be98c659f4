import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3rver, S3Server } from '../../../../../test/support/s3rver';
import { BiomeError } from '../../core/errors';
import { inspectArtifact, publishArtifact, verifyArtifact } from '../../operations/publish';
import { createFileStore } from './file-store';
import { openStore } from './open-store';
import { StorePort } from './store';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const body = Buffer.from('PK\u0003\u0004 pretend zip bytes '.repeat(1000));
const other = Buffer.from('different bytes'.repeat(100));
const key = 'artifacts/assay-ingest/assay-ingest-0123456789abcdef0123456789abcdef01234567.zip';

let server: S3Server;
let folder: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  server = await startS3rver(['artifacts-dev']);
  Object.assign(process.env, server.env);
  folder = await mkdtemp(join(tmpdir(), 'file-store-'));
});

afterAll(async () => {
  process.env = savedEnv;
  await server?.stop();
  await rm(folder, { recursive: true, force: true });
});

const stores: [string, () => StorePort][] = [
  ['local folder', () => createFileStore(join(folder, `s-${Math.random().toString(36).slice(2)}`))],
  ['S3 (s3rver on 127.0.0.1)', () => openStore(`s3://artifacts-dev/run-${Math.random().toString(36).slice(2)}`, '/')],
];

describe.each(stores)('artifact store: %s', (_label, open) => {
  it('publishes, and the stored bytes hash to the sha256 that was published', async () => {
    const store = open();
    expect(await publishArtifact(store, { key, body, sha256: sha(body), metadata: { 'git-sha': 'x' } })).toBe(
      'uploaded',
    );
    const stored = await store.get(key);
    expect(stored && sha(stored)).toBe(sha(body));
    expect((await store.head(key))?.metadata?.sha256).toBe(sha(body));
    expect((await store.head(key))?.size).toBe(body.length);
  });

  it('republishing the same bytes is a no-op reported as present', async () => {
    const store = open();
    await publishArtifact(store, { key, body, sha256: sha(body), metadata: {} });
    expect(await publishArtifact(store, { key, body, sha256: sha(body), metadata: {} })).toBe('present');
    expect((await store.list('artifacts/')).map((o) => o.key)).toEqual([key]);
  });

  it('refuses to overwrite a key that holds different bytes, and keeps the original', async () => {
    const store = open();
    await publishArtifact(store, { key, body, sha256: sha(body), metadata: {} });
    const error = await publishArtifact(store, { key, body: other, sha256: sha(other), metadata: {} }).catch((e) => e);
    expect(error).toBeInstanceOf(BiomeError);
    expect(error.code).toBe('ARTIFACT_CONFLICT');
    expect(error.message).toContain('never overwritten');
    expect(sha((await store.get(key))!)).toBe(sha(body));
  });

  it('detects a corrupt object whose metadata does not vouch for it', async () => {
    const store = open();
    await store.put(key, other.subarray(0, 10));
    await expect(inspectArtifact(store, key, sha(body))).rejects.toMatchObject({ code: 'ARTIFACT_CONFLICT' });
    await expect(verifyArtifact(store, key, sha(body))).rejects.toMatchObject({ code: 'ARTIFACT_CORRUPT' });
    await expect(verifyArtifact(store, 'artifacts/none/none.zip', sha(body))).rejects.toMatchObject({
      code: 'ARTIFACT_MISSING',
    });
  });

  it('lists below a prefix in key order and deletes', async () => {
    const store = open();
    await store.put('biomes/dev-b/ledger/b.json', Buffer.from('{}'));
    await store.put('biomes/dev-b/ledger/a.json', Buffer.from('{}'));
    await store.put('biomes/dev-bc/ledger/c.json', Buffer.from('{}'));
    expect((await store.list('biomes/dev-b/')).map((o) => o.key)).toEqual([
      'biomes/dev-b/ledger/a.json',
      'biomes/dev-b/ledger/b.json',
    ]);
    // A prefix may end inside a name: it matches keys, not folders.
    expect((await store.list('biomes/dev-b')).map((o) => o.key)).toEqual([
      'biomes/dev-b/ledger/a.json',
      'biomes/dev-b/ledger/b.json',
      'biomes/dev-bc/ledger/c.json',
    ]);
    expect((await store.list('biomes/dev-bc/ledger/c')).map((o) => o.key)).toEqual(['biomes/dev-bc/ledger/c.json']);
    expect(await store.list('biomes/none/')).toEqual([]);
    await store.delete(['biomes/dev-b/ledger/a.json']);
    expect(await store.get('biomes/dev-b/ledger/a.json')).toBeUndefined();
    expect(await store.head('biomes/dev-b/ledger/a.json')).toBeUndefined();
  });

  it('a reader racing two writers of one key sees one whole object or the other, as on S3', async () => {
    const store = open();
    const a = Buffer.from('a'.repeat(300_000));
    const b = Buffer.from('b'.repeat(200_000));
    await store.put('biomes/dev-r/ledger/x.json', a);
    const seen = new Set<string>();
    let writing = true;
    const reads = (async () => {
      while (writing) {
        const got = await store.get('biomes/dev-r/ledger/x.json');
        seen.add(got?.equals(a) ? 'a' : got?.equals(b) ? 'b' : `other (${got?.length} bytes)`);
      }
    })();
    for (let i = 0; i < 10; i++)
      await Promise.all([store.put('biomes/dev-r/ledger/x.json', b), store.put('biomes/dev-r/ledger/x.json', a)]);
    writing = false;
    await reads;
    expect([...seen].filter((k) => k !== 'a' && k !== 'b')).toEqual([]);
    const last = await store.get('biomes/dev-r/ledger/x.json');
    expect(last?.equals(a) || last?.equals(b)).toBe(true);
  });

  it('lists more keys than one page holds (S3 pages by 1,000)', async () => {
    const store = open();
    const keys = Array.from({ length: 1203 }, (_, i) => `biomes/dev-p${String(i).padStart(4, '0')}/ledger/a.json`);
    for (let i = 0; i < keys.length; i += 100)
      await Promise.all(keys.slice(i, i + 100).map((k) => store.put(k, Buffer.from('{}'))));
    expect((await store.list('biomes/')).map((o) => o.key)).toEqual(keys);
  });

  it('lists the folders below a prefix without their objects, and a listing says when an object was rewritten', async () => {
    const store = open();
    await store.put('biomes/dev/biome.json', Buffer.from('{"a":1}'));
    await store.put('biomes/dev-amy/ledger/a.json', Buffer.from('{}'));
    // s3rver (unlike S3) finds a folder by an object right inside it: every biome has its biome.json.
    await store.put('biomes/dev-amy/biome.json', Buffer.from('{}'));
    await store.put('artifacts/x/x.zip', Buffer.from('x'));
    expect(await store.listFolders!('biomes/')).toEqual(['biomes/dev-amy/', 'biomes/dev/']);
    const [before] = await store.list('biomes/dev/biome.json');
    await new Promise((r) => setTimeout(r, 20));
    // Same size, other bytes: the ETag (S3) or the modification time (a folder) differs.
    await store.put('biomes/dev/biome.json', Buffer.from('{"a":2}'));
    const [after] = await store.list('biomes/dev/biome.json');
    expect(after.size).toBe(before.size);
    expect(`${after.etag} ${after.modified}`).not.toBe(`${before.etag} ${before.modified}`);
  });
});

describe('openStore', () => {
  it.each([
    ['http://bucket', /scheme must be s3:\/\/ or file:\/\//],
    ['s3://Bad_Bucket', /not a valid S3 bucket name/],
    ['s3://ok-bucket/../x', /prefix/],
    ['s3://ok-bucket/a b', /whitespace/],
    ['file://', /path is empty/],
  ])('rejects %j with a message naming the problem', (url, message) => {
    expect(() => openStore(url, '/ws')).toThrow(message);
  });

  it('resolves a relative file:// path against the workspace root', () => {
    expect(openStore('file://.biome-store/dev', '/ws').url).toBe('file:///ws/.biome-store/dev');
  });

  it('an unreachable S3 endpoint is a clear STORE_UNREACHABLE error', async () => {
    const saved = process.env.AWS_ENDPOINT_URL_S3;
    process.env.AWS_ENDPOINT_URL_S3 = 'http://127.0.0.1:9';
    try {
      const store = openStore('s3://artifacts-dev', '/');
      const error = await store.head('x').catch((e) => e);
      expect(error).toBeInstanceOf(BiomeError);
      expect(error.code).toBe('STORE_UNREACHABLE');
      expect(error.message).toContain('s3://artifacts-dev is unreachable');
    } finally {
      process.env.AWS_ENDPOINT_URL_S3 = saved;
    }
  });

  it('the local store keeps metadata out of the key space', async () => {
    const store = createFileStore(join(folder, 'meta'));
    await store.put('artifacts/a/a.zip', body, { metadata: { sha256: sha(body) } });
    expect((await store.list('')).map((o) => o.key)).toEqual(['artifacts/a/a.zip']);
    expect(JSON.parse(await readFile(join(folder, 'meta/.meta/artifacts/a/a.zip.json'), 'utf8')).sha256).toBe(
      sha(body),
    );
  });
});
