import type { ExecutorContext } from '@nx/devkit';
import { requireEnvironment } from '../../core/config';
import { BiomeError } from '../../core/errors';
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
export async function biomeReapWith(
  options: BiomeReapExecutorSchema,
  context: ExecutorContext,
  deps?: Deps,
): Promise<string[]> {
  const config = await loadWorkspaceConfig(context.root);
  const d = deps ?? realDeps(context.root, config);
  const environments = options.environment
    ? [requireEnvironment(config, options.environment)]
    : Object.values(config.environments).filter((e) => e.multiTenant);
  const dryRun = !options.confirm;
  const now = d.now();
  const reaped: string[] = [];
  const undated: { biome: string; why: string }[] = [];
  for (const env of environments) {
    const store = d.storeFor(env.name);
    const { biomes } = await biomesOfEnvironment(store, config, env.name);
    const candidates = await Promise.all(biomes.map((b) => reapCandidate(store, b)));
    const { expired, skipped } = planReap(candidates, now, config.sandpitTtlHours);
    for (const s of skipped) d.log(`${env.name}: skipping ${s.biome}: ${s.why}`);
    undated.push(...skipped);
    for (const c of expired.filter((c) => c.invalid))
      d.log(
        `${env.name}: ${c.biome} has an unusable biome.json (${c.invalid}); it is dated by its newest record, deployed ${formatTime(c.lastDeployedAt)}`,
      );
    if (expired.length === 0) {
      d.log(`${env.name} (${store.url}): no expired sandpit biome among ${biomes.length} biome(s)`);
      continue;
    }
    d.log(`${env.name} (${store.url}): ${expired.length} expired sandpit biome(s)`);
    d.log(
      renderTable(
        ['biome', 'owner', 'expired', 'last deploy'],
        expired.map((c) => [
          c.biome,
          c.meta?.owner ?? '(no biome.json)',
          c.meta ? formatTime(c.meta.expires) : `${config.sandpitTtlHours} h after last deploy`,
          formatTime(c.meta?.lastDeployedAt ?? c.lastDeployedAt),
        ]),
      ),
    );
    // Decided again under each biome's lease: a biome deployed (and so extended) since this listing is kept.
    const recheck = async (names: string[]) => {
      const again = planReap(
        await Promise.all(biomes.filter((b) => names.includes(b.name)).map((b) => reapCandidate(store, b))),
        d.now(),
        config.sandpitTtlHours,
      ).expired.map((c) => c.biome);
      for (const name of names.filter((n) => !again.includes(n)))
        d.log(
          `${env.name}: ${name} changed since it was listed (deployed or extended meanwhile) and has not expired any more: kept`,
        );
      return again;
    };
    const destroyed = await destroyBiomes({
      store,
      config,
      biomes: biomes.filter((b) => expired.some((c) => c.biome === b.name)),
      workspaceRoot: context.root,
      dryRun,
      terraform: !!options.terraform,
      terraformDir: options.terraformDir,
      deps: d,
      recheck,
    });
    reaped.push(...destroyed);
  }
  if (dryRun && reaped.length) d.log('dry run: nothing was deleted; pass --confirm to reap.');
  if (undated.length) {
    // Reported on every run until repaired, and failing the run: a sandpit nothing dates must not be skipped in silence forever.
    throw new BiomeError(
      'LEDGER_RECORD_INVALID',
      `reap could not date ${undated.map((s) => s.biome).join(', ')} (everything else was reaped as planned): ${undated.map((s) => `${s.biome}: ${s.why}`).join('; ')}.`,
      `Repair each with nx run infra:biome-repair --biome=<biome> (or destroy it with nx run infra:biome-destroy --biome=<biome>).`,
    );
  }
  return reaped;
}

/** How reap sees one biome: its metadata, or why it is unusable, and its newest valid record. */
async function reapCandidate(store: StorePort, biome: BiomeRef): Promise<ReapCandidate> {
  if (!biome.sandpit) return { biome: biome.name, sandpit: false };
  const { meta, records, problems } = await readBiomeTolerant(store, biome.name);
  const metaProblem = problems.find((p) => p.key.endsWith('/biome.json'));
  const newest = newestRecord(records)?.deployedAt;
  return {
    biome: biome.name,
    sandpit: true,
    meta,
    ...(metaProblem ? { invalid: metaProblem.message } : {}),
    ...(newest ? { lastDeployedAt: newest } : {}),
  };
}

export default async function biomeReapExecutor(
  options: BiomeReapExecutorSchema,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  return runExecutor('biome-reap', async () => {
    await biomeReapWith(options, context);
  });
}
