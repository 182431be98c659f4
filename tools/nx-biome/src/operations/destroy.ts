import { rm } from 'node:fs/promises';
import { WorkspaceConfig } from '../core/config';
import { BiomeError } from '../core/errors';
import { describeDestroyPlan, DestroyPlan, planDestroy, selectReferenceKeys } from '../core/gc';
import { BiomeRef } from '../core/names';
import { StorePort } from '../adapters/store/store';
import { Deps } from './context';
import { bumpIncarnation, readRecordsTolerant } from './ledger-store';
import { assertLeasesHeld, biomeScope, GC_SCOPE, SANDPIT_GC_SCOPE, withLease } from './store-lock';
import { renderBiomeTfvars, tfvarsPath } from './render';
import {
  BIOME_STACK_DIR,
  deleteBiomeWorkspace,
  describeCloudWorkspace,
  openHcpTerraform,
  runBiomeTerraform,
  runReportPath,
  usesCloudBackend,
} from './hcp-terraform';

/**
 * Plans the destruction of biomes that share one store: their keys, and which
 * of the artifacts their ledgers and histories name are used by no other biome
 * (every biome in the store counts, whatever its environment).
 */
export async function planBiomesDestroy(store: StorePort, biomes: string[]): Promise<DestroyPlan> {
  const keys = (await store.list('biomes/')).map((o) => o.key);
  const excluded = new Set(biomes);
  const biomeKeys = keys.filter((k) => biomes.some((b) => k.startsWith(`biomes/${b}/`)));
  // The destroyed biomes' own unreadable records go with their keys; another biome's unreadable record keeps what it could name.
  const { records } = await readRecordsTolerant(
    store,
    biomeKeys.filter((k) => /^biomes\/[^/]+\/(ledger|history)\/.+\.json$/.test(k)),
  );
  const references = await readRecordsTolerant(store, selectReferenceKeys(keys, { excluded, candidates: records }));
  return planDestroy({ biomes, biomeKeys, records, references: references.records, unreadable: references.invalid });
}

/**
 * Deletes what a plan lists: the unused artifacts first, then the biomes'
 * keys with biome.json last, so a destroy that stops half-way can be re-run.
 */
export async function applyDestroy(
  store: StorePort,
  plan: DestroyPlan,
  log: (line: string) => void,
  options: { artifacts?: boolean } = {},
): Promise<void> {
  // Collection is fenced like every write under a lease: a destroy stopped past its lease deletes nothing.
  await assertLeasesHeld(store);
  if (plan.deleteArtifacts.length && options.artifacts === false) {
    log(
      `kept ${plan.deleteArtifacts.length} unused artifact(s): this role may not take the main biomes' collection lease (branch principals); a destroy under a main role removes them`,
    );
  } else if (plan.deleteArtifacts.length) {
    try {
      await store.delete(plan.deleteArtifacts);
      await assertLeasesHeld(store);
      log(`deleted ${plan.deleteArtifacts.length} artifact(s)`);
    } catch (e) {
      // Branch principals write artifacts once and never delete them (docs/pipeline.md, "Trust"): the biome still goes.
      if (!isAccessDenied(e)) throw e;
      log(
        `kept ${plan.deleteArtifacts.length} unused artifact(s): this role may not delete artifacts (write-once for branch principals); a destroy under a main role removes them`,
      );
    }
  }
  await store.delete(plan.biomeKeys);
  log(`deleted ${plan.biomeKeys.length} ledger, history and metadata object(s) of ${plan.biomes.join(', ')}`);
}

/** A store refusal of the caller's rights (S3 AccessDenied, per key or for the call), as opposed to a failure. */
function isAccessDenied(e: unknown): boolean {
  return (
    (e as Error)?.name === 'AccessDenied' || /AccessDenied|access denied/i.test((e as Error)?.message ?? String(e))
  );
}

/**
 * Runs `fn` holding both collection scopes alone: the sandpits' first, then
 * the main biomes'. Every record write shares one of them, so under both no
 * record can name an artifact `fn` deletes. In that order a branch squatting
 * the sandpits' scope only delays this collection, never a main deploy (this
 * holds nothing main waits on while it waits). A principal refused the main
 * biomes' scope (a branch principal, IAM: docs/reliability.md "Collection
 * leases") may not delete artifacts either: `fn` then runs with
 * `artifacts: false` under the sandpits' scope alone and keeps every artifact,
 * since a main deploy may be recording one meanwhile.
 */
