import { createHash } from 'node:crypto';
import { BiomeError } from '../core/errors';
import {
  BiomeMeta,
  biomeMetaKey,
  historyKey,
  incarnationKey,
  ledgerIndexKey,
  parseIncarnation,
  repairHint,
  historyPrefix,
  LedgerRecord,
  ledgerKey,
  ledgerPrefix,
  nextHistorySequence,
  parseBiomeMeta,
  parseLedgerRecord,
} from '../core/ledger';
import { mapLimited } from '../core/map-limited';
import { StorePort } from '../adapters/store/store';
import {
  assertLeasesHeld,
  biomeScope,
  collectionScope,
  heldLeaseMode,
  Lease,
  withHeldLease,
  withLease,
} from './store-lock';

const json = (value: unknown) => Buffer.from(`${JSON.stringify(value, null, 2)}\n`);

/**
 * A write made under the leases the call chain holds: refused (LEASE_LOST)
 * when one of them is lost, so a holder stopped past its lease never writes
 * over the one that took it meanwhile (see docs/reliability.md, fencing).
 */
export async function putFenced(
  store: StorePort,
  key: string,
  body: Buffer,
  options: Parameters<StorePort['put']>[2] = {},
): Promise<'written' | 'exists'> {
  await assertLeasesHeld(store);
  return store.put(key, body, { contentType: 'application/json', ...options });
}

/**
 * Reads and parses a small JSON object. Some S3-compatible servers (s3rver)
 * write an object in place, so a reader racing a writer can see half of it:
 * a parse failure is read again a few times before it counts as invalid.
 */
async function readParsed<T>(
  store: StorePort,
  key: string,
  parse: (text: string, source: string) => T,
): Promise<T | undefined> {
  for (let attempt = 0; ; attempt++) {
    const body = await store.get(key);
    if (!body) return undefined;
    try {
      return parse(body.toString('utf8'), `${store.url} ${key}`);
    } catch (e) {
      if (attempt >= 3) throw e;
      await new Promise((resolve) => setTimeout(resolve, 25 << attempt));
    }
  }
}

/**
 * Parses a record and checks that it belongs where it was found: a record of
 * project P in biome B lives only at `biomes/B/ledger/P.json` or below
 * `biomes/B/history/P/` (a record copied under another key is never used).
 */
function parseRecordAt(key: string) {
  return (text: string, source: string): LedgerRecord => {
    const record = parseLedgerRecord(text, source);
    const m = /(?:^|\/)biomes\/([^/]+)\/(?:ledger\/([^/]+)\.json|history\/([^/]+)\/[^/]+)$/.exec(key);
    if (m && (m[1] !== record.biome || (m[2] ?? m[3]) !== record.project)) {
      throw new BiomeError(
        'LEDGER_RECORD_INVALID',
        `Ledger record ${source} is for ${record.project} in ${record.biome}, not ${m[2] ?? m[3]} in ${m[1]}.`,
        repairHint(source),
      );
    }
    return record;
  };
}

/** The current record of one project in a biome, if any. */
export async function readRecord(store: StorePort, biome: string, project: string): Promise<LedgerRecord | undefined> {
  const key = ledgerKey(biome, project);
  return readParsed(store, key, parseRecordAt(key));
}

/**
 * The current record of a project that is about to be replaced: a record that
 * fails validation is reported on stderr and treated as absent, so a deploy
 * overwrites it (the history keeps every valid record).
 */
export async function readRecordToReplace(
  store: StorePort,
  biome: string,
  project: string,
  warn: (line: string) => void = (line) => console.warn(line),
): Promise<LedgerRecord | undefined> {
  try {
    return await readRecord(store, biome, project);
  } catch (e) {
    if (!(e instanceof BiomeError) || e.code !== 'LEDGER_RECORD_INVALID') throw e;
    warn(`warning: ${e.message} It is replaced by this deploy.`);
    return undefined;
  }
}

/** Every current record of a biome, sorted by project (one listing, the ledger index, and a GET per record the index lacks). */
export async function readLedger(store: StorePort, biome: string): Promise<LedgerRecord[]> {
  const entries = await readLedgerEntries(store, biome);
  const bad = entries.find((e) => e.error);
  if (bad) throw bad.error;
  return entries.flatMap((e) => (e.record ? [e.record] : []));
}

const md5 = (body: Buffer) => createHash('md5').update(body).digest('hex');

