import { DeployerDeps, DeployResult, deployLedgerObject, RetryLater } from './deploy';
import { ledgerObjectsOf, S3EventLike } from './record-event';

/** An S3 event, delivered directly or wrapped in SQS messages. */
export interface DeployerEvent extends S3EventLike {
  Records?: (NonNullable<S3EventLike['Records']>[number] & { eventSource?: string; body?: string })[];
}

/** Unwraps SQS messages (S3 → SQS → Lambda) into the S3 event records they carry. */
export function s3EventOf(event: DeployerEvent): S3EventLike {
  const records: NonNullable<S3EventLike['Records']> = [];
  for (const r of event.Records ?? []) {
    if (r.eventSource === 'aws:sqs' && r.body) {
      const inner = JSON.parse(r.body) as S3EventLike;
      records.push(...(inner.Records ?? []));
    } else records.push(r);
  }
  return { Records: records };
}

/**
 * Handles one event: every ledger record it names, in order. A record that
 * cannot be deployed yet (artifact not replicated, update still in progress)
 * makes the whole event fail after the others are done, so it is delivered
 * again; the records already handled are then reported unchanged.
 */
export async function handleEvent(event: DeployerEvent, deps: DeployerDeps): Promise<DeployResult[]> {
  const results: DeployResult[] = [];
  const retry: string[] = [];
  for (const ref of ledgerObjectsOf(s3EventOf(event))) {
    try {
      const r = await deployLedgerObject(ref, deps);
      deps.log({ level: 'info', message: r.outcome, ...r });
      results.push(r);
    } catch (e) {
      if (e instanceof RetryLater) {
        deps.log({ level: 'warn', message: 'retry later', biome: ref.biome, project: ref.project, reason: e.message });
        retry.push(`${ref.key}: ${e.message}`);
      } else if ((e as { code?: string }).code === 'LEDGER_RECORD_INVALID' || /^Ledger record /.test((e as Error).message)) {
        // A bad record does not get better by retrying: report it, deploy nothing.
        deps.log({ level: 'error', message: 'invalid ledger record, not deployed', key: ref.key, reason: (e as Error).message });
      } else throw e;
    }
  }
  if (retry.length > 0) throw new RetryLater(`not deployed yet, retry: ${retry.join('; ')}`);
  return results;
}
