import { artifactKey, PackageManifest } from '../core/artifact';
import { WorkspaceConfig } from '../core/config';
import { BiomeError } from '../core/errors';
import { LedgerRecord, planProjectDeploy, touchBiomeMeta } from '../core/ledger';
import { BiomeRef, ProjectKind } from '../core/names';
import { StorePort } from '../adapters/store/store';
import { checkStoredArtifact, publishArtifact } from './publish';
import { readBiomeMeta, readRecordToReplace, updateBiomeMeta, withBiomeShared, writeRecord } from './ledger-store';
import { resolveProjectSettings } from './settings';

/**
 * uploaded: new bytes published; present: recorded, the store already held the
 * bytes; unchanged: the biome already records them (verified in the store);
 * restored: unchanged, but the recorded artifact had vanished and was uploaded again.
 */
export type DeployOutcome = 'uploaded' | 'present' | 'unchanged' | 'restored';

export interface DeployResult {
  project: string;
  kind: ProjectKind;
  outcome: DeployOutcome;
  key: string;
  size: number;
  gitSha: string;
  dryRun: boolean;
}

/**
 * Deploys one packaged project to a biome: publish the artifact (write-once,
 * verified), then write its ledger record. When the biome already records the
 * same bytes and settings and the store still holds them (checked with a HEAD,
 * no download), nothing is read, uploaded or written: the local archive is
 * only read (and its sha256 checked) when bytes must go to the store.
 */
export async function deployProject(input: {
  store: StorePort;
  config: WorkspaceConfig;
  biome: BiomeRef;
  manifest: PackageManifest;
  /** The local archive's bytes, verified against the manifest's sha256. */
  readBody: () => Promise<Buffer>;
  now: Date;
  deployedBy: string;
  ciJobUrl?: string;
  allowDirty: boolean;
  dryRun: boolean;
}): Promise<DeployResult> {
  const { store, biome, manifest } = input;
  if (manifest.dirty && !input.allowDirty) {
    throw new BiomeError(
      'ARTIFACT_DIRTY',
      `${manifest.project}: the artifact was built from a dirty tree (${manifest.dirtyFiles.slice(0, 10).join(', ')}).`,
      'Commit or stash the changes, or pass --allow-dirty for a sandpit (dirty artifacts can never be promoted).',
    );
  }
  const key = artifactKey(manifest.project, manifest.file);
  // A malformed or hostile biome.json stops the deploy before anything is written.
  await readBiomeMeta(store, biome.name);
  // The settings are resolved, and the record written, under one shared lease on the biome:
  // biome-config holds it alone, so a setting it saves is either in this record or re-applied by it.
  const { result, write } = input.dryRun
    ? await planAndRecord(input, key)
    : await withBiomeShared(store, biome.name, () => planAndRecord(input, key));
  if (write) await refreshBiome(input);
  return result;
}

/** Plans one project's deploy against the biome as it is now, and (unless a dry run) publishes and records it. */
async function planAndRecord(
  input: Parameters<typeof deployProject>[0],
  key: string,
): Promise<{ result: DeployResult; write: boolean }> {
  const { store, biome, manifest } = input;
  const current = await readRecordToReplace(store, biome.name, manifest.project);
  // Layered settings (project → environment → biome) resolve per biome and go into the record, never into the artifact.
  const resolvedSettings = await resolveProjectSettings({
    store,
    config: input.config,
    biome,
    project: manifest.project,
    kind: manifest.kind,
    settings: manifest.settings,
  });
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
    resolvedSettings,
  };
  const currentArtifact =
    current && current.sha256 === manifest.sha256
      ? await checkStoredArtifact(store, current.artifactKey, current)
      : undefined;
  const plan = planProjectDeploy({ current, next, currentArtifact });
  const result = {
    project: manifest.project,
    kind: manifest.kind,
    gitSha: plan.record.gitSha,
    dryRun: input.dryRun,
    key: plan.record.artifactKey,
    size: plan.record.size,
  };
  const publish = async () =>
    publishArtifact(store, {
      key: plan.record.artifactKey,
      body: await input.readBody(),
      sha256: plan.record.sha256,
      metadata: {
        'git-sha': plan.restore ? current!.gitSha : manifest.gitSha,
        project: manifest.project,
        dirty: String(plan.restore ? current!.dirty : manifest.dirty),
      },
    });
  if (plan.action === 'unchanged') {
    if (input.dryRun) return { result: { ...result, outcome: plan.restore ? 'restored' : 'unchanged' }, write: false };
    if (plan.restore) await publish();
    return { result: { ...result, outcome: plan.restore ? 'restored' : 'unchanged' }, write: true };
  }
  if (input.dryRun) {
    const stored = plan.restore ? 'absent' : await checkStoredArtifact(store, plan.record.artifactKey, plan.record);
    return { result: { ...result, outcome: stored === 'same' ? 'present' : 'uploaded' }, write: false };
  }
  const outcome = await publish();
  await writeRecord(store, plan.record);
  return { result: { ...result, outcome }, write: true };
}

/** Registers the biome on first deploy and refreshes a sandpit's expiry (on biome.json as it is when written, under the biome's lease). */
async function refreshBiome(input: {
  store: StorePort;
  config: WorkspaceConfig;
  biome: BiomeRef;
  now: Date;
  deployedBy: string;
}): Promise<void> {
  await updateBiomeMeta(input.store, input.biome.name, (existing) =>
    touchBiomeMeta({
      existing,
      biome: input.biome.name,
      environment: input.biome.environment.name,
      sandpit: input.biome.sandpit,
      owner: input.deployedBy,
      now: input.now,
      ttlHours: input.config.sandpitTtlHours,
    }),
  );
}