/** One current record of a biome as read: its bytes, the record (or why it is invalid), and whether the index supplied it. */
export interface LedgerEntry {
  key: string;
  project: string;
  body?: Buffer;
  record?: LedgerRecord;
  error?: BiomeError;
  fromIndex: boolean;
  /** The ETag the listing gave, when the store gives one. */
  etag?: string;
}

/** The bytes the biome's ledger index holds per ledger key; empty when it is missing or unreadable (it is only a cache). */
async function readLedgerIndex(store: StorePort, biome: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  try {
    const raw = JSON.parse((await store.get(ledgerIndexKey(biome)))?.toString('utf8') ?? 'null') as {
      records?: Record<string, unknown>;
    } | null;
    for (const [project, text] of Object.entries(raw?.records ?? {}))
      if (typeof text === 'string') out.set(ledgerKey(biome, project), Buffer.from(text));
  } catch {
    /* a corrupt index is as good as none: every record is read */
  }
  return out;
}

/**
 * Every current record of a biome, read with as few requests as the store
 * allows: one listing of `ledger/`, one GET of the ledger index, and a GET
 * only for the records the index does not hold as they are now. An index
 * entry counts only when its bytes hash (MD5) to the ETag the listing gives
 * for the record, which is S3's (and s3rver's) ETag of a single-part upload:
 * so the index can be stale, missing, corrupt or written by a racing run, and
 * a reader still sees exactly the stored records. Where the listing gives no
 * such ETag (the folder store, SSE-KMS buckets), every record is read.
 */
export async function readLedgerEntries(store: StorePort, biome: string): Promise<LedgerEntry[]> {
  const listed = (await store.list(ledgerPrefix(biome))).filter((o) => o.key.endsWith('.json'));
  const index = listed.some((o) => o.etag) ? await readLedgerIndex(store, biome) : new Map<string, Buffer>();
  const entries = await Promise.all(
    listed.map(async (o): Promise<LedgerEntry | undefined> => {
      const project = o.key.slice(ledgerPrefix(biome).length, -'.json'.length);
      const etag = o.etag ? { etag: o.etag } : {};
      const cached = index.get(o.key);
      const parse = parseRecordAt(o.key);
      if (cached && o.etag && md5(cached) === o.etag) {
        try {
          return {
            key: o.key,
            project,
            body: cached,
            record: parse(cached.toString('utf8'), `${store.url} ${o.key}`),
            fromIndex: true,
            ...etag,
          };
        } catch (e) {
          if (!(e instanceof BiomeError)) throw e;
          return { key: o.key, project, body: cached, error: e, fromIndex: true, ...etag };
        }
      }
      let body: Buffer | undefined;
      try {
        const record = await readParsed(store, o.key, (text, source) =>
          parse((body = Buffer.from(text)).toString('utf8'), source),
        );
        return record ? { key: o.key, project, body, record, fromIndex: false, ...etag } : undefined;
      } catch (e) {
        if (!(e instanceof BiomeError)) throw e;
        return { key: o.key, project, body, error: e, fromIndex: false, ...etag };
      }
    }),
  );
  return entries
    .filter((e): e is LedgerEntry => !!e)
    .sort((a, b) => (a.project < b.project ? -1 : a.project > b.project ? 1 : 0));
}

/**
 * Writes the biome's ledger index from records just read, when it did not
 * already hold every one of them (after a deploy, a promotion, a rollback…),
 * so the next reader reads one object instead of one per project. Written by
 * whoever renders the biome (a writer of the biome); never needed for
 * correctness (see readLedgerEntries), so it takes no lease and a lost race
 * only costs the next reader a few GETs.
 */
export async function refreshLedgerIndex(store: StorePort, biome: string, entries: LedgerEntry[]): Promise<boolean> {
  // Without ETags in the listing (the folder store) an index is never used: do not write one.
  if (entries.every((e) => e.fromIndex) || !entries.some((e) => e.etag)) return false;
  const records = Object.fromEntries(
    entries.filter((e) => e.body && e.record).map((e) => [e.project, e.body!.toString('utf8')]),
  );
  try {
    await putFenced(
      store,
      ledgerIndexKey(biome),
      Buffer.from(`${JSON.stringify({ schemaVersion: 1, biome, records })}\n`),
    );
    return true;
  } catch {
    // A principal that may render a biome but not write its keys (a read-only re-render): readers just read every record.
    return false;
  }
}

