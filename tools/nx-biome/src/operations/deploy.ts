import { artifactKey, PackageManifest } from '../core/artifact';
import { WorkspaceConfig } from '../core/config';
import { BiomeError } from '../core/errors';
import { LedgerRecord, planProjectDeploy, touchBiomeMeta } from '../core/ledger';
import { BiomeRef } from '../core/names';
import { StorePort } from '../adapters/store/store';
import { inspectArtifact, publishArtifact } from './publish';
import { readBiomeMeta, readRecord, writeBiomeMeta, writeRecord } from './ledger-store';

export type DeployOutcome = 'uploaded' | 'present' | 'unchanged';

export interface DeployResult {
  project: string;
  outcome: DeployOutcome;
  key: string;
  size: number;
  gitSha: string;
  dryRun: boolean;
}

/**
 * Deploys one packaged project to a biome: publish the artifact (write-once,
 * verified), then write its ledger record. When the biome already records the
 * same bytes and settings, nothing is uploaded or written.
 */
export async function deployProject(input: {
  store: StorePort;
  config: WorkspaceConfig;
  biome: BiomeRef;
  manifest: PackageManifest;
  body: Buffer;
  now: Date;
  deployedBy: string;
  ciJobUrl?: string;
  allowDirty: boolean;
  dryRun: boolean;
}): Promise<DeployResult> {
  const { store, biome, manifest } = input;
  if (manifest.dirty && !input.allowDirty) {
    throw new BiomeError('ARTIFACT_DIRTY', `${manifest.project}: the artifact was built from a dirty tree (${manifest.dirtyFiles.slice(0, 10).join(', ')}).`, 'Commit or stash the changes, or pass --allow-dirty for a sandpit (dirty artifacts can never be promoted).');
  }
  const key = artifactKey(manifest.project, manifest.file);
  const current = await readRecord(store, biome.name, manifest.project);
  const next: LedgerRecord = {
    schemaVersion: 1,
    project: manifest.project,
    kind: manifest.kind,
    biome: biome.name,
    environment: biome.environment.name,
    artifactKey: key,
    sha256: manifest.sha256,
    size: manifest.size,
    gitSha: manifest.gitSha,
    dirty: manifest.dirty,
    deployedAt: input.now.toISOString(),
    deployedBy: input.deployedBy,
    ...(input.ciJobUrl ? { ciJobUrl: input.ciJobUrl } : {}),
    origin: { action: 'deploy' },
    settings: manifest.settings,
  };
  const stored = (await inspectArtifact(store, key, manifest.sha256, input.body)) === 'same';
  const plan = planProjectDeploy({ current, next, artifactStored: stored });
  const base = { project: manifest.project, gitSha: plan.record.gitSha, dryRun: input.dryRun };
  if (plan.action === 'unchanged') {
    if (!input.dryRun) await refreshBiome(input);
    return { ...base, outcome: 'unchanged', key: plan.record.artifactKey, size: plan.record.size };
  }
  if (input.dryRun) return { ...base, outcome: plan.upload ? 'uploaded' : 'present', key, size: manifest.size };
  const outcome = await publishArtifact(store, { key, body: input.body, sha256: manifest.sha256, metadata: { 'git-sha': manifest.gitSha, project: manifest.project, dirty: String(manifest.dirty) } });
  await writeRecord(store, plan.record);
  await refreshBiome(input);
  return { ...base, outcome, key, size: manifest.size };
}

/** Registers the biome on first deploy and refreshes a sandpit's expiry. */
async function refreshBiome(input: { store: StorePort; config: WorkspaceConfig; biome: BiomeRef; now: Date; deployedBy: string }): Promise<void> {
  const existing = await readBiomeMeta(input.store, input.biome.name);
  await writeBiomeMeta(
    input.store,
    touchBiomeMeta({ existing, biome: input.biome.name, environment: input.biome.environment.name, sandpit: input.biome.sandpit, owner: input.deployedBy, now: input.now, ttlHours: input.config.sandpitTtlHours }),
  );
}
