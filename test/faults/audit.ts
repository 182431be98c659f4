import { createHash } from 'node:crypto';
import { StorePort } from '../../tools/nx-biome/src/adapters/store/store';
import { LedgerRecord, ledgerPrefix, parseLedgerRecord } from '../../tools/nx-biome/src/core/ledger';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export interface BiomeAudit {
  records: LedgerRecord[];
  /** Records whose artifact is missing or does not hash to the recorded sha256. */
  dangling: string[];
}

/**
 * Reads every ledger record of a biome straight from the store and checks
 * that the artifact it points at is there, complete, with the recorded sha256.
 */
export async function auditBiome(store: StorePort, biome: string): Promise<BiomeAudit> {
  const records: LedgerRecord[] = [];
  const dangling: string[] = [];
  for (const o of await store.list(ledgerPrefix(biome))) {
    const record = parseLedgerRecord((await store.get(o.key))!.toString('utf8'), o.key);
    records.push(record);
    const body = await store.get(record.artifactKey);
    if (!body) dangling.push(`${record.project}: ${record.artifactKey} is missing`);
    else if (sha256(body) !== record.sha256)
      dangling.push(`${record.project}: ${record.artifactKey} has sha256 ${sha256(body)}, recorded ${record.sha256}`);
  }
  return { records, dangling };
}

/**
 * Every artifact object in the store is complete: its bytes hash to the sha256
 * it was published with. Returns the keys that are partial or corrupt.
 */
export async function partialArtifacts(store: StorePort): Promise<string[]> {
  const bad: string[] = [];
  for (const o of await store.list('artifacts/')) {
    const head = await store.head(o.key);
    const body = await store.get(o.key);
    if (!head?.metadata?.sha256 || !body || sha256(body) !== head.metadata.sha256) bad.push(o.key);
  }
  return bad;
}
