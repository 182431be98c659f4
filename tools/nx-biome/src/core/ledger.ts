import { BiomeError } from './errors';
import { canonicalJson } from './canonical-json';
import { FULL_SHA, NAME_PATTERN, ProjectKind, PROJECT_KINDS } from './constants';
import type { ResolvedSettings } from './settings';

export { canonicalJson } from './canonical-json';

/** One project's deployment in one biome. Written to `biomes/<b>/ledger/<name>.json`. */
export interface LedgerRecord {
  schemaVersion: 1;
  project: string;
  kind: ProjectKind;
  biome: string;
  environment: string;
  artifactKey: string;
  sha256: string;
  size: number;
  gitSha: string;
  dirty: boolean;
  deployedAt: string;
  deployedBy: string;
  ciJobUrl?: string;
  /**
   * Where the record came from: a deploy, a promotion from another biome, a
   * rollback, a settings change, or the seed of a sandpit from its
   * environment's main biome (`from` that biome, `commit` the main biome's
   * commit the sandpit started at; `gitSha` stays the commit the bytes were
   * built from).
   */
  origin?: { action: 'deploy' | 'promote' | 'rollback' | 'configure' | 'seed'; from?: string; commit?: string };
  /**
   * Position of this record in the project's history in the biome (1, 2, ...):
   * set by the writer, so order never depends on a clock. Absent in records
   * written before sequences existed.
   */
  sequence?: number;
  /**
   * The biome's incarnation when the record was written: 0 (written as
   * absence) until the biome is first destroyed, one more after each destroy.
   * Sequences start again in each incarnation, so records are ordered by
   * (incarnation, sequence): the artifact deployer compares sequences within
   * one incarnation only.
   */
  incarnation?: number;
  settings: Record<string, unknown>;
  /**
   * The settings this biome runs the project with (project defaults →
   * environment → biome, data sets, secret references): what the tfvars are
   * rendered from. Absent in records written before layered settings.
   */
  resolvedSettings?: ResolvedSettings;
}

/** Biome metadata, `biomes/<b>/biome.json`. */
export interface BiomeMeta {
  schemaVersion: 1;
  biome: string;
  environment: string;
  owner: string;
  created: string;
  /** ISO time after which a sandpit may be reaped; null for main biomes. */
  expires: string | null;
  /** The sandpit's own time-to-live (biome-create --ttl); deploys refresh the expiry by it. */
  ttlHours?: number;
  asleep: boolean;
  lastDeployedAt?: string;
  /**
   * Set once a sandpit has been seeded from its environment's main biome
   * (biome-create --from): which biome, at which of its commits, when. Written
   * after every seed record, so a seed cut short is finished by running it again.
   */
  seed?: BiomeSeed;
}

/** Where a seeded sandpit started: its main biome and that biome's commit. */
export interface BiomeSeed {
  from: string;
  commit: string;
  at: string;
}

export const ledgerPrefix = (biome: string) => `biomes/${biome}/ledger/`;
export const ledgerKey = (biome: string, project: string) => `biomes/${biome}/ledger/${project}.json`;
export const biomeMetaKey = (biome: string) => `biomes/${biome}/biome.json`;
/**
 * The biome's ledger index: a copy of every current record's bytes in one
 * object, so a reader that lists the ledger reads one object instead of one
 * per project. A cache only: an entry counts only while its bytes hash to the
 * ETag the listing gives for the record (see ledger-store.ts).
 */
export const ledgerIndexKey = (biome: string) => `biomes/${biome}/index/ledger.json`;
export const historyPrefix = (biome: string, project: string) => `biomes/${biome}/history/${project}/`;

/** The longest time-to-live a sandpit may be given (same bound as `sandpitTtlHours`). */
export const MAX_TTL_HOURS = 24 * 90;
/** The largest artifact a record may name: S3's object size limit (5 TiB). */
export const MAX_ARTIFACT_BYTES = 5 * 1024 ** 4;

/**
 * History key. Records with a sequence are `s<12-digit sequence>-<time>-<sha>.json`:
 * they sort after every older time-stamped key (`<time>-<sha>.json`, a digit
 * first) and among themselves by sequence, whatever the writers' clocks said.
 */