/** The records at the given keys that validate, and the keys whose record does not (reported, never used). */
export async function readRecordsTolerant(
  store: StorePort,
  keys: string[],
): Promise<{ records: LedgerRecord[]; invalid: string[] }> {
  const invalid: string[] = [];
  const records = await Promise.all(
    keys.map((key) =>
      readParsed(store, key, parseRecordAt(key)).catch((e) => {
        if (!(e instanceof BiomeError)) throw e;
        invalid.push(key);
        return undefined;
      }),
    ),
  );
  return { records: records.filter((r): r is LedgerRecord => !!r), invalid: invalid.sort() };
}

/** The validated records at the given keys (ledger or history), in key order; keys that vanished are left out. */
export async function readRecordsAt(store: StorePort, keys: string[]): Promise<LedgerRecord[]> {
  const records = await Promise.all(keys.map((key) => readParsed(store, key, parseRecordAt(key))));
  return records.filter((r): r is LedgerRecord => !!r);
}

/**
 * Writes a project's record: first into the biome's history (the full log,
 * under the next sequence number of the project's history, so order never
 * depends on a clock), then as the current record. A crash in between leaves
 * the old record current, and a re-run converges.
 *
 * The write holds a shared lease on artifact collection (the sandpits' scope
 * or the main biomes', collectionScope) and checks, under it, that the
 * artifact is still stored: a destroy deletes artifacts only while it holds
 * both scopes alone and after it has re-read every record, so
 * no record ever names an artifact a destroy is deleting (see
 * docs/reliability.md).
 */
export async function writeRecord(store: StorePort, record: LedgerRecord): Promise<LedgerRecord> {
  // A batched deploy run holds a shared lease on the biome from its first record to its end:
  // a promote reads the biome's ledger, and a sleep or destroy changes it, only between runs.
  return withBiomeShared(store, record.biome, () => writeRecordUnderGcLease(store, record));
}

async function writeRecordUnderGcLease(store: StorePort, record: LedgerRecord): Promise<LedgerRecord> {
  return withLease(
    store,
    collectionScope(record.biome),
    'shared',
    async () => {
      const head = await store.head(record.artifactKey);
      if (!head || head.size === 0) {
        throw new BiomeError(
          'ARTIFACT_MISSING',
          `${store.url}: ${record.artifactKey} is no longer stored (a destroy removed it meanwhile); no record was written for ${record.project} in ${record.biome}.`,
          'Run the deploy again: it uploads the artifact anew.',
        );
      }
      // Read under the biome's lease (every record write holds it), which a destroy holds alone to count up.
      const incarnation = await readIncarnation(store, record.biome);
      const { incarnation: _stale, ...stamped } = record;
      for (let attempt = 0; ; attempt++) {
        const keys = (await store.list(historyPrefix(record.biome, record.project))).map((o) => o.key);
        const sequenced: LedgerRecord = {
          ...stamped,
          ...(incarnation ? { incarnation } : {}),
          sequence: nextHistorySequence(keys),
        };
        // Where the store enforces it, two writers never take one sequence number.
        if (
          (await putFenced(store, historyKey(sequenced), json(sequenced), { ifAbsent: true })) === 'exists' &&
          attempt < 5
        )
          continue;
        await putFenced(store, ledgerKey(record.biome, record.project), json(sequenced));
        return sequenced;
      }
    },
    { purpose: `record ${record.project} in ${record.biome}` },
  );
}

/**
 * Writes many records of one biome (a seed): the same keys, order and checks
 * as writeRecord for each, but what writeRecord reads per record is read once:
 * the incarnation, and one listing of the biome's history for the sequence
 * numbers. Only for a caller that holds the biome's lease exclusively, so no
 * other record of the biome is written meanwhile (a history key taken anyway
 * falls back to writeRecord's own retry). `artifactsChecked`: the caller has
 * verified every artifact under the collection lease it still holds (the
 * seed checks sha256 and size, more than writeRecord's HEAD), so no HEAD is
 * sent again. Returns the records as written.
 */
