import { BiomeMeta, biomeMetaKey, historyKey, historyPrefix, LedgerRecord, ledgerKey, ledgerPrefix, parseBiomeMeta, parseLedgerRecord } from '../core/ledger';
import { StorePort } from '../adapters/store/store';

const json = (value: unknown) => Buffer.from(`${JSON.stringify(value, null, 2)}\n`);

/** The current record of one project in a biome, if any. */
export async function readRecord(store: StorePort, biome: string, project: string): Promise<LedgerRecord | undefined> {
  const key = ledgerKey(biome, project);
  const body = await store.get(key);
  return body ? parseLedgerRecord(body.toString('utf8'), `${store.url} ${key}`) : undefined;
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
    keys.map(async (key) => {
      const body = await store.get(key);
      return body ? parseLedgerRecord(body.toString('utf8'), `${store.url} ${key}`) : undefined;
    }),
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
    const body = await store.get(o.key);
    if (body) out.push(parseLedgerRecord(body.toString('utf8'), `${store.url} ${o.key}`));
  }
  return out;
}

export async function readBiomeMeta(store: StorePort, biome: string): Promise<BiomeMeta | undefined> {
  const key = biomeMetaKey(biome);
  const body = await store.get(key);
  return body ? parseBiomeMeta(body.toString('utf8'), `${store.url} ${key}`) : undefined;
}

export async function writeBiomeMeta(store: StorePort, meta: BiomeMeta): Promise<void> {
  await store.put(biomeMetaKey(meta.biome), json(meta), { contentType: 'application/json' });
}