export function historyKey(record: LedgerRecord): string {
  const stamp = record.deployedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const seq = record.sequence === undefined ? '' : `s${String(record.sequence).padStart(12, '0')}-`;
  // A biome created again writes its history under keys no earlier incarnation used (a replica never loses the old ones).
  const incarnation = record.incarnation ? `-i${record.incarnation}` : '';
  return `${historyPrefix(record.biome, record.project)}${seq}${stamp}-${record.gitSha}${incarnation}.json`;
}

/** Where a biome's incarnation counter lives: beside its lease, which a destroy never deletes. */
export const incarnationKey = (biome: string) => `locks/biomes/${biome}/incarnation.json`;

/** The incarnation a counter object holds (0 when there is none: the biome was never destroyed). */
export function parseIncarnation(text: string | undefined, source: string): number {
  if (text === undefined) return 0;
  let n: unknown;
  try {
    n = (JSON.parse(text) as { incarnation?: unknown }).incarnation;
  } catch {
    n = undefined;
  }
  if (!Number.isSafeInteger(n) || (n as number) < 0)
    throw new BiomeError(
      'LEDGER_RECORD_INVALID',
      `The incarnation counter ${source} is not {"incarnation": <whole number>}.`,
      'Restore it (the highest incarnation any record of the biome carries, plus one) or delete it if the biome was never destroyed.',
    );
  return n as number;
}

/** The sequence a history key carries (0 for the older, time-stamped keys). */
export function historySequence(key: string): number {
  const m = /\/s(\d{12})-[^/]*\.json$/.exec(key);
  return m ? Number(m[1]) : 0;
}

/** The sequence of the next record of a project, from the keys of its history. */
export function nextHistorySequence(keys: string[]): number {
  return keys.reduce((max, k) => Math.max(max, historySequence(k)), 0) + 1;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** True for an ISO 8601 date-time that names a real instant (`2026-11-30T03:00:00.000Z`). */
export function isIsoTime(value: unknown): value is string {
  return typeof value === 'string' && ISO_TIME.test(value) && !Number.isNaN(Date.parse(value));
}

/**
 * The fix for a record that fails validation: biome-repair, which restores
 * the newest valid history record (or removes a record that has none). A
 * rollback needs two valid history records, so it is not the fix to name.
 */
export function repairHint(source: string): string {
  const biome = /(?:^|[\s/])biomes\/([^/\s]+)\//.exec(source)?.[1];
  return `Repair it with nx run infra:biome-repair --biome=${biome ?? '<biome>'} (it restores the newest valid history record, or removes a record that has none), or deploy the project again.`;
}

function invalid(source: string, problem: string): BiomeError {
  return new BiomeError('LEDGER_RECORD_INVALID', `Ledger record ${source} ${problem}.`, repairHint(source));
}

/**
 * Validates a ledger record read back from a store. A record that could point
 * outside `artifacts/<project>/` or carry a bad name is rejected, never used.
 */
export function parseLedgerRecord(text: string, source: string): LedgerRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw invalid(source, 'is not valid JSON');
  }
  const r = raw as Partial<LedgerRecord>;
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw invalid(source, 'is not a JSON object');
  if (r.schemaVersion !== 1) throw invalid(source, `has unknown schemaVersion ${JSON.stringify(r.schemaVersion)}`);
  if (typeof r.project !== 'string' || !NAME_PATTERN.test(r.project))
    throw invalid(source, 'has an invalid project name');
  if (typeof r.biome !== 'string' || !NAME_PATTERN.test(r.biome)) throw invalid(source, 'has an invalid biome name');
  if (!PROJECT_KINDS.includes(r.kind as ProjectKind))
    throw invalid(source, `has unknown kind ${JSON.stringify(r.kind)}`);
  const keyPattern = new RegExp(
    `^artifacts/${r.project}/${r.project}-[0-9a-f]{40}(-dirty-[0-9a-f]{12})?\\.(zip|tar\\.gz)$`,
  );
  if (typeof r.artifactKey !== 'string' || !keyPattern.test(r.artifactKey))
    throw invalid(source, `points outside artifacts/${r.project}/ (artifactKey ${JSON.stringify(r.artifactKey)})`);
  if (typeof r.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.sha256)) throw invalid(source, 'has an invalid sha256');
  if (typeof r.gitSha !== 'string' || !FULL_SHA.test(r.gitSha)) throw invalid(source, 'has an invalid git SHA');
  if (typeof r.dirty !== 'boolean') throw invalid(source, 'has no dirty flag');
  if (!isIsoTime(r.deployedAt))
    throw invalid(source, `has an invalid deployedAt ${JSON.stringify(r.deployedAt)} (an ISO date-time is expected)`);
  if (typeof r.environment !== 'string' || typeof r.deployedBy !== 'string' || r.size === undefined)
    throw invalid(source, 'is missing fields');
  if (!Number.isSafeInteger(r.size) || r.size < 0 || r.size > MAX_ARTIFACT_BYTES)
    throw invalid(
      source,
      `has an invalid size ${JSON.stringify(r.size)} (a whole number of bytes up to ${MAX_ARTIFACT_BYTES} is expected)`,
    );
  if (r.sequence !== undefined && (!Number.isSafeInteger(r.sequence) || r.sequence < 1))
    throw invalid(source, `has an invalid sequence ${JSON.stringify(r.sequence)}`);
  if (r.incarnation !== undefined && (!Number.isSafeInteger(r.incarnation) || r.incarnation < 0))
    throw invalid(source, `has an invalid incarnation ${JSON.stringify(r.incarnation)}`);
  if (
    r.origin !== undefined &&
    (!r.origin ||
      typeof r.origin !== 'object' ||
      (r.origin.commit !== undefined && (typeof r.origin.commit !== 'string' || !FULL_SHA.test(r.origin.commit))))
  )
    throw invalid(source, `has an invalid origin ${JSON.stringify(r.origin)}`);
  if (r.settings !== undefined && (!r.settings || typeof r.settings !== 'object' || Array.isArray(r.settings)))
    throw invalid(source, 'has settings that are not an object');
  return { settings: {}, ...r } as LedgerRecord;
}

