import type { ExecutorContext } from '@nx/devkit';
import { BiomeError } from '../../core/errors';
import { formatTime, validateTtlHours } from '../../core/lifecycle';
import { parseBiomeName } from '../../core/names';
import { loadWorkspaceConfig } from '../../adapters/workspace';
import { Deps, deployerName, realDeps, storeOf } from '../../operations/context';
import { createBiome } from '../../operations/lifecycle';
import { describeCloudWorkspace, describeWorkspaceLine, ensureBiomeWorkspace, openHcpTerraform, usesCloudBackend } from '../../operations/hcp-terraform';
import { requireBiomeOption, runExecutor } from '../run';
import type { BiomeCreateExecutorSchema } from './schema';

/** Creates a biome, or extends an existing one's expiry (and owner, when given). */
export async function biomeCreateWith(options: BiomeCreateExecutorSchema, context: ExecutorContext, deps?: Deps): Promise<void> {
  const config = await loadWorkspaceConfig(context.root);
  const biome = parseBiomeName(requireBiomeOption(options.biome), config);
  const ttlHours = validateTtlHours(options.ttl ?? config.sandpitTtlHours);
  if (options.owner !== undefined && (typeof options.owner !== 'string' || !options.owner.trim())) {
    throw new BiomeError('OPTIONS_INVALID', '--owner is empty.', 'Pass --owner=<name or e-mail>, or leave it out to use the git user.');
  }
  const d = deps ?? realDeps(context.root, config);
  const store = storeOf(d, biome);
  // The token is looked up before anything is written: a missing one fails with nothing half-made.
  const cloud = usesCloudBackend(config) ? { ...describeCloudWorkspace(config, biome), client: options.dryRun ? undefined : await openHcpTerraform(config, d.env, d.log) } : undefined;
  const { action, meta, previous } = await createBiome({ store, biome, owner: options.owner?.trim(), defaultOwner: await deployerName(d), ttlHours, ttlGiven: options.ttl !== undefined, now: d.now(), dryRun: !!options.dryRun });
  const prefix = options.dryRun ? '[dry-run] would have ' : '';
  const expiry = biome.sandpit ? `expires ${formatTime(meta.expires)} (${ttlHours} h from now)` : 'main biome, never expires';
  if (action === 'created') d.log(`${prefix}created ${biome.name} in ${store.url}: owner ${meta.owner}, ${expiry}`);
  else d.log(`${prefix}extended ${biome.name}: owner ${meta.owner}, ${biome.sandpit ? `expires ${formatTime(previous?.expires)} → ${formatTime(meta.expires)}` : expiry}`);
  if (cloud?.client) {
    const { created } = await ensureBiomeWorkspace({ client: cloud.client, plan: cloud.plan, log: d.log });
    if (!created) d.log(`HCP Terraform workspace ${cloud.plan.workspace} already exists: ${cloud.plan.url}`);
  } else if (cloud) {
    d.log(`[dry-run] would make sure of the ${describeWorkspaceLine(cloud.plan)}`);
  }
}

export default async function biomeCreateExecutor(options: BiomeCreateExecutorSchema, context: ExecutorContext): Promise<{ success: boolean }> {
  return runExecutor('biome-create', () => biomeCreateWith(options, context));
}
