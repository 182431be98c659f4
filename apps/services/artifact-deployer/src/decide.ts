import { sha256HexToBase64 } from '../../../../tools/nx-biome/src/core/artifact';
import type { LedgerRecord } from '../../../../tools/nx-biome/src/core/ledger';

/** Tag on each function: the deployedAt of the ledger record whose code it runs. */
export const DEPLOYED_AT_TAG = 'biome:deployed-at';
/** Tag on each function: the commit of that record. */
export const GIT_SHA_TAG = 'biome:git-sha';
/** Tag on each function: the history sequence of that record (the order that does not depend on any clock). */
export const SEQUENCE_TAG = 'biome:sequence';
/** Tag on each function: the biome incarnation of that record (sequences start again in each one). */
export const INCARNATION_TAG = 'biome:incarnation';

/** A whole-number tag, or undefined when absent or malformed. */
const wholeTag = (fn: FunctionState, tag: string) =>
  fn.tags[tag] !== undefined && /^\d{1,15}$/.test(fn.tags[tag]) ? Number(fn.tags[tag]) : undefined;

/** What the function runs now, as GetFunction reports it. */
export interface FunctionState {
  name: string;
  arn: string;
  /** base64 of the sha256 of the deployment package. */
  codeSha256: string;
  revisionId?: string;
  lastUpdateStatus?: string;
  lastUpdateStatusReason?: string;
  state?: string;
  tags: Record<string, string>;
}

export type Decision =
  | { action: 'update' }
  | { action: 'wait'; reason: string }
  | { action: 'skip'; outcome: 'unchanged' | 'older'; reason: string; retag: boolean };

/**
 * Whether a record comes after the one the function runs. Records carry the
 * sequence of their project's history in the biome (set by the one writer of
 * that history), so order never depends on a clock: a record stamped a year
 * ahead does not freeze the function. A record without a sequence (written
 * before sequences existed) is older than any record with one; two such
 * records fall back to their deploy times. Records of a later biome
 * incarnation are newer than any record of an earlier one, whatever their
 * sequences. `historyReset`: the record the
 * function runs is gone from the biome's history (the biome was destroyed
 * and created again), so its sequence means nothing any more.
 */
export function isNewer(record: LedgerRecord, fn: FunctionState, historyReset = false): boolean {
  // Sequences are compared within one incarnation only: a biome destroyed and created again (its
  // old history still in this replica, which never replicates deletes) counts from 1 again.
  const incarnation = record.incarnation ?? 0;
  const runningIncarnation = wholeTag(fn, INCARNATION_TAG) ?? 0;
  if (incarnation !== runningIncarnation) return incarnation > runningIncarnation;
  if (historyReset) return true;
  const running = wholeTag(fn, SEQUENCE_TAG);
  if (record.sequence !== undefined) return running === undefined || record.sequence >= running;
  if (running !== undefined) return false;
  const runningAt = fn.tags[DEPLOYED_AT_TAG];
  return !runningAt || Number.isNaN(Date.parse(runningAt)) || Date.parse(record.deployedAt) >= Date.parse(runningAt);
}

/** The tags that say which record a function runs. */
export function recordTags(record: LedgerRecord): Record<string, string> {
  return {
    [DEPLOYED_AT_TAG]: record.deployedAt,
    [GIT_SHA_TAG]: record.gitSha,
    ...(record.sequence !== undefined ? { [SEQUENCE_TAG]: String(record.sequence) } : {}),
    ...(record.incarnation ? { [INCARNATION_TAG]: String(record.incarnation) } : {}),
  };
}

/**
 * Decides what to do with a ledger record for a function: nothing when the
 * function already runs these bytes (a duplicated event), nothing when the
 * function runs a newer record (an event that arrived late), wait while an
 * update is in progress, else update the code.
 */
export function decideCodeUpdate(record: LedgerRecord, fn: FunctionState, historyReset = false): Decision {
  const newer = isNewer(record, fn, historyReset);
  const tags = recordTags(record);
  if (fn.codeSha256 === sha256HexToBase64(record.sha256)) {
    return {
      action: 'skip',
      outcome: 'unchanged',
      reason: 'the function already runs these bytes',
      retag: newer && Object.entries(tags).some(([k, v]) => fn.tags[k] !== v),
    };
  }
  const running =
    fn.tags[SEQUENCE_TAG] !== undefined ? `sequence ${fn.tags[SEQUENCE_TAG]}` : `deployed ${fn.tags[DEPLOYED_AT_TAG]}`;
  if (!newer)
    return {
      action: 'skip',
      outcome: 'older',
      reason: `the function runs a newer record (${running}) than this one (${record.sequence !== undefined ? `sequence ${record.sequence}` : `deployed ${record.deployedAt}`})`,
      retag: false,
    };
  if (fn.lastUpdateStatus === 'InProgress' || fn.state === 'Pending')
    return { action: 'wait', reason: `an update of ${fn.name} is in progress` };
  return { action: 'update' };
}
