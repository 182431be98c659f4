import { BiomeMeta, isIsoTime, LedgerRecord, MAX_TTL_HOURS } from './ledger';
import { newestRecord } from './lifecycle';
import { BiomeRef } from './names';

/** One step of a repair. */
export type RepairAction =
  | { kind: 'rewrite-meta'; key: string; meta: BiomeMeta; why: string }
  | { kind: 'restore'; key: string; from: string; record: LedgerRecord; why: string }
  | { kind: 'remove'; key: string; why: string };

/** What a repair found in the store: the objects that fail validation, and what is still sound. */
export interface RepairInput {
  biome: BiomeRef;
  /** The biome.json that failed validation (its text), if it did. */
  badMeta?: { key: string; text: string; why: string };
  /** Current records that failed validation. */
  badLedger: { key: string; project: string; why: string }[];
  /** History records that failed validation. */
  badHistory: { key: string; why: string }[];
  /** The newest valid history record of each project with a bad current record. */
  newestHistory: Map<string, { key: string; record: LedgerRecord }>;
  /** The valid current records (what biome.json is rebuilt around). */
  records: LedgerRecord[];
  now: Date;
  ttlHours: number;
}

/**
 * Plans the repair of a biome's objects: a bad current record goes back to
 * the newest valid history record of its project (or is removed when there
 * is none), a bad history record is removed, and a bad biome.json is rebuilt
 * from what it still holds that is valid, with its own biome's name.
 */
export function planBiomeRepair(input: RepairInput): RepairAction[] {
  const actions: RepairAction[] = [];
  const restored: LedgerRecord[] = [];
  for (const bad of input.badLedger) {
    const newest = input.newestHistory.get(bad.project);
    if (newest) {
      actions.push({ kind: 'restore', key: bad.key, from: newest.key, record: newest.record, why: bad.why });
      restored.push(newest.record);
    } else actions.push({ kind: 'remove', key: bad.key, why: `${bad.why}; no valid history record to restore` });
  }
  for (const bad of input.badHistory) actions.push({ kind: 'remove', key: bad.key, why: bad.why });
  if (input.badMeta)
    actions.push({
      kind: 'rewrite-meta',
      key: input.badMeta.key,
      meta: rebuildMeta(input, [...input.records, ...restored]),
      why: input.badMeta.why,
    });
  return actions;
}

/** A biome.json from the valid parts of a bad one, the biome's own name, and its records. */
function rebuildMeta(input: RepairInput, records: LedgerRecord[]): BiomeMeta {
  let raw: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(input.badMeta!.text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) raw = parsed;
  } catch {
    // Nothing of it can be kept.
  }
  const newest = newestRecord(records);
  const sandpit = input.biome.sandpit;
  const ttl =
    typeof raw.ttlHours === 'number' && raw.ttlHours > 0 && raw.ttlHours <= MAX_TTL_HOURS ? raw.ttlHours : undefined;
  const expires = sandpit
    ? isIsoTime(raw.expires)
      ? raw.expires
      : new Date(input.now.getTime() + (ttl ?? input.ttlHours) * 3600_000).toISOString()
    : null;
  return {
    schemaVersion: 1,
    biome: input.biome.name,
    environment: input.biome.environment.name,
    owner: typeof raw.owner === 'string' && raw.owner ? raw.owner : (newest?.deployedBy ?? 'unknown'),
    created: isIsoTime(raw.created) ? raw.created : input.now.toISOString(),
    expires,
    ...(sandpit && ttl !== undefined ? { ttlHours: ttl } : {}),
    asleep: typeof raw.asleep === 'boolean' ? raw.asleep : false,
    ...(isIsoTime(raw.lastDeployedAt)
      ? { lastDeployedAt: raw.lastDeployedAt }
      : newest
        ? { lastDeployedAt: newest.deployedAt }
        : {}),
  };
}
