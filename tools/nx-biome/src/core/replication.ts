import { BiomeTfvars } from './tfvars';

/**
 * Whether `infra:deploy --apply` must wait for S3 replication before Terraform
 * runs, and for which keys. Deploys write to the store (the devops account's
 * bucket); Lambda and the model copy read the rendered `artifact_bucket` (the
 * replica in the workload account). Pure: no I/O.
 */
export type ReplicationPlan = { wait: false; reason: string } | { wait: true; bucket: string; keys: string[] };

export function planReplicationWait(tfvars: BiomeTfvars, store: { url: string; bucket?: string }): ReplicationPlan {
  const bucket = tfvars.artifact_bucket;
  if (!store.bucket)
    return { wait: false, reason: `the store ${store.url} is not an S3 bucket, so nothing replicates to ${bucket}` };
  if (store.bucket === bucket)
    return { wait: false, reason: `the store is the workload bucket ${bucket} itself (no replication)` };
  const keys = [
    ...new Set(
      [...Object.values(tfvars.services), ...Object.values(tfvars.workflows), ...Object.values(tfvars.models)].map(
        (p) => p.s3_key,
      ),
    ),
  ].sort();
  if (keys.length === 0) return { wait: false, reason: 'the biome records no artifact' };
  return { wait: true, bucket, keys };
}

/** Delay before the n-th retry (0-based): doubles from `first`, capped at `max`. */
export function backoffDelay(attempt: number, first: number, max: number): number {
  return Math.min(max, first * 2 ** Math.min(attempt, 20));
}
