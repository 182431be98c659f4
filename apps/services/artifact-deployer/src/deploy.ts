import type { WorkspaceConfig } from '../../../../tools/nx-biome/src/core/config';
import { historyKey, LedgerRecord } from '../../../../tools/nx-biome/src/core/ledger';
import { sha256HexToBase64 } from '../../../../tools/nx-biome/src/core/artifact';
import { resourceName } from '../../../../tools/nx-biome/src/core/names';
import { decideCodeUpdate, DEPLOYED_AT_TAG, FunctionState, GIT_SHA_TAG, recordTags, SEQUENCE_TAG } from './decide';
import { biomeOfEnvironment, LedgerObjectRef, readLedgerRecord } from './record-event';

/** The S3 calls the deployer makes. */
export interface ObjectReader {
  getText(bucket: string, key: string): Promise<string | undefined>;
  head(bucket: string, key: string): Promise<{ size: number; metadata: Record<string, string> } | undefined>;
  /** Lowercase hex sha256 of the object's bytes (read and hashed, never taken from metadata) and the version read, or undefined when it is absent. */
  sha256(bucket: string, key: string): Promise<{ sha256: string; size: number; versionId?: string } | undefined>;
}

/** The Lambda calls the deployer makes. */
export interface FunctionUpdater {
  getFunction(name: string): Promise<FunctionState | undefined>;
  /** Throws UpdateConflict when an update is in progress or the revision moved on. */
  updateCode(input: {
    name: string;
    bucket: string;
    key: string;
    versionId?: string;
    revisionId?: string;
  }): Promise<void>;
  tag(arn: string, tags: Record<string, string>): Promise<void>;
}

export interface DeployerDeps {
  s3: ObjectReader;
  lambda: FunctionUpdater;
  /** Name prefix of every AWS resource (`namePrefix` of nx-biome.json). */
  namePrefix: string;
  /** The environment whose bucket this deployer serves: records of any other environment are refused. */
  environment: string;
  /** The store prefix of that bucket ('' or ending in '/'): only `<prefix>biomes/<biome>/ledger/<project>.json` is a ledger record. */
  storePrefix?: string;
  now(): number;
  sleep(ms: number): Promise<void>;
  log(entry: Record<string, unknown>): void;
  /** How long to wait for an update in progress before giving the event back for a retry. */
  maxWaitMs: number;
  pollMs: number;
}

/** Thrown to make Lambda (or SQS) deliver the event again later: nothing was deployed. */
export class RetryLater extends Error {
  override readonly name = 'RetryLater';
}

/** A record that must never be deployed here (another environment's): retrying cannot change that. */
export class RecordRefused extends Error {
  override readonly name = 'RecordRefused';
}

/** An update could not start now (ResourceConflictException, or the revision changed under us). */
export class UpdateConflict extends Error {
  override readonly name = 'UpdateConflict';
}

export type Outcome = 'updated' | 'unchanged' | 'older' | 'not-a-service' | 'no-function' | 'record-gone';

export interface DeployResult {
  biome: string;
  project: string;
  functionName?: string;
  outcome: Outcome;
  reason?: string;
  artifactKey?: string;
}

/** Lambda function of a biome's service: `<prefix>-<biome>--<project>` (the plugin's naming rule, one function per (biome, project) pair). */
export function functionNameOf(namePrefix: string, biome: string, project: string): string {
  return resourceName({ namePrefix } as WorkspaceConfig, biome, project);
}

/**
 * Where a record's artifact is read: `artifacts/<project>/...` right below the
 * configured store prefix, never below the prefix an event's key happens to
 * carry (a key nested under a sandpit's folder must not point the deployer at
 * bytes planted there). parseLedgerRecord has already pinned the artifact key
 * to `artifacts/<project>/<project>-<sha>.<ext>`.
 */
export function artifactObjectKey(storePrefix: string, record: LedgerRecord): string {
  if (!record.artifactKey.startsWith(`artifacts/${record.project}/`))
    throw new Error(`artifact key ${record.artifactKey} is outside artifacts/${record.project}/`);
  return `${storePrefix}${record.artifactKey}`;
}

/**
 * Refuses an artifact that is missing (not replicated yet: retry later) or
 * whose bytes differ from the record (never deployed). The bytes are read
 * and hashed here: metadata is not evidence. The version read is the one
 * deployed, where the bucket keeps versions.
 */
async function checkArtifact(
  ref: LedgerObjectRef,
  record: LedgerRecord,
  deps: DeployerDeps,
): Promise<{ key: string; versionId?: string }> {
  const key = artifactObjectKey(deps.storePrefix ?? '', record);
  const head = await deps.s3.head(ref.bucket, key);
  if (!head || head.size === 0)
    throw new RetryLater(`artifact s3://${ref.bucket}/${key} is not there yet (replication pending)`);
  if (head.size !== record.size)
    throw new RetryLater(
      `artifact s3://${ref.bucket}/${key} is ${head.size} bytes, the record says ${record.size}: not deployed`,
    );
  const read = await deps.s3.sha256(ref.bucket, key);
  if (!read) throw new RetryLater(`artifact s3://${ref.bucket}/${key} is not there yet (replication pending)`);
  if (read.sha256 !== record.sha256)
    throw new RetryLater(
      `artifact s3://${ref.bucket}/${key} has sha256 ${read.sha256}, the record says ${record.sha256}: not deployed`,
    );
  return { key, ...(read.versionId ? { versionId: read.versionId } : {}) };
}

