import { chooseAffectedBase, recordBiomeCommit } from '../core/base';
import { WorkspaceConfig } from '../core/config';
import { BiomeError, isBiomeError } from '../core/errors';
import { BiomeMeta } from '../core/ledger';
import { planBiomeCreate } from '../core/lifecycle';
import { BiomeRef } from '../core/names';
import { planSeed, resolveSeedSource, SeedPlan } from '../core/seed';
import { resolveSettings } from '../core/settings';
import { ciJobUrl, Deps, deployerName, storeOf } from './context';
import { readBiomeMeta, readLedger, updateBiomeMeta, writeRecords } from './ledger-store';
import { renderBiomeTfvars, verifyRecordedArtifacts } from './render';
import { readBiomeSettings } from './settings';
import { biomeScope, collectionScope, withLease } from './store-lock';

/** Records written at a time: small requests to one store. */
const WRITES_IN_FLIGHT = 8;

export interface SeedResult {
  source: BiomeRef;
  plan: SeedPlan;
  action: 'created' | 'extended';
  meta: BiomeMeta;
  previous?: BiomeMeta;
  tfvarsPath?: string;
}

/**
 * `biome-create --from=<main biome>`: registers (or extends) a sandpit and
 * starts it as a copy of its environment's main biome. Nothing is uploaded:
 * each seed record names the artifact key the main biome runs (same store),
 * written through the ordinary record path (history then ledger, under the
 * collection lease, after checking the artifact is stored), so destroy and
 * collection count the shared keys as they count any other reference.
 *
 * The main biome is read without its lease: a branch may not write a main
 * biome's keys, its leases included, and every record it reads points at
 * verified bytes whatever a concurrent deploy of it does. The seed's commit
 * is the main biome's base (the same answer as `nx-biome base` gives for
 * it); the sandpit's first deploy compares with it, or with its merge base
 * when the branch is behind.
 */
export async function seedBiome(input: {
  config: WorkspaceConfig;
  target: BiomeRef;
  from: string;
  owner?: string;
  ttlHours: number;
  ttlGiven: boolean;
  deps: Deps;
  workspaceRoot: string;
  dryRun: boolean;
}): Promise<SeedResult> {
  const { config, target, deps } = input;
  const source = resolveSeedSource(config, target, input.from);
  const store = storeOf(deps, target);
  const now = deps.now();
  const deployedBy = await deployerName(deps);
  const [sourceRecords, biomeSettings] = await Promise.all([
    readLedger(store, source.name),
    readBiomeSettings(store, config, target),
  ]);
  const known = await deps.git.commitSubjects(sourceRecords.map(recordBiomeCommit));
  // The commit this clone knows (so the sandpit's base is usable here), else the newest recorded one.
  const commit =
    chooseAffectedBase(sourceRecords, (sha) => known.has(sha)).base ??
    chooseAffectedBase(sourceRecords, () => true).base;
  // The sandpit runs each project with its own layers (project → environment → sandpit), not the main biome's.
  const resolve = (r: (typeof sourceRecords)[number]) =>
    resolveSettings({ config, biome: target, project: r.project, kind: r.kind, settings: r.settings, biomeSettings });
  const planWith = async () => {
    const [targetRecords, targetMeta] = await Promise.all([
      readLedger(store, target.name),
      readBiomeMeta(store, target.name),
    ]);
    return {
      targetMeta,
      plan: planSeed({
        source,
        target,
        sourceRecords,
        targetRecords,
        targetMeta,
        commit,
        now,
        deployedBy,
        ciJobUrl: ciJobUrl(deps.env),
        resolve,
      }),
    };
  };
  const create = (existing: BiomeMeta | undefined, plan: SeedPlan) => {
    const created = planBiomeCreate({
      existing,
      biome: target,
      owner: input.owner,
      defaultOwner: deployedBy,
      ttlHours: input.ttlHours,
      ttlGiven: input.ttlGiven,
      now,
    });
    return {
      ...created,
      meta:
        plan.action === 'seed'
          ? { ...created.meta, seed: { from: source.name, commit: plan.commit, at: now.toISOString() } }
          : created.meta,
    };
  };
  if (input.dryRun) {
    const { targetMeta, plan } = await planWith();
    return { source, plan, ...create(targetMeta, plan), previous: targetMeta };
  }
  const verified = new Set<string>();
  // Planned again under the sandpit's lease: two seeds (or a seed and a deploy) of one sandpit never interleave.
  const result = await withLease(
    store,
    biomeScope(target.name),
    'exclusive',
    async () => {
      const { targetMeta, plan } = await planWith();
      if (plan.action === 'seed') {
        // One shared collection lease for every record: the artifacts are checked (size and sha256, as the render
        // checks them) under it, and no collection can delete one before its record is written.
        await withLease(
          store,
          collectionScope(target.name),
          'shared',
          async () => {
            await verifyRecordedArtifacts(store, source.name, plan.records, verified).catch((e: unknown) => {
              if (!isBiomeError(e) || e.code !== 'ARTIFACT_UNVERIFIED') throw e;
              throw new BiomeError(
                'ARTIFACT_UNVERIFIED',
                `${target.name} was not seeded (no record written): ${e.message}`,
                `Deploy those projects to ${source.name} again (its pipeline on main does), then seed again; or create ${target.name} without --from and deploy it in full.`,
              );
            });
            await writeRecords(store, target.name, plan.records, {
              concurrency: WRITES_IN_FLIGHT,
              artifactsChecked: true,
            });
          },
          { purpose: `seed ${target.name} from ${source.name}` },
        );
      }
      let out: SeedResult | undefined;
      // biome.json last: it marks the seed done, so a seed cut short is finished by the next run.
      await updateBiomeMeta(store, target.name, (existing) => {
        out = { source, plan, ...create(existing, plan), previous: targetMeta };
        return out.meta;
      });
      return out!;
    },
    { purpose: `seed ${target.name} from ${source.name}` },
  );
  // Its tfvars name every project now: an MR that changes nothing deployable still has a complete biome.
  if (result.plan.action === 'seed')
    result.tfvarsPath = (
      await renderBiomeTfvars({ store, config, biome: target, workspaceRoot: input.workspaceRoot, verified })
    ).path;
  return result;
}
