import { createHash } from 'node:crypto';
import { WorkspaceConfig } from '../../tools/nx-biome/src/core/config';
import { BiomeMeta, historyKey, ledgerKey, LedgerRecord } from '../../tools/nx-biome/src/core/ledger';
import { parseBiomeName, ProjectKind } from '../../tools/nx-biome/src/core/names';
import { StorePort } from '../../tools/nx-biome/src/adapters/store/store';
import { writeBiomeMeta, writeRecord } from '../../tools/nx-biome/src/operations/ledger-store';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** The bytes of a planted artifact: the same for a project and commit in every biome. */
export const artifactBytes = (project: string, gitSha: string) => Buffer.from(`${project}@${gitSha}`);

/** A ledger record as a deploy (or promotion, or rollback) writes it. */
export function plantedRecord(input: {
  project: string;
  kind?: ProjectKind;
  biome: string;
  environment: string;
  gitSha: string;
  deployedAt: Date;
  deployedBy: string;
  bytes?: string;
  origin?: LedgerRecord['origin'];
  ciJobUrl?: string;
}): LedgerRecord {
  const kind = input.kind ?? 'service';
  return {
    schemaVersion: 1,
    project: input.project,
    kind,
    biome: input.biome,
    environment: input.environment,
    artifactKey: `artifacts/${input.project}/${input.project}-${input.gitSha}.${kind === 'model' ? 'tar.gz' : 'zip'}`,
    // Same project and commit give the same bytes, whatever the biome: that is what "same as prod" compares.
    sha256:
      input.bytes === undefined
        ? createHash('sha256').update(artifactBytes(input.project, input.gitSha)).digest('hex')
        : sha256(input.bytes),
    size: 1234,
    gitSha: input.gitSha,
    dirty: false,
    deployedAt: input.deployedAt.toISOString(),
    deployedBy: input.deployedBy,
    ...(input.ciJobUrl ? { ciJobUrl: input.ciJobUrl } : {}),
    origin: input.origin ?? { action: 'deploy' },
    settings: {},
  };
}

/**
 * Plants biomes into stores the way deploys leave them: biome.json, the
 * ledger and the history of every record. `deployments[biome][project]` lists
 * the commits deployed there in order (the last one is current).
 */
export async function plantBiomes(input: {
  config: WorkspaceConfig;
  storeFor: (environment: string) => StorePort;
  biomes: {
    name: string;
    owner: string;
    asleep?: boolean;
    expires?: string | null;
    deployments: Record<
      string,
      { sha: string; by: string; at: Date; origin?: LedgerRecord['origin']; kind?: ProjectKind }[]
    >;
  }[];
  concurrency?: number;
  /**
   * Writes the keys `writeRecord` leaves (history under its sequence, then the
   * current record) with plain puts, without its leases and checks: the same
   * store in a fraction of the time, for a bench of 100,000 records.
   */
  direct?: boolean;
}): Promise<void> {
  const work: (() => Promise<void>)[] = [];
  for (const b of input.biomes) {
    const ref = parseBiomeName(b.name, input.config);
    const store = input.storeFor(ref.environment.name);
    const times = Object.values(b.deployments)
      .flat()
      .map((d) => d.at.getTime());
    const meta: BiomeMeta = {
      schemaVersion: 1,
      biome: b.name,
      environment: ref.environment.name,
      owner: b.owner,
      created: new Date(Math.min(...times, Date.parse('2026-11-01T00:00:00Z'))).toISOString(),
      expires: ref.sandpit ? (b.expires ?? '2026-12-31T00:00:00.000Z') : null,
      asleep: !!b.asleep,
      lastDeployedAt: new Date(Math.max(...times, 0)).toISOString(),
    };
    work.push(() => writeBiomeMeta(store, meta));
    for (const [project, deployments] of Object.entries(b.deployments)) {
      work.push(async () => {
        // In order: the last record written is the current one.
        for (const d of deployments) {
          const record = plantedRecord({
            project,
            kind: d.kind,
            biome: b.name,
            environment: ref.environment.name,
            gitSha: d.sha,
            deployedAt: d.at,
            deployedBy: d.by,
            origin: d.origin,
          });
          // A record is written only while its artifact is stored, as a deploy leaves it.
          await store.put(record.artifactKey, artifactBytes(project, d.sha), { ifAbsent: true });
          if (!input.direct) await writeRecord(store, record);
          else {
            const sequenced = { ...record, sequence: deployments.indexOf(d) + 1 };
            const body = Buffer.from(`${JSON.stringify(sequenced, null, 2)}\n`);
            await store.put(historyKey(sequenced), body, { contentType: 'application/json' });
            await store.put(ledgerKey(b.name, project), body, { contentType: 'application/json' });
          }
        }
      });
    }
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: input.concurrency ?? 16 }, async () => {
      while (next < work.length) await work[next++]();
    }),
  );
}
