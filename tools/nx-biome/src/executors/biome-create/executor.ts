import type { ExecutorContext } from '@nx/devkit';
import { BiomeError } from '../../core/errors';
import { formatTime, validateTtlHours } from '../../core/lifecycle';
import { BiomeMeta } from '../../core/ledger';
import { BiomeRef, parseBiomeName } from '../../core/names';
import { loadWorkspaceConfig } from '../../adapters/workspace';
import { Deps, deployerName, realDeps, storeOf } from '../../operations/context';
import { createBiome } from '../../operations/lifecycle';
import {
  describeCloudWorkspace,
  describeWorkspaceLine,
  ensureBiomeWorkspace,
  openHcpTerraform,
  usesCloudBackend,
} from '../../operations/hcp-terraform';
import { seedBiome, SeedResult } from '../../operations/seed';
import { requireBiomeOption, runExecutor } from '../run';
import type { BiomeCreateExecutorSchema } from './schema';

/**
 * Creates a biome, or extends an existing one's expiry (and owner, when given);
 * with `from`, seeds a new sandpit from its environment's main biome.
 */
export async function biomeCreateWith(
  options: BiomeCreateExecutorSchema,
  context: ExecutorContext,
  deps?: Deps,
): Promise<void> {
  const config = await loadWorkspaceConfig(context.root);
  const biome = parseBiomeName(requireBiomeOption(options.biome), config);
  const ttlHours = validateTtlHours(options.ttl ?? config.sandpitTtlHours);
  if (options.owner !== undefined && (typeof options.owner !== 'string' || !options.owner.trim())) {
    throw new BiomeError(
      'OPTIONS_INVALID',
      '--owner is empty.',
      'Pass --owner=<name or e-mail>, or leave it out to use the git user.',
    );
  }
  const d = deps ?? realDeps(context.root, config);
  const store = storeOf(d, biome);
  // The token is looked up before anything is written: a missing one fails with nothing half-made.
  const cloud = usesCloudBackend(config)
    ? {
        ...describeCloudWorkspace(config, biome),
        client: options.dryRun ? undefined : await openHcpTerraform(config, d.env, d.log),
      }
    : undefined;
  if (options.from !== undefined) {
    const seeded = await seedBiome({
      config,
      target: biome,
      from: String(options.from),
      owner: options.owner?.trim(),
      ttlHours,
      ttlGiven: options.ttl !== undefined,
      deps: d,
      workspaceRoot: context.root,
      dryRun: !!options.dryRun,
    });
    reportCreate(d, biome, store.url, ttlHours, seeded, options.dryRun);
    reportSeed(d, biome.name, seeded, options.dryRun);
  } else {
    const created = await createBiome({
      store,
      biome,
      owner: options.owner?.trim(),
      defaultOwner: await deployerName(d),
      ttlHours,
      ttlGiven: options.ttl !== undefined,
      now: d.now(),
      dryRun: !!options.dryRun,
    });
    reportCreate(d, biome, store.url, ttlHours, created, options.dryRun);
  }
  if (cloud?.client) {
    const { created } = await ensureBiomeWorkspace({ client: cloud.client, plan: cloud.plan, log: d.log });
    if (!created) d.log(`HCP Terraform workspace ${cloud.plan.workspace} already exists: ${cloud.plan.url}`);
  } else if (cloud) {
    d.log(`[dry-run] would make sure of the ${describeWorkspaceLine(cloud.plan)}`);
  }
}

function reportCreate(
  d: Deps,
  biome: BiomeRef,
  url: string,
  ttlHours: number,
  { action, meta, previous }: { action: 'created' | 'extended'; meta: BiomeMeta; previous?: BiomeMeta },
  dryRun?: boolean,
): void {
  const prefix = dryRun ? '[dry-run] would have ' : '';
  const expiry = biome.sandpit
    ? `expires ${formatTime(meta.expires)} (${ttlHours} h from now)`
    : 'main biome, never expires';
  if (action === 'created') d.log(`${prefix}created ${biome.name} in ${url}: owner ${meta.owner}, ${expiry}`);
  else
    d.log(
      `${prefix}extended ${biome.name}: owner ${meta.owner}, ${biome.sandpit ? `expires ${formatTime(previous?.expires)} → ${formatTime(meta.expires)}` : expiry}`,
    );
}

/** One line per seeded project would drown 1000 projects: a count, the commit, and what happens next. */
function reportSeed(d: Deps, biome: string, seeded: SeedResult, dryRun?: boolean): void {
  const { plan, source } = seeded;
  if (plan.action === 'skip') {
    d.log(`not seeded: ${plan.reason}.`);
    return;
  }
  const prefix = dryRun ? '[dry-run] would have ' : '';
  const kept = plan.kept.length ? ` (${plan.kept.length} already seeded)` : '';
  d.log(
    `${prefix}seeded ${biome} from ${source.name} at ${plan.commit}: ${plan.records.length} record${plan.records.length === 1 ? '' : 's'}${kept}, same artifact keys, nothing uploaded.`,
  );
  if (seeded.tfvarsPath) d.log(`tfvars: ${seeded.tfvarsPath}`);
  if (!dryRun)
    d.log(
      `next: nx affected -t deploy --biome=${biome} deploys what this branch changed since ${plan.commit.slice(0, 8)} (its merge base when the branch is behind).`,
    );
}

export default async function biomeCreateExecutor(
  options: BiomeCreateExecutorSchema,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  return runExecutor('biome-create', () => biomeCreateWith(options, context));
}