/** True when the record a function's tags name is no longer in the biome's history (the biome was destroyed and created again). */
async function taggedRecordGone(
  ref: LedgerObjectRef,
  record: LedgerRecord,
  fn: FunctionState,
  deps: DeployerDeps,
): Promise<boolean> {
  const sequence = Number(fn.tags[SEQUENCE_TAG]);
  const deployedAt = fn.tags[DEPLOYED_AT_TAG];
  const gitSha = fn.tags[GIT_SHA_TAG];
  if (!Number.isSafeInteger(sequence) || !deployedAt || !gitSha) return false;
  const key = `${ref.prefix}${historyKey({ ...record, sequence, deployedAt, gitSha })}`;
  return !(await deps.s3.head(ref.bucket, key));
}

/**
 * Deploys the code a ledger record names to its biome's function: checks the
 * artifact, compares with what the function runs, and updates the code with
 * the S3 key, waiting while another update is in progress. Idempotent and
 * order-safe (see decideCodeUpdate).
 */
export async function deployLedgerObject(ref: LedgerObjectRef, deps: DeployerDeps): Promise<DeployResult> {
  const base = { biome: ref.biome, project: ref.project };
  const text = await deps.s3.getText(ref.bucket, ref.key);
  // The biome was destroyed after the event was sent: nothing to deploy.
  if (text === undefined) return { ...base, outcome: 'record-gone' };
  const record = readLedgerRecord(text, ref);
  if (record.environment !== deps.environment || !biomeOfEnvironment(record.biome, deps.environment)) {
    throw new RecordRefused(
      `s3://${ref.bucket}/${ref.key} is a record of biome ${record.biome} in environment ${record.environment}; this deployer serves ${deps.environment} only`,
    );
  }
  if (record.kind !== 'service')
    return { ...base, outcome: 'not-a-service', reason: `${record.kind}s are deployed by Terraform` };
  const artifact = await checkArtifact(ref, record, deps);
  const artifactKey = artifact.key;
  const functionName = functionNameOf(deps.namePrefix, ref.biome, ref.project);
  const deadline = deps.now() + deps.maxWaitMs;
  const result = (outcome: Outcome, reason?: string): DeployResult => ({
    ...base,
    functionName,
    outcome,
    reason,
    artifactKey,
  });

  for (;;) {
    const fn = await deps.lambda.getFunction(functionName);
    if (!fn)
      return result('no-function', 'Terraform has not created it yet; it will create it with the recorded artifact');
    let decision = decideCodeUpdate(record, fn);
    if (decision.action === 'skip' && decision.outcome === 'older' && (await taggedRecordGone(ref, record, fn, deps)))
      decision = decideCodeUpdate(record, fn, true);
    if (decision.action === 'skip') {
      if (decision.retag) await deps.lambda.tag(fn.arn, recordTags(record));
      return result(decision.outcome, decision.reason);
    }
    if (decision.action === 'update') {
      // Tag first: if the update then fails, a late event for an older record is still ignored, and a retry updates.
      await deps.lambda.tag(fn.arn, recordTags(record));
      try {
        await deps.lambda.updateCode({
          name: functionName,
          bucket: ref.bucket,
          key: artifactKey,
          versionId: artifact.versionId,
          revisionId: fn.revisionId,
        });
        const after = await waitForUpdate(functionName, deps, deadline);
        // What Lambda took from S3 is what was hashed: else the object changed in between (retry: it is hashed again).
        if (after && after.codeSha256 !== sha256HexToBase64(record.sha256)) {
          deps.log({
            level: 'error',
            message: 'deployed code does not match the record',
            functionName,
            artifactKey,
            codeSha256: after.codeSha256,
            expected: sha256HexToBase64(record.sha256),
          });
          throw new RetryLater(
            `${functionName}: Lambda reports CodeSha256 ${after.codeSha256} after the update, the record says ${sha256HexToBase64(record.sha256)}: s3://${ref.bucket}/${artifactKey} changed while it was deployed`,
          );
        }
        deps.log({
          level: 'info',
          message: 'updated',
          functionName,
          artifactKey,
          gitSha: record.gitSha,
          deployedAt: record.deployedAt,
          sequence: record.sequence,
        });
        return result('updated');
      } catch (e) {
        if (!(e instanceof UpdateConflict)) throw e;
        deps.log({ level: 'info', message: 'update conflict, retrying', functionName, reason: e.message });
      }
    } else {
      deps.log({ level: 'info', message: 'waiting', functionName, reason: decision.reason });
    }
    if (deps.now() >= deadline)
      throw new RetryLater(
        `${functionName}: an update is still in progress after ${Math.round(deps.maxWaitMs / 1000)} s`,
      );
    await deps.sleep(deps.pollMs);
  }
}

/** Waits until the function's last update has finished and returns its state then; a failed update is an error. */
async function waitForUpdate(name: string, deps: DeployerDeps, deadline: number): Promise<FunctionState | undefined> {
  for (;;) {
    const fn = await deps.lambda.getFunction(name);
    if (!fn || fn.lastUpdateStatus !== 'InProgress') {
      if (fn?.lastUpdateStatus === 'Failed')
        throw new Error(`${name}: the code update failed: ${fn.lastUpdateStatusReason ?? 'no reason given'}`);
      return fn;
    }
    // Started; Lambda finishes it on its own. CodeSha256 is already the new package's.
    if (deps.now() >= deadline) return fn;
    await deps.sleep(deps.pollMs);
  }
}
