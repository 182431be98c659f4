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
import {
  readLedger,
  readLedgerEntries,
  readRecord,
  refreshLedgerIndex,
  writeRecord,
  writeRecords,
} from './ledger-store';
import { assertLeasesHeld, biomeScope, withLease } from './store-lock';

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

  it('a seed writes its records in one batch: two PUTs per record, three reads in all, and the index', async () => {
    const seeded = PROJECTS.map((p, i) => ({
      ...record(p, i + 1),
      biome: 'dev-sd',
      origin: { action: 'seed' as const },
    }));
    const c = counted(s3);
    const written = await withLease(s3, biomeScope('dev-sd'), 'exclusive', () =>
      writeRecords(c.store, 'dev-sd', seeded, { concurrency: 8, artifactsChecked: true }),
    );
    expect(written.map((r) => [r.project, r.sequence])).toEqual(PROJECTS.map((p) => [p, 1]));
    const perRecord = c.calls.filter(
      (k) => / biomes\/dev-sd\/(history|ledger)\/[^/]+\//.test(k) || / biomes\/dev-sd\/ledger\/[^/]+\.json$/.test(k),
    );
    expect(perRecord.filter((k) => !k.startsWith('PUT '))).toEqual([]);
    expect(perRecord).toHaveLength(2 * PROJECTS.length);
    // No artifact HEAD (the seed checked them); the fence's look at the lease entry is shared by concurrent writes.
    expect(c.calls.filter((k) => k.startsWith('HEAD ') && !k.startsWith('HEAD locks/'))).toEqual([]);
    expect(c.calls.filter((k) => k.startsWith('HEAD locks/')).length).toBeLessThan(perRecord.length);
    expect(c.reads()).toEqual(
      ['GET biomes/dev-sd/incarnation.json', 'LIST biomes/dev-sd/history/', 'LIST biomes/dev-sd/ledger/'].filter((k) =>
        c.calls.includes(k),
      ),
    );
    c.reset();
    expect((await readLedger(c.store, 'dev-sd')).map((r) => r.project)).toEqual(PROJECTS);
    expect(c.reads()).toEqual(['LIST biomes/dev-sd/ledger/', `GET ${ledgerIndexKey('dev-sd')}`]);
  });

  it('the fence asks the store once for writes checked together, and a lease lost meanwhile still fails them all', async () => {
    const c = counted(s3);
    await withLease(c.store, biomeScope('dev-fence'), 'exclusive', async () => {
      c.reset();
      await Promise.all(Array.from({ length: 8 }, () => assertLeasesHeld(c.store)));
      expect(c.calls.filter((k) => k.startsWith('HEAD locks/biomes/dev-fence/'))).toHaveLength(1);
      // Another writer removed the entry (it judged the lease expired): the next look at the store sees it.
      const entry = (await s3.list('locks/biomes/dev-fence/')).find((o) => /exclusive\./.test(o.key))!;
      await s3.delete([entry.key]);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const results = await Promise.allSettled(Array.from({ length: 3 }, () => assertLeasesHeld(c.store)));
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
      expect(String((results[0] as PromiseRejectedResult).reason)).toContain('is gone from the store');
    }).catch((e: { code?: string }) => {
      // Releasing a lost lease is the caller's LEASE_LOST too: the entry is already gone.
      if (e.code !== 'LEASE_LOST') throw e;
    });
  });

  it("a batch of records is refused without the biome's exclusive lease", async () => {
    await expect(
      writeRecords(s3, 'dev-sd2', [{ ...record('ore-grade', 1), biome: 'dev-sd2' }], {
        concurrency: 8,
        artifactsChecked: true,
      }),
    ).rejects.toThrow("needs the biome's exclusive lease");
    expect(await s3.list('biomes/dev-sd2/ledger/')).toEqual([]);
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