/**
 * Validates biome metadata read back from a store. With `expectedBiome`, the
 * name inside must be the biome whose key it was read from: a file that
 * names another biome is refused, never followed. Times must be real ISO
 * times and `ttlHours` a bounded number of hours, so nothing downstream
 * meets "soon" or "never".
 */
export function parseBiomeMeta(text: string, source: string, expectedBiome?: string): BiomeMeta {
  const bad = (problem: string) =>
    new BiomeError(
      'LEDGER_RECORD_INVALID',
      `Biome metadata ${source} ${problem}.`,
      `Repair it with nx run infra:biome-repair --biome=${expectedBiome ?? '<biome>'} (or recreate it with the biome-create target).`,
    );
  let raw: Partial<BiomeMeta>;
  try {
    raw = JSON.parse(text);
  } catch {
    throw bad('is not valid JSON');
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw bad('is not a JSON object');
  if (
    typeof raw.biome !== 'string' ||
    !NAME_PATTERN.test(raw.biome) ||
    typeof raw.owner !== 'string' ||
    typeof raw.created !== 'string'
  )
    throw bad('is missing fields');
  if (expectedBiome !== undefined && raw.biome !== expectedBiome)
    throw bad(`names biome ${JSON.stringify(raw.biome)}, not ${expectedBiome}`);
  if (raw.schemaVersion !== undefined && raw.schemaVersion !== 1)
    throw bad(`has unknown schemaVersion ${JSON.stringify(raw.schemaVersion)}`);
  if (!isIsoTime(raw.created))
    throw bad(`has an invalid created ${JSON.stringify(raw.created)} (an ISO date-time is expected)`);
  if (raw.expires !== undefined && raw.expires !== null && !isIsoTime(raw.expires))
    throw bad(`has an invalid expires ${JSON.stringify(raw.expires)} (an ISO date-time or null is expected)`);
  if (raw.lastDeployedAt !== undefined && !isIsoTime(raw.lastDeployedAt))
    throw bad(`has an invalid lastDeployedAt ${JSON.stringify(raw.lastDeployedAt)}`);
  if (
    raw.ttlHours !== undefined &&
    (typeof raw.ttlHours !== 'number' ||
      !Number.isFinite(raw.ttlHours) ||
      raw.ttlHours <= 0 ||
      raw.ttlHours > MAX_TTL_HOURS)
  )
    throw bad(
      `has an invalid ttlHours ${JSON.stringify(raw.ttlHours)} (hours between 0 and ${MAX_TTL_HOURS} are expected)`,
    );
  if (raw.asleep !== undefined && typeof raw.asleep !== 'boolean')
    throw bad(`has an invalid asleep ${JSON.stringify(raw.asleep)}`);
  if (raw.environment !== undefined && typeof raw.environment !== 'string') throw bad('has an invalid environment');
  if (raw.seed !== undefined) {
    const seed = raw.seed as Partial<BiomeSeed> | null;
    if (
      !seed ||
      typeof seed !== 'object' ||
      typeof seed.from !== 'string' ||
      !NAME_PATTERN.test(seed.from) ||
      typeof seed.commit !== 'string' ||
      !FULL_SHA.test(seed.commit) ||
      !isIsoTime(seed.at)
    )
      throw bad(
        `has an invalid seed ${JSON.stringify(raw.seed)} (a biome name, a full commit SHA and an ISO date-time are expected)`,
      );
  }
  return { schemaVersion: 1, asleep: false, expires: null, environment: '', ...raw } as BiomeMeta;
}

/** What a deploy does for one project. */
export type DeployAction =
  /** The biome records these bytes and settings: keep the record; `restore` re-uploads its missing artifact. */
  | { action: 'unchanged'; record: LedgerRecord; restore: boolean }
  /** Write a new record (publishing its artifact first, unless the store holds it). */
  | { action: 'record'; record: LedgerRecord; restore: boolean };

/**
 * Decides a project's deploy. The biome's current record counts only when
 * the store still holds its bytes (`currentArtifact`, checked by the caller):
 * - same bytes and settings: unchanged, the old record and key stay (a
 *   missing artifact is uploaded again under its recorded key);
 * - same bytes, other settings: a new record that keeps the stored key (the
 *   bytes are not uploaded again under the new commit's name);
 * - other bytes, or a current record whose artifact holds other bytes than it
 *   records (edited or tampered): a new record for the new artifact.
 */
export function planProjectDeploy(input: {
  current?: LedgerRecord;
  next: LedgerRecord;
  currentArtifact?: 'same' | 'absent' | 'different';
}): DeployAction {
  const { current, next } = input;
  if (!current || current.sha256 !== next.sha256 || input.currentArtifact === 'different')
    return { action: 'record', record: next, restore: false };
  const restore = input.currentArtifact === 'absent';
  if (sameSettings(current.settings, next.settings) && sameSettings(current.resolvedSettings, next.resolvedSettings))
    return { action: 'unchanged', record: current, restore };
  return { action: 'record', record: { ...next, artifactKey: current.artifactKey, size: current.size }, restore };
}

function sameSettings(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/**
 * Refreshes a sandpit's expiry on deploy by its own time-to-live (the one it
 * was created with, else the configured default); main biomes never expire.
 */
export function touchBiomeMeta(input: {
  existing?: BiomeMeta;
  biome: string;
  environment: string;
  sandpit: boolean;
  owner: string;
  now: Date;
  ttlHours: number;
}): BiomeMeta {
  const ttlHours = input.existing?.ttlHours ?? input.ttlHours;
  const expires = input.sandpit ? new Date(input.now.getTime() + ttlHours * 3600_000).toISOString() : null;
  const base: BiomeMeta = input.existing ?? {
    schemaVersion: 1,
    biome: input.biome,
    environment: input.environment,
    owner: input.owner,
    created: input.now.toISOString(),
    expires,
    asleep: false,
  };
  const keepLonger = base.expires && expires && Date.parse(base.expires) > Date.parse(expires);
  return {
    ...base,
    expires: input.sandpit ? (keepLonger ? base.expires : expires) : null,
    lastDeployedAt: input.now.toISOString(),
  };
}
