import { sha256HexToBase64 } from '../../../../tools/nx-biome/src/core/artifact';
import type { LedgerRecord } from '../../../../tools/nx-biome/src/core/ledger';

/** Tag on each function: the deployedAt of the ledger record whose code it runs. */
export const DEPLOYED_AT_TAG = 'biome:deployed-at';
/** Tag on each function: the commit of that record. */
export const GIT_SHA_TAG = 'biome:git-sha';

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
 * Decides what to do with a ledger record for a function: nothing when the
 * function already runs these bytes (a duplicated event), nothing when the
 * function runs a newer record (an event that arrived late), wait while an
 * update is in progress, else update the code.
 */
export function decideCodeUpdate(record: LedgerRecord, fn: FunctionState): Decision {
  const runningAt = fn.tags[DEPLOYED_AT_TAG];
  const newer = !runningAt || Number.isNaN(Date.parse(runningAt)) || Date.parse(record.deployedAt) >= Date.parse(runningAt);
  if (fn.codeSha256 === sha256HexToBase64(record.sha256)) {
    return { action: 'skip', outcome: 'unchanged', reason: 'the function already runs these bytes', retag: newer && runningAt !== record.deployedAt };
  }
  if (!newer) return { action: 'skip', outcome: 'older', reason: `the function runs a newer record (deployed ${runningAt}) than this one (${record.deployedAt})`, retag: false };
  if (fn.lastUpdateStatus === 'InProgress' || fn.state === 'Pending') return { action: 'wait', reason: `an update of ${fn.name} is in progress` };
  return { action: 'update' };
}
