import { parseLedgerRecord, LedgerRecord } from '../../../../tools/nx-biome/src/core/ledger';

/** A ledger object named by an S3 event: `[<prefix>/]biomes/<biome>/ledger/<project>.json`. */
export interface LedgerObjectRef {
  bucket: string;
  key: string;
  /** Store prefix before `biomes/` ('' or ending in '/'); artifact keys are below it too. */
  prefix: string;
  biome: string;
  project: string;
}

const LEDGER_KEY = /^((?:[^/]+\/)*?)biomes\/([a-z][a-z0-9-]*)\/ledger\/([a-z][a-z0-9-]*)\.json$/;

/** Minimal shape of an S3 event notification (as delivered to Lambda). */
export interface S3EventLike {
  Records?: { eventName?: string; s3?: { bucket?: { name?: string }; object?: { key?: string } } }[];
}

/**
 * The ledger objects an S3 event names. Keys arrive URL-encoded (spaces as
 * '+'); objects that are not ledger records (history, biome.json, artifacts)
 * are left out.
 */
export function ledgerObjectsOf(event: S3EventLike): LedgerObjectRef[] {
  const out: LedgerObjectRef[] = [];
  for (const r of event.Records ?? []) {
    if (!r.eventName?.startsWith('ObjectCreated:') || !r.s3?.bucket?.name || !r.s3.object?.key) continue;
    const key = decodeURIComponent(r.s3.object.key.replace(/\+/g, ' '));
    const m = LEDGER_KEY.exec(key);
    if (m) out.push({ bucket: r.s3.bucket.name, key, prefix: m[1], biome: m[2], project: m[3] });
  }
  return out;
}

/**
 * Parses and checks a ledger record (with the plugin's own validation) and
 * that it belongs where it was found.
 */
export function readLedgerRecord(text: string, ref: LedgerObjectRef): LedgerRecord {
  const source = `s3://${ref.bucket}/${ref.key}`;
  const record = parseLedgerRecord(text, source);
  if (record.biome !== ref.biome || record.project !== ref.project) {
    throw new Error(`Ledger record ${source} is for ${record.project} in ${record.biome}, not ${ref.project} in ${ref.biome}`);
  }
  return record;
}
