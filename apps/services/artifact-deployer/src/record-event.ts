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
  Records?: { eventName?: string; s3?: { bucket?: { name?: string }; object?: { key?: string; sequencer?: string } } }[];
}

/** An event record that can never be handled (retrying cannot make it well-formed). */
export interface MalformedRecord {
  reason: string;
  key?: string;
}

/**
 * The ledger objects an S3 event names, and the records that are malformed.
 * Keys arrive URL-encoded (spaces as '+'); a key whose %-encoding is broken is
 * malformed. Objects that are not ledger records (history, biome.json,
 * artifacts) are left out.
 */
export function parseS3Event(event: S3EventLike): { refs: LedgerObjectRef[]; malformed: MalformedRecord[] } {
  const refs: LedgerObjectRef[] = [];
  const malformed: MalformedRecord[] = [];
  for (const r of event.Records ?? []) {
    if (!r.eventName?.startsWith('ObjectCreated:') || !r.s3?.bucket?.name || !r.s3.object?.key) continue;
    let key: string;
    try {
      key = decodeURIComponent(r.s3.object.key.replace(/\+/g, ' '));
    } catch {
      malformed.push({ reason: 'the object key is not valid %-encoding', key: r.s3.object.key });
      continue;
    }
    const m = LEDGER_KEY.exec(key);
    if (m) refs.push({ bucket: r.s3.bucket.name, key, prefix: m[1], biome: m[2], project: m[3] });
  }
  return { refs, malformed };
}

/** The ledger objects an S3 event names (malformed records left out; see parseS3Event). */
export function ledgerObjectsOf(event: S3EventLike): LedgerObjectRef[] {
  return parseS3Event(event).refs;
}

/**
 * Whether a biome belongs to the deployer's environment: its main biome or
 * one of its sandpits (`<env>-<suffix>`). A staging record replicated into
 * the dev bucket is refused.
 */
export function biomeOfEnvironment(biome: string, environment: string): boolean {
  return biome === environment || biome.startsWith(`${environment}-`);
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