export async function withCollectionLeases<T>(
  store: StorePort,
  purpose: string,
  fn: (options: { artifacts: boolean }) => Promise<T>,
): Promise<T> {
  return withLease(
    store,
    SANDPIT_GC_SCOPE,
    'exclusive',
    async () => {
      let started = false;
      try {
        return await withLease(
          store,
          GC_SCOPE,
          'exclusive',
          () => {
            started = true;
            return fn({ artifacts: true });
          },
          { purpose },
        );
      } catch (e) {
        // Only a refusal of the lease itself: an AccessDenied from inside fn is fn's own failure.
        if (started || !isAccessDenied(e)) throw e;
      }
      return fn({ artifacts: false });
    },
    { purpose },
  );
}

/** Runs `fn` holding the exclusive lease of every named biome (taken in name order, so two destroys never wait on each other in a circle). */
async function withBiomeLeases<T>(store: StorePort, biomes: string[], fn: () => Promise<T>): Promise<T> {
  if (biomes.length === 0) return fn();
  const [first, ...rest] = biomes;
  return withLease(store, biomeScope(first), 'exclusive', () => withBiomeLeases(store, rest, fn), {
    purpose: `destroy ${first}`,
  });
}

/** Removes the biome's rendered tfvars (and the report of its last HCP Terraform run) from `dist/terraform/`, if any. */
export async function removeBiomeTfvars(workspaceRoot: string, biome: string): Promise<void> {
  await rm(tfvarsPath(workspaceRoot, biome), { force: true });
  await rm(runReportPath(workspaceRoot, biome), { force: true });
}

/**
 * Runs `terraform destroy` (plan -destroy, then apply) in the biome's
 * workspace with tfvars rendered from its ledger. On a dry run, prints the
 * commands only. Fails with TERRAFORM_MISSING, before anything is deleted,
 * when there is no binary.
 */
export async function destroyBiomeInfrastructure(input: {
  store: StorePort;
  config: WorkspaceConfig;
  biome: BiomeRef;
  workspaceRoot: string;
  stackDir: string;
  env: Record<string, string | undefined>;
  dryRun: boolean;
  log: (line: string) => void;
}): Promise<void> {
  // A biome whose artifacts are gone must still be destroyable: this render is not verified.
  const { path } = await renderBiomeTfvars({
    store: input.store,
    config: input.config,
    biome: input.biome,
    workspaceRoot: input.workspaceRoot,
    dryRun: input.dryRun,
    verify: false,
  });
  await runBiomeTerraform({
    config: input.config,
    biome: input.biome,
    workspaceRoot: input.workspaceRoot,
    stackDir: input.stackDir,
    tfvarsPath: path,
    apply: true,
    destroy: true,
    execute: !input.dryRun,
    header: '[dry-run] would run:',
    env: input.env,
    log: input.log,
  });
}

/**
 * With the cloud backend, deletes the sandpits' HCP Terraform workspaces
 * (safe delete: refused while a workspace still manages resources, before
 * anything of the biome is deleted). On a dry run, says which would go.
 */
async function deleteCloudWorkspaces(run: DestroyRun, names: string[]): Promise<void> {
  if (!usesCloudBackend(run.config)) return;
  const biomes = run.biomes.filter((b) => names.includes(b.name));
  const plans = biomes.map((b) => describeCloudWorkspace(run.config, b, run.terraformDir ?? BIOME_STACK_DIR).plan);
  if (run.dryRun) {
    for (const p of plans)
      run.deps.log(
        `[dry-run] would delete HCP Terraform workspace ${p.workspace} (organization ${p.organization}) if it manages no resources`,
      );
    return;
  }
  const client = await openHcpTerraform(run.config, run.deps.env, run.deps.log);
  for (const plan of plans) await deleteBiomeWorkspace({ client, plan, log: run.deps.log });
}

