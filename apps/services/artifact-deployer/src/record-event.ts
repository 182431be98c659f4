import { parseLedgerRecord, LedgerRecord } from '../../../../tools/nx-biome/src/core/ledger';

/** A ledger object named by an S3 event: `[<prefix>/]biomes/<biome>/ledger/<project>.json`. */
export interface LedgerObjectRef {
  bucket: string;
  key: string;
  /** The configured store prefix before `biomes/` ('' or ending in '/'); artifact keys are below it too. */
  prefix: string;
  biome: string;
  project: string;
}

/** One biome or project name: the plugin's NAME_PATTERN (single hyphens, no dots, no slashes). */
const NAME = '[a-z][a-z0-9]*(?:-[a-z0-9]+)*';
const LEDGER_KEY = new RegExp(`^biomes/(${NAME})/ledger/(${NAME})\\.json$`);

/** Minimal shape of an S3 event notification (as delivered to Lambda). */
export interface S3EventLike {
  Records?: {
    eventName?: string;
    s3?: { bucket?: { name?: string }; object?: { key?: string; sequencer?: string } };
  }[];
}

/** An event record that can never be handled (retrying cannot make it well-formed). */
export interface MalformedRecord {
  reason: string;
  key?: string;
}

/**
 * Checks the store prefix the deployer serves: '' or segments ending in '/',
 * with no empty, '.' or '..' segment.
 */
export function normalizeStorePrefix(prefix: string | undefined): string {
  const p = prefix ?? '';
  if (p === '') return '';
  if (
    !p.endsWith('/') ||
    p.startsWith('/') ||
    p
      .slice(0, -1)
      .split('/')
      .some((s) => s === '' || s === '.' || s === '..')
  ) {
    throw new Error(
      `STORE_PREFIX ${JSON.stringify(p)} is not a store prefix: use '' or segments ending in '/' (e.g. stores/dev/)`,
    );
  }
  return p;
}

/**
 * What one decoded object key is to the deployer: a ledger record of the exact
 * layout it serves (`<prefix>biomes/<biome>/ledger/<project>.json`, nothing
 * nested, nothing before the configured prefix), a key that only looks like
 * one (a forged or nested ledger key: never deployed, dead-lettered), or any
 * other object (history, biome.json, artifacts: ignored).
 */
export function classifyObjectKey(
  key: string,
  prefix: string,
): { kind: 'ledger'; biome: string; project: string } | { kind: 'forged'; reason: string } | { kind: 'other' } {
  const m = key.startsWith(prefix) ? LEDGER_KEY.exec(key.slice(prefix.length)) : null;
  if (m) return { kind: 'ledger', biome: m[1], project: m[2] };
  // Anything else that names a ledger folder is a key the plugin never writes.
  if (/(^|\/)ledger\//.test(key) && key.endsWith('.json')) {
    return {
      kind: 'forged',
      reason: `the key is not ${prefix}biomes/<biome>/ledger/<project>.json (the only ledger layout this deployer serves)`,
    };
  }
  return { kind: 'other' };
}

/**
 * The ledger objects an S3 event names, and the records that are malformed.
 * Keys arrive URL-encoded (spaces as '+'); a key whose %-encoding is broken,
 * or that names a ledger record outside the exact layout at `prefix` (nested
 * below another biome, `..`, encoded slashes), is malformed. Objects that are
 * not ledger records (history, biome.json, artifacts) are left out.
 */
export function parseS3Event(
  event: S3EventLike,
  prefix = '',
): { refs: LedgerObjectRef[]; malformed: MalformedRecord[] } {
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
    const c = classifyObjectKey(key, prefix);
    if (c.kind === 'ledger') refs.push({ bucket: r.s3.bucket.name, key, prefix, biome: c.biome, project: c.project });
    else if (c.kind === 'forged') malformed.push({ reason: c.reason, key });
  }
  return { refs, malformed };
}

/** The ledger objects an S3 event names (malformed records left out; see parseS3Event). */
export function ledgerObjectsOf(event: S3EventLike, prefix = ''): LedgerObjectRef[] {
  return parseS3Event(event, prefix).refs;
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
    throw new KeyContentMismatch(
      `Ledger record ${source} is for ${record.project} in ${record.biome}, not ${ref.project} in ${ref.biome}: its key and its content disagree, not deployed`,
    );
  }
  return record;
}

/** A record whose key and content name different biomes or projects: never deployed, retrying cannot change it. */
export class KeyContentMismatch extends Error {
  override readonly name = 'KeyContentMismatch';
}