export async function writeRecords(
  store: StorePort,
  biome: string,
  records: LedgerRecord[],
  options: { concurrency: number; artifactsChecked: boolean },
): Promise<LedgerRecord[]> {
  if (records.some((r) => r.biome !== biome))
    throw new Error(`writeRecords(${biome}) was given a record of another biome`);
  return withBiomeShared(store, biome, () =>
    withLease(
      store,
      collectionScope(biome),
      'shared',
      async () => {
        if (heldLeaseMode(store, biomeScope(biome)) !== 'exclusive')
          throw new Error(`writeRecords(${biome}) needs the biome's exclusive lease`);
        const [incarnation, history] = await Promise.all([
          readIncarnation(store, biome),
          store.list(`biomes/${biome}/history/`),
        ]);
        const keysOf = new Map<string, string[]>();
        for (const { key } of history) {
          const project = key.slice(`biomes/${biome}/history/`.length).split('/')[0];
          keysOf.set(project, [...(keysOf.get(project) ?? []), key]);
        }
        const written = await mapLimited(records, options.concurrency, async (record) => {
          if (!options.artifactsChecked) return writeRecordUnderGcLease(store, record);
          const { incarnation: _stale, ...stamped } = record;
          const sequenced: LedgerRecord = {
            ...stamped,
            ...(incarnation ? { incarnation } : {}),
            sequence: nextHistorySequence(keysOf.get(record.project) ?? []),
          };
          if ((await putFenced(store, historyKey(sequenced), json(sequenced), { ifAbsent: true })) === 'exists')
            return writeRecordUnderGcLease(store, record);
          await putFenced(store, ledgerKey(biome, record.project), json(sequenced));
          return sequenced;
        });
        await indexWrittenLedger(store, biome, written);
        return written;
      },
      { purpose: `record ${records.length} project(s) in ${biome}` },
    ),
  );
}

/**
 * After writeRecords: when the records just written are the biome's whole
 * ledger, as the listing's ETags confirm (the readers' own rule), the ledger
 * index is written from their bytes, so the first reader reads one object
 * instead of one per record. Otherwise (older records, no ETags) nothing.
 */
async function indexWrittenLedger(store: StorePort, biome: string, records: LedgerRecord[]): Promise<void> {
  const bytes = new Map(records.map((r) => [ledgerKey(biome, r.project), { record: r, body: json(r) }]));
  const listed = (await store.list(ledgerPrefix(biome))).filter((o) => o.key.endsWith('.json'));
  const entries: LedgerEntry[] = [];
  for (const o of listed) {
    const ours = bytes.get(o.key);
    if (!ours || !o.etag || md5(ours.body) !== o.etag) return;
    entries.push({ key: o.key, project: ours.record.project, ...ours, fromIndex: false, etag: o.etag });
  }
  if (entries.length > 0) await refreshLedgerIndex(store, biome, entries);
}

/**
 * Makes a record that is already in the history the current one again (a
 * repair), under the collection lease and only while its artifact is stored.
 */
export async function writeCurrentRecord(store: StorePort, record: LedgerRecord): Promise<void> {
  await withLease(
    store,
    collectionScope(record.biome),
    'shared',
    async () => {
      if (!(await store.head(record.artifactKey))) {
        throw new BiomeError(
          'ARTIFACT_MISSING',
          `${store.url}: ${record.artifactKey}, named by the newest valid history record of ${record.project} in ${record.biome}, is no longer stored.`,
          `Deploy ${record.project} to ${record.biome} again instead.`,
        );
      }
      await putFenced(store, ledgerKey(record.biome, record.project), json(record));
    },
    { purpose: `restore ${record.project} in ${record.biome}` },
  );
}

/** Every history record of a project in a biome, oldest first (by sequence; older time-stamped keys before them). */
export async function readHistory(store: StorePort, biome: string, project: string): Promise<LedgerRecord[]> {
  return (await readHistoryReport(store, biome, project)).records;
}

/** A project's history with the keys of records that failed validation (reported, never used). */
export async function readHistoryReport(
  store: StorePort,
  biome: string,
  project: string,
): Promise<{ records: LedgerRecord[]; keys: string[]; invalid: { key: string; error: BiomeError }[] }> {
  const objects = await store.list(historyPrefix(biome, project));
  const records: LedgerRecord[] = [];
  const keys: string[] = [];
  const invalid: { key: string; error: BiomeError }[] = [];
  for (const o of objects) {
    try {
      const record = await readParsed(store, o.key, parseRecordAt(o.key));
      if (record) {
        records.push(record);
        keys.push(o.key);
      }
    } catch (e) {
      if (!(e instanceof BiomeError)) throw e;
      invalid.push({ key: o.key, error: e });
    }
  }
  return { records, keys, invalid };
}