export interface DestroyRun {
  store: StorePort;
  config: WorkspaceConfig;
  biomes: BiomeRef[];
  workspaceRoot: string;
  dryRun: boolean;
  terraform: boolean;
  terraformDir?: string;
  /** A biome that does not exist is already destroyed: say so and succeed (stop jobs). */
  ifExists?: boolean;
  deps: Deps;
  /**
   * Decides again, under the biomes' leases, which of them are still to be
   * destroyed (reap: still expired); the others are kept. Default: all.
   */
  recheck?: (biomes: string[]) => Promise<string[]>;
}

/**
 * Destroys sandpit biomes of one store: Terraform first when asked, then the
 * artifacts only they use, then their keys. Shared by destroy and reap.
 * Returns the biomes destroyed (or, on a dry run, that would be).
 */
export async function destroyBiomes(run: DestroyRun): Promise<string[]> {
  const { store, deps: d } = run;
  const main = run.biomes.filter((b) => !b.sandpit);
  if (main.length) {
    throw new BiomeError(
      'BIOME_MAIN_PROTECTED',
      `${main.map((b) => b.name).join(', ')} is the main biome of ${main[0].environment.name}; main biomes are never destroyed.`,
      'Only sandpit biomes (<env>-<suffix>) can be destroyed.',
    );
  }
  let names = run.biomes.map((b) => b.name);
  let plan = await planBiomesDestroy(store, names);
  const missing = names.filter((b) => !plan.biomeKeys.some((k) => k.startsWith(`biomes/${b}/`)));
  if (missing.length && run.ifExists) {
    d.log(`${missing.join(', ')} does not exist in ${store.url}: already destroyed, nothing to do`);
    names = names.filter((b) => !missing.includes(b));
    if (names.length === 0) return [];
    plan = await planBiomesDestroy(store, names);
  } else if (missing.length) {
    throw new BiomeError(
      'BIOME_NOT_FOUND',
      `Biome ${missing.join(', ')} does not exist in ${store.url}.`,
      'List the biomes with nx run infra:biome-list.',
    );
  }
  if (run.terraform) {
    for (const biome of run.biomes.filter((b) => names.includes(b.name)))
      await destroyBiomeInfrastructure({
        store,
        config: run.config,
        biome,
        workspaceRoot: run.workspaceRoot,
        stackDir: run.terraformDir ?? BIOME_STACK_DIR,
        env: d.env,
        dryRun: run.dryRun,
        log: d.log,
      });
    // Terraform can take minutes: plan again so that a biome deployed meanwhile keeps what it uses.
    if (!run.dryRun) plan = await planBiomesDestroy(store, names);
  }
  // Before the store keys: a workspace that still manages resources stops the destroy while the ledger can still render its tfvars.
  await deleteCloudWorkspaces(run, names);
  const describe = (p: DestroyPlan) => {
    d.log(
      `${run.dryRun ? '[dry-run] would destroy' : 'destroying'} ${names.join(', ')} in ${store.url}: ${p.deleteArtifacts.length} artifact(s) to delete, ${p.keptArtifacts.length} kept, ${p.biomeKeys.length} biome object(s)`,
    );
    for (const line of describeDestroyPlan(p, run.dryRun)) d.log(line);
  };
  if (run.dryRun) {
    describe(plan);
    return names;
  }
  // Each biome's lease keeps its sleep, promote, rollback and biome.json writes out; the
  // collection lease, held alone, keeps every record write out while the plan is made
  // again from what the store holds now and applied: no record names a deleted artifact.
  await withBiomeLeases(store, [...names].sort(), async () => {
    if (run.recheck) names = await run.recheck(names);
    if (names.length === 0) return;
    // A biome created again is a new incarnation: counted up before anything is deleted, so no record of
    // the next incarnation can be written with the old one (record writers read it under the biome's lease).
    for (const b of names) await bumpIncarnation(store, b);
    await withCollectionLeases(store, `destroy ${names.join(', ')}`, async (options) => {
      plan = await planBiomesDestroy(store, names);
      describe(plan);
      await applyDestroy(store, plan, d.log, options);
    });
  });
  if (names.length === 0) return [];
  for (const b of names) await removeBiomeTfvars(run.workspaceRoot, b);
  d.log(`destroyed ${names.join(', ')}`);
  return names;
}
