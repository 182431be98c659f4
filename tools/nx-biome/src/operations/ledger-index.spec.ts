import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3rver, S3Server } from '../../../../test/support/s3rver';
import { ledgerIndexKey, LedgerRecord } from '../core/ledger';
import { createFileStore } from '../adapters/store/file-store';
import { openStore } from '../adapters/store/open-store';
import { StorePort } from '../adapters/store/store';
import { batchStore } from './batch-deps';
import { readLedger, readLedgerEntries, readRecord, refreshLedgerIndex, writeRecord } from './ledger-store';

const SHA = (n: number) => n.toString(16).padStart(40, '0');
const PROJECTS = ['assay-ingest', 'grade-predict', 'ore-grade', 'plant-feed', 'tailings-watch'];

function record(project: string, n: number): LedgerRecord {
  return {
    schemaVersion: 1,
    project,
    kind: 'service',
    biome: 'dev-ix',
    environment: 'dev',
    artifactKey: `artifacts/${project}/${project}-${SHA(n)}.zip`,
    sha256: 'a'.repeat(64),
    size: 10,
    gitSha: SHA(n),
    dirty: false,
    deployedAt: `2026-12-01T00:00:0${n}.000Z`,
    deployedBy: 'amy',
    origin: { action: 'deploy' },
    settings: {},
  };
}

/** The real store, with every call it receives counted (what a user pays for in requests). */
function counted(store: StorePort) {
  const calls: string[] = [];
  const wrapped: StorePort = {
    url: store.url,
    head: (k, o) => (calls.push(`HEAD ${k}`), store.head(k, o)),
    get: (k) => (calls.push(`GET ${k}`), store.get(k)),
    put: (k, b, o) => (calls.push(`PUT ${k}`), store.put(k, b, o)),
    list: (p) => (calls.push(`LIST ${p}`), store.list(p)),
    delete: (k) => (calls.push(`DELETE ${k.join(',')}`), store.delete(k)),
  };
  return {
    store: wrapped,
    calls,
    reads: () => calls.filter((c) => c.startsWith('GET biomes/') || c.startsWith('LIST biomes/')),
    reset: () => calls.splice(0),
  };
}

describe('the ledger index: one object instead of one read per record', () => {
  let server: S3Server;
  let folder: string;
  const savedEnv = { ...process.env };
  let s3: StorePort;

  beforeAll(async () => {
    server = await startS3rver(['geo-ix']);
    Object.assign(process.env, server.env);
    folder = await mkdtemp(join(tmpdir(), 'ledger-index-'));
    s3 = openStore('s3://geo-ix/p', folder);
    for (const [i, p] of PROJECTS.entries()) {
      const r = record(p, i + 1);
      await s3.put(r.artifactKey, Buffer.from('zip bytes'));
      await writeRecord(s3, r);
    }
  });
  afterAll(async () => {
    process.env = savedEnv;
    await server?.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it('with a fresh index a reader lists the ledger and reads the index: two requests for five records', async () => {
    const c = counted(s3);
    const first = await readLedgerEntries(c.store, 'dev-ix');
    expect(c.reads().filter((r) => r.startsWith('GET biomes/dev-ix/ledger/'))).toHaveLength(5);
    expect(await refreshLedgerIndex(c.store, 'dev-ix', first)).toBe(true);
    c.reset();
    const again = await readLedger(c.store, 'dev-ix');
    expect(c.reads()).toEqual(['LIST biomes/dev-ix/ledger/', `GET ${ledgerIndexKey('dev-ix')}`]);
    expect(again).toEqual(first.map((e) => e.record));
    // Nothing new to write: the index already holds every record.
    expect(await refreshLedgerIndex(c.store, 'dev-ix', await readLedgerEntries(c.store, 'dev-ix'))).toBe(false);
  });

  it('a record written after the index is read from the store, never from the stale index', async () => {
    await s3.put('artifacts/grade-predict/grade-predict-' + SHA(9) + '.zip', Buffer.from('zip bytes'));
    await writeRecord(s3, record('grade-predict', 9));
    const c = counted(s3);
    const records = await readLedger(c.store, 'dev-ix');
    expect(records.find((r) => r.project === 'grade-predict')?.gitSha).toBe(SHA(9));
    expect(c.reads()).toEqual([
      'LIST biomes/dev-ix/ledger/',
      `GET ${ledgerIndexKey('dev-ix')}`,
      'GET biomes/dev-ix/ledger/grade-predict.json',
    ]);
  });

  it("an index whose entry does not hash to the record's ETag (stale, hostile or corrupt) is not believed", async () => {
    const text = (await s3.get(ledgerIndexKey('dev-ix')))!.toString('utf8');
    const index = JSON.parse(text) as { records: Record<string, string> };
    index.records['ore-grade'] = index.records['ore-grade'].replace(SHA(3), SHA(7));
    await s3.put(ledgerIndexKey('dev-ix'), Buffer.from(JSON.stringify(index)));
    expect((await readRecord(s3, 'dev-ix', 'ore-grade'))?.gitSha).toBe(SHA(3));
    expect((await readLedger(s3, 'dev-ix')).find((r) => r.project === 'ore-grade')?.gitSha).toBe(SHA(3));
    await s3.put(ledgerIndexKey('dev-ix'), Buffer.from('{ not json'));
    expect((await readLedger(s3, 'dev-ix')).map((r) => r.project)).toEqual(PROJECTS);
  });

  it("a deploy batch reads every project's current record with one listing and the index", async () => {
    await refreshLedgerIndex(s3, 'dev-ix', await readLedgerEntries(s3, 'dev-ix'));
    const c = counted(s3);
    const batch = batchStore(c.store, 'dev-ix');
    const records = await Promise.all(PROJECTS.map((p) => readRecord(batch, 'dev-ix', p)));
    expect(records.map((r) => r?.project)).toEqual(PROJECTS);
    expect(await readRecord(batch, 'dev-ix', 'not-deployed')).toBeUndefined();
    expect(c.reads()).toEqual(['LIST biomes/dev-ix/ledger/', `GET ${ledgerIndexKey('dev-ix')}`]);
  });

  it('the folder store (no ETags in its listing) reads every record and writes no index', async () => {
    const local = createFileStore(join(folder, 'store'));
    const r = record('assay-ingest', 1);
    await local.put(r.artifactKey, Buffer.from('zip bytes'));
    await writeRecord(local, r);
    expect(await refreshLedgerIndex(local, 'dev-ix', await readLedgerEntries(local, 'dev-ix'))).toBe(false);
    expect(await local.get(ledgerIndexKey('dev-ix'))).toBeUndefined();
    expect((await readLedger(local, 'dev-ix')).map((x) => x.gitSha)).toEqual([SHA(1)]);
  });
});
