import { WorkspaceConfig } from '../core/config';
import { BiomeError } from '../core/errors';
import { touchBiomeMeta } from '../core/ledger';
import { BiomeRef } from '../core/names';
import { planPromotion, promotedRecord, PromotionStep, resolvePromotionTarget } from '../core/promotion';
import { ciJobUrl, Deps, deployerName, storeOf } from './context';
import { readBiomeMeta, readLedger, updateBiomeMeta, writeRecord } from './ledger-store';
import { biomeScope, withLease } from './store-lock';
import { publishArtifact, PublishStatus, verifyArtifact } from './publish';
import { renderBiomeTfvars } from './render';
import { readBiomeSettings } from './settings';
import { resolveSettings } from '../core/settings';

export interface PromotionResult {
  target: BiomeRef;
  steps: PromotionStep[];
  copies: { project: string; key: string; status: PublishStatus }[];
  tfvarsPath?: string;
}

/**
 * Promotes a biome to the next environment's main biome: every recorded
 * artifact is read from the source store (sha256 checked), written once to the
 * target store and read back there (sha256 checked on arrival); only then are
 * the target's records written and its tfvars rendered. Nothing is rebuilt.
 */
export async function promoteBiome(input: {
  config: WorkspaceConfig;
  source: BiomeRef;
  to: string;
  deps: Deps;
  workspaceRoot: string;
  allowRollback: boolean;
  dryRun: boolean;
}): Promise<PromotionResult> {
  const { config, source, deps } = input;
  const target = resolvePromotionTarget(config, source, input.to);
  const sourceStore = storeOf(deps, source);
  const targetStore = storeOf(deps, target);
  // A consistent snapshot: read under the source biome's lease, which a deploy of it holds while it records.
  const [records, meta] = await withLease(
    sourceStore,
    biomeScope(source.name),
    'exclusive',
    () => Promise.all([readLedger(sourceStore, source.name), readBiomeMeta(sourceStore, source.name)]),
    { purpose: `promote ${source.name}: read its ledger` },
  );
  if (!meta && records.length === 0) {
    throw new BiomeError(
      'BIOME_NOT_FOUND',
      `Biome ${source.name} does not exist in ${sourceStore.url}.`,
      `Check the name with nx run infra:biome-list --environment=${source.environment.name}.`,
    );
  }
  const targetRecords = await readLedger(targetStore, target.name);
  const current = new Map(targetRecords.map((r) => [r.project, r]));
  const contains = new Map<string, boolean | undefined>();
  for (const r of records) {
    const c = current.get(r.project);
    if (c && c.gitSha !== r.gitSha) contains.set(r.project, await deps.git.isAncestor(c.gitSha, r.gitSha));
  }
  const steps = planPromotion({
    source: source.name,
    target,
    records,
    targetRecords,
    contains,
    allowRollback: input.allowRollback,
  });
  // The target runs with its own environment and biome layers, not the source's: resolved (and checked) before anything is copied.
  const targetSettings = await readBiomeSettings(targetStore, config, target);
  const resolved = new Map(
    steps.map((s) => [
      s.project,
      resolveSettings({
        config,
        biome: target,
        project: s.project,
        kind: s.source.kind,
        settings: s.source.settings,
        biomeSettings: targetSettings,
      }),
    ]),
  );
  const result: PromotionResult = { target, steps, copies: [] };
  if (input.dryRun) return result;

  const copies = steps.filter((s) => s.action === 'copy');
  for (const [i, step] of copies.entries()) {
    const { artifactKey: key, sha256, gitSha } = step.source;
    const body = await verifyArtifact(sourceStore, key, sha256);
    const status = await publishArtifact(targetStore, {
      key,
      body,
      sha256,
      metadata: { 'git-sha': gitSha, project: step.project, dirty: 'false' },
    });
    // publishArtifact reads an upload back; an object that was already there is read back here.
    if (status === 'present') await verifyArtifact(targetStore, key, sha256);
    result.copies.push({ project: step.project, key, status });
    deps.log(
      `[${i + 1}/${copies.length}] ${key}: ${status === 'uploaded' ? 'copied' : 'already present'} in ${targetStore.url}, sha256 ${sha256.slice(0, 12)}… verified`,
    );
  }
  const now = deps.now();
  const deployedBy = await deployerName(deps);
  await withLease(
    targetStore,
    biomeScope(target.name),
    'exclusive',
    async () => {
      for (const step of copies) {
        const record = promotedRecord(step.source, {
          target,
          from: source.name,
          now,
          deployedBy,
          ciJobUrl: ciJobUrl(deps.env),
        });
        await writeRecord(targetStore, { ...record, resolvedSettings: resolved.get(step.project) });
      }
      await updateBiomeMeta(targetStore, target.name, (existing) =>
        touchBiomeMeta({
          existing,
          biome: target.name,
          environment: target.environment.name,
          sandpit: false,
          owner: deployedBy,
          now,
          ttlHours: config.sandpitTtlHours,
        }),
      );
    },
    { purpose: `promote ${source.name} to ${target.name}` },
  );
  result.tfvarsPath = (
    await renderBiomeTfvars({ store: targetStore, config, biome: target, workspaceRoot: input.workspaceRoot })
  ).path;
  return result;
}
