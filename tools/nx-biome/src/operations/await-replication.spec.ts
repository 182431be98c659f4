import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Server, startS3rver, withEnv } from '../../../../test/support/s3rver';
import { createS3Store } from '../adapters/store/s3-store';
import { BiomeError } from '../core/errors';
import { parseBiomeName } from '../core/names';
import { testConfig } from '../core/test-config';
import { LedgerRecord } from '../core/ledger';
import { BiomeTfvars, renderTfvars } from '../core/tfvars';
import { awaitReplication } from './await-replication';

/**
 * The replication wait against a real S3 server (s3rver on loopback) holding
 * the devops source bucket and the workload account's replica; replication
 * itself is played by the test, copying objects between the two.
 */

const SOURCE = 'geo-devops-artifacts-dev-444444444444';
const REPLICA = 'geo-artifacts-dev-111111111111';
const SHA = 'c'.repeat(40);

let server: S3Server;
let tfvars: BiomeTfvars;
const keys = [
  `artifacts/assay-ingest/assay-ingest-${SHA}.zip`,
  `artifacts/grade-predict/grade-predict-${SHA}.zip`,
  `artifacts/ore-grade/ore-grade-${SHA}.tar.gz`,
];

function record(project: string, kind: LedgerRecord['kind'], key: string): LedgerRecord {
  return {
    schemaVersion: 1,
    project,
    kind,
    biome: 'dev-bob',
    environment: 'dev',
    artifactKey: key,
    sha256: 'f'.repeat(64),
    size: 1,
    gitSha: SHA,
    dirty: false,
    deployedAt: '2026-11-20T10:00:00.000Z',
    deployedBy: 'bob',
    settings: {},
  };
}

const inS3 = <T>(fn: () => Promise<T>) => withEnv(server.env, fn);
const put = (bucket: string, key: string) => inS3(() => createS3Store(bucket, '').put(key, Buffer.from(key)));
const sourceStore = { url: `s3://${SOURCE}`, bucket: SOURCE };

/** A virtual clock: sleeping advances it (and may play replication); nothing really waits. */
function clock(onSleep: (ms: number, slept: number[]) => Promise<void> = async () => undefined) {
  let t = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => t,
    sleep: async (ms: number) => {
      slept.push(ms);
      t += ms;
      await onSleep(ms, slept);
    },
  };
}

beforeAll(async () => {
  server = await startS3rver([SOURCE, REPLICA]);
  const config = testConfig();
  tfvars = renderTfvars({
    config,
    biome: parseBiomeName('dev-bob', config),
    records: [
      record('assay-ingest', 'service', keys[0]),
      record('grade-predict', 'service', keys[1]),
      record('ore-grade', 'model', keys[2]),
    ],
  }).tfvars;
  for (const k of keys) await put(SOURCE, k);
}, 300_000);

afterAll(async () => server?.stop());