/**
 * Every current record of a biome, and the ledger keys whose record failed
 * validation (reported by the caller, skipped, repaired by biome-repair).
 */
export async function readLedgerReport(
  store: StorePort,
  biome: string,
): Promise<{ records: LedgerRecord[]; invalid: { key: string; project: string; error: BiomeError }[] }> {
  const entries = await readLedgerEntries(store, biome);
  return {
    records: entries.flatMap((e) => (e.record ? [e.record] : [])),
    invalid: entries
      .flatMap((e) => (e.error ? [{ key: e.key, project: e.project, error: e.error }] : []))
      .sort((a, b) => (a.key < b.key ? -1 : 1)),
  };
}

/** The biome's incarnation: 0 until it is first destroyed, one more after each destroy. */
export async function readIncarnation(store: StorePort, biome: string): Promise<number> {
  const key = incarnationKey(biome);
  return parseIncarnation((await store.get(key))?.toString('utf8'), `${store.url} ${key}`);
}

/**
 * Counts the biome's incarnation up: called by a destroy under the biome's
 * lease held alone, so a biome created again writes records (and history
 * keys) of a new incarnation.
 */
export async function bumpIncarnation(store: StorePort, biome: string): Promise<number> {
  const next = (await readIncarnation(store, biome)) + 1;
  await putFenced(store, incarnationKey(biome), json({ incarnation: next }));
  return next;
}

/** A biome's metadata; LEDGER_RECORD_INVALID when it is malformed or names another biome. */
export async function readBiomeMeta(store: StorePort, biome: string): Promise<BiomeMeta | undefined> {
  return readParsed(store, biomeMetaKey(biome), (text, source) => parseBiomeMeta(text, source, biome));
}

/** Writes biome metadata as is; prefer updateBiomeMeta, which serialises with other writers. */
export async function writeBiomeMeta(store: StorePort, meta: BiomeMeta): Promise<void> {
  await putFenced(store, biomeMetaKey(meta.biome), json(meta));
}

/** A store that collects biome.json updates and applies them later, in one locked write (see batchStore). */
export interface DeferredBiomeMeta {
  /** Takes (once) a shared lease on the biome that the store's owner releases at its end; undefined for another biome. */
  holdBiome(biome: string): Promise<Lease | undefined>;
  deferBiomeMetaUpdate(biome: string, update: (meta: BiomeMeta | undefined) => BiomeMeta | undefined): boolean;
}

/**
 * Runs `fn` under a shared lease on the biome (a deploy's record, and the
 * settings it resolves for it, against biome-config, sleep, promote and
 * destroy, which hold it alone): the batch's lease for the whole run when the
 * store is a batch's, else one taken for `fn`.
 */
export async function withBiomeShared<T>(store: StorePort, biome: string, fn: () => Promise<T>): Promise<T> {
  const lease = await (store as Partial<DeferredBiomeMeta>).holdBiome?.(biome);
  if (lease) return withHeldLease(store, biomeScope(biome), 'shared', lease, fn);
  return withLease(store, biomeScope(biome), 'shared', fn, { purpose: `deploy to ${biome}` });
}

/**
 * Read-modify-write of `biomes/<biome>/biome.json` under the biome's
 * exclusive lease: `update` sees the metadata as it is now (not as it was
 * when the caller started, so a deploy never undoes a sleep that happened
 * meanwhile) and returns the new metadata, or undefined to write nothing.
 * The result must name the same biome.
 */
export async function updateBiomeMeta(
  store: StorePort,
  biome: string,
  update: (meta: BiomeMeta | undefined) => BiomeMeta | undefined,
): Promise<BiomeMeta | undefined> {
  const deferring = store as Partial<DeferredBiomeMeta>;
  if (deferring.deferBiomeMetaUpdate?.(biome, update)) return undefined;
  return withLease(
    store,
    biomeScope(biome),
    'exclusive',
    async () => {
      const next = update(await readBiomeMeta(store, biome));
      if (!next) return undefined;
      if (next.biome !== biome)
        throw new BiomeError(
          'LEDGER_RECORD_INVALID',
          `Biome metadata for ${biome} names biome ${next.biome}; it is not written.`,
          `Repair it with nx run infra:biome-repair --biome=${biome}.`,
        );
      await writeBiomeMeta(store, next);
      return next;
    },
    { purpose: `update ${biomeMetaKey(biome)}` },
  );
}
