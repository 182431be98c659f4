import { BiomeError } from '../core/errors';
import { backoffDelay, planReplicationWait } from '../core/replication';
import { BiomeTfvars } from '../core/tfvars';
import { createS3Store } from '../adapters/store/s3-store';
import { StorePort } from '../adapters/store/store';

export interface AwaitReplicationOptions {
  tfvars: BiomeTfvars;
  /** The store the deploys wrote to (the replication source). */
  store: Pick<StorePort, 'url' | 'bucket'>;
  log(line: string): void;
  /** HEADs one key of the workload bucket: true when it is there. Default: the S3 SDK with the ambient credentials and endpoint. */
  head?: (bucket: string, key: string) => Promise<boolean>;
  /**
   * Checks once that the bucket exists and may be read: a HEAD cannot tell a
   * missing bucket from a missing key (both 404). Default: one ListObjectsV2.
   */
  probe?: (bucket: string, firstKey: string) => Promise<void>;
  /** Give up after this long (default 15 minutes: S3 Replication Time Control's SLA). */
  timeoutMs?: number;
  firstDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const realHead = (bucket: string, key: string) =>
  createS3Store(bucket, '')
    .head(key)
    .then((o) => o !== undefined);
const realProbe = (bucket: string, firstKey: string) =>
  createS3Store(bucket, '')
    .list(firstKey)
    .then(() => undefined);

/**
 * Before Terraform runs: waits until every artifact key the biome's ledger
 * records is present in the workload account's bucket (HEAD with exponential
 * backoff, bounded), so CreateFunction and the model copy never meet a key
 * S3 replication has not delivered yet. Fails with REPLICATION_TIMEOUT
 * naming the keys still missing.
 */
export async function awaitReplication(options: AwaitReplicationOptions): Promise<void> {
  const plan = planReplicationWait(options.tfvars, options.store);
  if (!plan.wait) {
    options.log(`replication: not waiting (${plan.reason}).`);
    return;
  }
  const head = options.head ?? realHead;
  await (options.probe ?? (options.head ? async () => undefined : realProbe))(plan.bucket, plan.keys[0]);
  const timeoutMs = options.timeoutMs ?? 15 * 60_000;
  const first = options.firstDelayMs ?? 2_000;
  const max = options.maxDelayMs ?? 30_000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = options.now ?? Date.now;
  const start = now();
  let missing = plan.keys;
  for (let attempt = 0; ; attempt++) {
    const present = await Promise.all(missing.map((key) => head(plan.bucket, key)));
    missing = missing.filter((_, i) => !present[i]);
    if (missing.length === 0) {
      options.log(`replication: all ${plan.keys.length} artifact(s) are in s3://${plan.bucket}.`);
      return;
    }
    const elapsed = now() - start;
    if (elapsed >= timeoutMs) {
      throw new BiomeError(
        'REPLICATION_TIMEOUT',
        `After ${Math.round(elapsed / 1000)} s, ${missing.length} of ${plan.keys.length} artifact(s) have not replicated from ${options.store.url} to s3://${plan.bucket}: ${missing.join(', ')}. Terraform was not run.`,
        `Check the replication rule of the source bucket (S3 console: Replication metrics / the objects' ReplicationStatus, FAILED means the role or the destination key policy refuses it) and that environments.<env>.bucket names the replica; then run infra:deploy --apply again.`,
      );
    }
    const delay = Math.min(backoffDelay(attempt, first, max), timeoutMs - elapsed);
    options.log(
      `replication: waiting for ${missing.length} artifact(s) in s3://${plan.bucket} (e.g. ${missing[0]}); next check in ${Math.ceil(delay / 1000)} s.`,
    );
    await sleep(delay);
  }
}