describe('awaitReplication (before infra:deploy --apply runs Terraform)', () => {
  it('reads the workload bucket from the rendered tfvars (environments.<env>.bucket, else the naming rule)', () => {
    expect(tfvars.artifact_bucket).toBe(REPLICA);
  });

  it('returns at once when every artifact of the ledger is already in the workload bucket', async () => {
    for (const k of keys) await put(REPLICA, k);
    const lines: string[] = [];
    const c = clock();
    await inS3(() =>
      awaitReplication({ tfvars, store: sourceStore, log: (l) => lines.push(l), sleep: c.sleep, now: c.now }),
    );
    expect(c.slept).toEqual([]);
    expect(lines).toEqual([`replication: all 3 artifact(s) are in s3://${REPLICA}.`]);
  });

  it('waits, with growing delays, until a late artifact arrives, and HEADs only what is still missing', async () => {
    const late = `artifacts/late/late-${SHA}.zip`;
    const withLate = {
      ...tfvars,
      services: { ...tfvars.services, late: { ...tfvars.services['assay-ingest'], s3_key: late } },
    };
    const heads: string[] = [];
    const c = clock(async (_ms, slept) => {
      if (slept.length === 3) await put(REPLICA, late);
    });
    const lines: string[] = [];
    await inS3(() =>
      awaitReplication({
        tfvars: withLate,
        store: sourceStore,
        log: (l) => lines.push(l),
        sleep: c.sleep,
        now: c.now,
        head: async (bucket, key) => {
          heads.push(key);
          return (await createS3Store(bucket, '').head(key)) !== undefined;
        },
      }),
    );
    expect(c.slept).toEqual([2_000, 4_000, 8_000]);
    expect(heads.filter((k) => k === late)).toHaveLength(4);
    expect(heads.filter((k) => k === keys[0])).toHaveLength(1);
    expect(lines[0]).toBe(
      `replication: waiting for 1 artifact(s) in s3://${REPLICA} (e.g. ${late}); next check in 2 s.`,
    );
    expect(lines.at(-1)).toBe(`replication: all 4 artifact(s) are in s3://${REPLICA}.`);
  });

  it('gives up after the timeout with REPLICATION_TIMEOUT naming every missing key and the fix; Terraform is not reached', async () => {
    const missing = [`artifacts/never/never-${SHA}.zip`, `artifacts/gone/gone-${SHA}.zip`];
    const withMissing = {
      ...tfvars,
      services: {
        ...tfvars.services,
        never: { ...tfvars.services['assay-ingest'], s3_key: missing[0] },
        gone: { ...tfvars.services['assay-ingest'], s3_key: missing[1] },
      },
    };
    const c = clock();
    const error = await inS3(() =>
      awaitReplication({
        tfvars: withMissing,
        store: sourceStore,
        log: () => undefined,
        sleep: c.sleep,
        now: c.now,
        timeoutMs: 60_000,
        maxDelayMs: 30_000,
      }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BiomeError);
    const e = error as BiomeError;
    expect(e.code).toBe('REPLICATION_TIMEOUT');
    expect(e.message).toContain(`2 of 5 artifact(s) have not replicated from s3://${SOURCE} to s3://${REPLICA}`);
    for (const k of missing) expect(e.message).toContain(k);
    expect(e.message).toContain('Terraform was not run');
    expect(e.hint).toMatch(/replication rule/);
    // Bounded: 2 + 4 + 8 + 16 + 30 (cap) = 60 s of waiting, never more than the timeout.
    expect(c.slept).toEqual([2_000, 4_000, 8_000, 16_000, 30_000]);
  });

  it('skips, saying why, when the store is not S3 or is the workload bucket itself', async () => {
    const lines: string[] = [];
    const never = async () => {
      throw new Error('no HEAD expected');
    };
    await awaitReplication({
      tfvars,
      store: { url: 'file:///tmp/.biome-store/dev' },
      log: (l) => lines.push(l),
      head: never,
    });
    await awaitReplication({
      tfvars,
      store: { url: `s3://${REPLICA}`, bucket: REPLICA },
      log: (l) => lines.push(l),
      head: never,
    });
    expect(lines).toEqual([
      `replication: not waiting (the store file:///tmp/.biome-store/dev is not an S3 bucket, so nothing replicates to ${REPLICA}).`,
      `replication: not waiting (the store is the workload bucket ${REPLICA} itself (no replication)).`,
    ]);
  });

  it('an unreachable workload bucket is a STORE_UNREACHABLE error, not a silent wait', async () => {
    const error = await inS3(() =>
      awaitReplication({
        tfvars: { ...tfvars, artifact_bucket: 'geo-artifacts-dev-999999999999' },
        store: sourceStore,
        log: () => undefined,
        sleep: async () => undefined,
        timeoutMs: 1_000,
      }),
    ).catch((e: unknown) => e);
    expect((error as BiomeError).code).toBe('STORE_UNREACHABLE');
    expect((error as BiomeError).message).toContain('s3://geo-artifacts-dev-999999999999');
  });
});
