import { DeployerDeps, DeployResult, deployLedgerObject, RecordRefused, RetryLater } from './deploy';
import { KeyContentMismatch, LedgerObjectRef, parseS3Event, S3EventLike } from './record-event';

/** An SQS message as Lambda's SQS event source delivers it. */
export interface SqsRecord {
  /** `aws:sqs`. */
  eventSource: string;
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes?: { ApproximateReceiveCount?: string };
}

/** A direct S3 event, or SQS messages that each carry one (S3 → SQS → Lambda). */
export interface DeployerEvent extends S3EventLike {
  Records?: (NonNullable<S3EventLike['Records']>[number] & Partial<SqsRecord>)[];
}

/** The SQS calls the deployer makes. */
export interface QueuePort {
  /** Makes a message visible again after `seconds` (ChangeMessageVisibility). */
  retryAfter(receiptHandle: string, seconds: number): Promise<void>;
  /** Sends a message body straight to the dead-letter queue. */
  deadLetter(body: string, reason: string): Promise<void>;
}

/** The event source mapping's answer with ReportBatchItemFailures: the messages to deliver again. */
export interface BatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/**
 * How long a message waits before its next try: 30 s, doubling per receive,
 * at most 15 min. A record whose artifact is still replicating is tried again
 * within seconds, not after the queue's 30-minute visibility timeout; with
 * maxReceiveCount 10 a record waits about 75 min in all before the DLQ.
 */
export function retryDelaySeconds(receiveCount: number): number {
  const n = Number.isSafeInteger(receiveCount) && receiveCount > 0 ? receiveCount : 1;
  return Math.min(900, 30 * 2 ** Math.min(n - 1, 10));
}

const invalidRecord = (e: unknown) =>
  (e as { code?: string }).code === 'LEDGER_RECORD_INVALID' || /^Ledger record /.test((e as Error).message);

/** Deploys the records of one S3 event; what cannot be deployed yet is thrown as RetryLater after the others are done. */
async function deployRefs(refs: LedgerObjectRef[], deps: DeployerDeps, results: DeployResult[]): Promise<void> {
  const retry: string[] = [];
  for (const ref of refs) {
    try {
      const r = await deployLedgerObject(ref, deps);
      deps.log({ level: 'info', message: r.outcome, ...r });
      results.push(r);
    } catch (e) {
      if (e instanceof RetryLater) {
        deps.log({ level: 'warn', message: 'retry later', biome: ref.biome, project: ref.project, reason: e.message });
        retry.push(`${ref.key}: ${e.message}`);
      } else throw e;
    }
  }
  if (retry.length > 0) throw new RetryLater(`not deployed yet, retry: ${retry.join('; ')}`);
}

/**
 * Handles a direct S3 event: every ledger record it names, in order. A record
 * that cannot be deployed yet makes the whole event fail after the others are
 * done, so it is delivered again. Records that can never be deployed (invalid,
 * another environment's, key and content disagreeing, malformed or forged keys) are logged as errors and dropped.
 */
export async function handleEvent(event: DeployerEvent, deps: DeployerDeps): Promise<DeployResult[]> {
  const results: DeployResult[] = [];
  const { refs, malformed } = parseS3Event(event, deps.storePrefix ?? '');
  for (const m of malformed)
    deps.log({ level: 'error', message: 'malformed event record, not deployed', reason: m.reason, key: m.key });
  const retry: string[] = [];
  for (const ref of refs) {
    try {
      await deployRefs([ref], deps, results);
    } catch (e) {
      if (e instanceof RetryLater) retry.push(e.message);
      else if (e instanceof RecordRefused)
        deps.log({
          level: 'error',
          message: 'record of another environment, not deployed',
          key: ref.key,
          reason: e.message,
        });
      else if (e instanceof KeyContentMismatch)
        deps.log({
          level: 'error',
          message: 'record key and content disagree, not deployed',
          key: ref.key,
          reason: e.message,
        });
      else if (invalidRecord(e))
        deps.log({
          level: 'error',
          message: 'invalid ledger record, not deployed',
          key: ref.key,
          reason: (e as Error).message,
        });
      else throw e;
    }
  }
  if (retry.length > 0) throw new RetryLater(retry.join('; '));
  return results;
}

/**
 * Handles SQS messages (the event source mapping reports batch item
 * failures). Per message: deployed, or given back with a growing delay
 * (ChangeMessageVisibility) when it cannot be deployed yet or a call failed,
 * or sent to the dead-letter queue at once, with an error line saying why,
 * when no retry can help (bad JSON, bad %-encoding, an invalid record,
 * another environment's record).
 */
export async function handleSqsEvent(
  event: DeployerEvent,
  deps: DeployerDeps & { queue: QueuePort },
): Promise<BatchResponse & { results: DeployResult[] }> {
  const failures: { itemIdentifier: string }[] = [];
  const results: DeployResult[] = [];
  for (const message of event.Records ?? []) {
    const { messageId, receiptHandle, body } = message;
    if (!messageId || !receiptHandle || typeof body !== 'string') continue;
    const toDeadLetter = async (reason: string) => {
      deps.log({ level: 'error', message: 'sent to the dead-letter queue without retrying', messageId, reason });
      await deps.queue.deadLetter(body, reason);
    };
    let inner: S3EventLike & { Event?: string };
    try {
      inner = JSON.parse(body);
    } catch {
      await toDeadLetter('the message body is not valid JSON');
      continue;
    }
    if (!inner || typeof inner !== 'object' || inner.Event === 's3:TestEvent') continue;
    const { refs, malformed } = parseS3Event(inner, deps.storePrefix ?? '');
    if (malformed.length > 0) {
      await toDeadLetter(malformed.map((m) => `${m.reason}: ${JSON.stringify(m.key)}`).join('; '));
      continue;
    }
    try {
      await deployRefs(refs, deps, results);
    } catch (e) {
      if (e instanceof RecordRefused || e instanceof KeyContentMismatch) await toDeadLetter(e.message);
      else if (invalidRecord(e)) await toDeadLetter(`invalid ledger record: ${(e as Error).message}`);
      else {
        // Not deployable yet, or a call failed (a throttled API, a timeout): try again later, sooner first.
        const receives = Number(message.attributes?.ApproximateReceiveCount ?? 1);
        const delay = retryDelaySeconds(receives);
        deps.log({
          level: e instanceof RetryLater ? 'warn' : 'error',
          message: 'retrying later',
          messageId,
          receives,
          delaySeconds: delay,
          reason: (e as Error).message,
        });
        await deps.queue.retryAfter(receiptHandle, delay).catch((err) =>
          deps.log({
            level: 'warn',
            message: 'could not change the message visibility',
            messageId,
            reason: (err as Error).message,
          }),
        );
        failures.push({ itemIdentifier: messageId });
      }
    }
  }
  return { batchItemFailures: failures, results };
}
