import type { ExecutorContext } from '@nx/devkit';
import { requireEnvironment } from '../../core/config';
import { formatTime, newestRecord, planReap, ReapCandidate } from '../../core/lifecycle';
import { renderTable } from '../../core/table';
import { loadWorkspaceConfig } from '../../adapters/workspace';
import { Deps, realDeps } from '../../operations/context';
import { BiomeRef } from '../../core/names';
import { StorePort } from '../../adapters/store/store';
import { readBiomeTolerant } from '../../operations/lifecycle';
import { destroyBiomes } from '../../operations/destroy';
import { biomesOfEnvironment } from '../../operations/lifecycle';
import { runExecutor } from '../run';
import type { BiomeReapExecutorSchema } from './schema';

/**
 * Finds the expired sandpits of each multi-tenant environment (or the one
 * named) and destroys them with --confirm; otherwise lists what would go.
 * Returns the names of the expired biomes.
 */
export async function biomeReapWith(options: BiomeReapExecutorSchema, context: ExecutorContext, deps?: Deps): Promise<string[]> {
  const config = await loadWorkspaceConfig(context.root);
  const d = deps ?? realDeps(context.root, config);
  const environments = options.environment ? [requireEnvironment(config, options.environment)] : Object.values(config.environments).filter((e) => e.multiTenant);
  const dryRun = !options.confirm;
  const now = d.now();
  const reaped: string[] = [];
  for (const env of environments) {
    const store = d.storeFor(env.name);
    const { biomes } = await biomesOfEnvironment(store, config, env.name);
    const candidates = await Promise.all(biomes.map((b) => reapCandidate(store, b)));
    const { expired, skipped } = planReap(candidates, now, config.sandpitTtlHours);
    for (const s of skipped) d.log(`${env.name}: skipping ${s.biome}: ${s.why}`);
    if (expired.length === 0) {
      d.log(`${env.name} (${store.url}): no expired sandpit biome among ${biomes.length} biome(s)`);
      continue;
    }
    d.log(`${env.name} (${store.url}): ${expired.length} expired sandpit biome(s)`);
    d.log(renderTable(['biome', 'owner', 'expired', 'last deploy'], expired.map((c) => [c.biome, c.meta?.owner ?? '(no biome.json)', c.meta ? formatTime(c.meta.expires) : `${config.sandpitTtlHours} h after last deploy`, formatTime(c.meta?.lastDeployedAt ?? c.lastDeployedAt)])));
    await destroyBiomes({ store, config, biomes: biomes.filter((b) => expired.some((c) => c.biome === b.name)), workspaceRoot: context.root, dryRun, terraform: !!options.terraform, terraformDir: options.terraformDir, deps: d });
    reaped.push(...expired.map((c) => c.biome));
  }
  if (dryRun && reaped.length) d.log('dry run: nothing was deleted; pass --confirm to reap.');
  return reaped;
}

/** How reap sees one biome: its metadata, or why it is unusable, and its newest valid record. */
async function reapCandidate(store: StorePort, biome: BiomeRef): Promise<ReapCandidate> {
  if (!biome.sandpit) return { biome: biome.name, sandpit: false };
  const { meta, records, problems } = await readBiomeTolerant(store, biome.name);
  const metaProblem = problems.find((p) => p.key.endsWith('/biome.json'));
  const newest = newestRecord(records)?.deployedAt;
  return { biome: biome.name, sandpit: true, meta, ...(metaProblem ? { invalid: metaProblem.message } : {}), ...(newest ? { lastDeployedAt: newest } : {}) };
}

export default async function biomeReapExecutor(options: BiomeReapExecutorSchema, context: ExecutorContext): Promise<{ success: boolean }> {
  return runExecutor('biome-reap', async () => {
    await biomeReapWith(options, context);
  });
}
