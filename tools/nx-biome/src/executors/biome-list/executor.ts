import type { ExecutorContext } from '@nx/devkit';
import { join } from 'node:path';
import { requireEnvironment } from '../../core/config';
import { renderBiomeList } from '../../core/biome-report';
import { BiomeSummary } from '../../core/lifecycle';
import { loadWorkspaceConfig, writeFileAtomic } from '../../adapters/workspace';
import { Deps, realDeps } from '../../operations/context';
import { summarizeEnvironment } from '../../operations/lifecycle';
import { runExecutor } from '../run';
import type { BiomeListExecutorSchema } from './schema';

export interface BiomeListing {
  environment: string;
  store: string;
  biomes: BiomeSummary[];
}

/** Lists the biomes of one environment (or all) as tables, or as JSON with --json. */
export async function biomeListWith(
  options: BiomeListExecutorSchema,
  context: ExecutorContext,
  deps?: Deps,
): Promise<BiomeListing[]> {
  const config = await loadWorkspaceConfig(context.root);
  const d = deps ?? realDeps(context.root, config);
  const names = options.environment
    ? [requireEnvironment(config, options.environment).name]
    : [...new Set([...config.promotionOrder, ...Object.keys(config.environments)])];
  const now = d.now();
  const listings: BiomeListing[] = [];
  for (const environment of names) {
    const store = d.storeFor(environment);
    const { summaries, unknown, problems } = await summarizeEnvironment({
      store,
      config,
      environment,
      git: d.git,
      now,
    });
    // A bad object is reported and skipped; it never hides the other biomes.
    for (const p of problems)
      d.log(
        `warning: skipped ${p.key}: ${p.message}\n  fix: nx run infra:biome-repair --biome=${p.biome} (add --dry-run to see what it would do)`,
      );
    listings.push({ environment, store: store.url, biomes: summaries });
    if (options.json) continue;
    d.log(`${environment} (${store.url}): ${summaries.length} biome(s)`);
    if (summaries.length) d.log(renderBiomeList(summaries));
    if (unknown.length)
      d.log(`  note: ${store.url} also holds ${unknown.join(', ')}, which belong to no configured environment`);
  }
  if (options.json) d.log(JSON.stringify({ environments: listings }, null, 2));
  if (options.outputFile)
    await writeFileAtomic(
      join(context.root, options.outputFile),
      `${JSON.stringify({ environments: listings }, null, 2)}\n`,
    );
  return listings;
}

export default async function biomeListExecutor(
  options: BiomeListExecutorSchema,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  return runExecutor('biome-list', async () => {
    await biomeListWith(options, context);
  });
}
