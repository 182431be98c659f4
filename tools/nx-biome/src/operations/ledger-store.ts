import { BiomeError } from '../core/errors';
import { BiomeMeta, biomeMetaKey, historyKey, historyPrefix, LedgerRecord, ledgerKey, ledgerPrefix, parseBiomeMeta, parseLedgerRecord } from '../core/ledger';
import { StorePort } from '../adapters/store/store';

const json = (value: unknown) => Buffer.from(`${JSON.stringify(value, null, 2)}\n`);

/**
 * Reads and parses a small JSON object. Some S3-compatible servers (s3rver)
 * write an object in place, so a reader racing a writer can see half of it:
 * a parse failure is read again a few times before it counts as invalid.
 */
async function readParsed<T>(store: StorePort, key: string, parse: (text: string, source: string) => T): Promise<T | undefined> {
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
      throw new BiomeError('LEDGER_RECORD_INVALID', `Ledger record ${source} is for ${record.project} in ${record.biome}, not ${m[2] ?? m[3]} in ${m[1]}.`, 'Restore it from the biome history (rollback) or delete it and redeploy the project.');
    }
    return record;
  };
}

/** The current record of one project in a biome, if any. */
export async function readRecord(store: StorePort, biome: string, project: string): Promise<LedgerRecord | undefined> {
  const key = ledgerKey(biome, project);
  return readParsed(store, key, parseRecordAt(key));
}

/** Every current record of a biome, sorted by project. */
export async function readLedger(store: StorePort, biome: string): Promise<LedgerRecord[]> {
  const objects = await store.list(ledgerPrefix(biome));
  const records = await readRecordsAt(store, objects.map((o) => o.key).filter((k) => k.endsWith('.json')));
  return records.sort((a, b) => (a.project < b.project ? -1 : 1));
}

/** The validated records at the given keys (ledger or history), in key order; keys that vanished are left out. */
export async function readRecordsAt(store: StorePort, keys: string[]): Promise<LedgerRecord[]> {
  const records = await Promise.all(
    keys.map((key) => readParsed(store, key, parseRecordAt(key))),
  );
  return records.filter((r): r is LedgerRecord => !!r);
}

/**
 * Writes a project's record: first into the biome's history (the full log),
 * then as the current record. A crash in between leaves the old record
 * current, and a re-run converges.
 */
export async function writeRecord(store: StorePort, record: LedgerRecord): Promise<void> {
  await store.put(historyKey(record), json(record), { contentType: 'application/json' });
  await store.put(ledgerKey(record.biome, record.project), json(record), { contentType: 'application/json' });
}

/** Every history record of a project in a biome, oldest first. */
export async function readHistory(store: StorePort, biome: string, project: string): Promise<LedgerRecord[]> {
  const objects = await store.list(historyPrefix(biome, project));
  const out: LedgerRecord[] = [];
  for (const o of objects) {
    const record = await readParsed(store, o.key, parseRecordAt(o.key));
    if (record) out.push(record);
  }
  return out;
}

export async function readBiomeMeta(store: StorePort, biome: string): Promise<BiomeMeta | undefined> {
  return readParsed(store, biomeMetaKey(biome), parseBiomeMeta);
}

export async function writeBiomeMeta(store: StorePort, meta: BiomeMeta): Promise<void> {
  await store.put(biomeMetaKey(meta.biome), json(meta), { contentType: 'application/json' });
}
