import type { ExecutorContext } from '@nx/devkit';
import { join } from 'node:path';
import { renderBiomeShow } from '../../core/biome-report';
import { parseBiomeName } from '../../core/names';
import { dataSetBucketName } from '../../core/settings';
import { loadWorkspaceConfig, writeFileAtomic } from '../../adapters/workspace';
import { Deps, realDeps, storeOf } from '../../operations/context';
import { readBiome } from '../../operations/lifecycle';
import { requireBiomeOption, runExecutor } from '../run';
import type { BiomeShowExecutorSchema } from './schema';

/** Shows one biome: what runs there, from which commit, which bytes, who put it there and when. */
export async function biomeShowWith(
  options: BiomeShowExecutorSchema,
  context: ExecutorContext,
  deps?: Deps,
): Promise<Record<string, unknown>> {
  const config = await loadWorkspaceConfig(context.root);
  const biome = parseBiomeName(requireBiomeOption(options.biome), config);
  const d = deps ?? realDeps(context.root, config);
  const store = storeOf(d, biome);
  const { meta, records, subjects } = await readBiome(store, biome, d.git);
  const report = {
    biome: biome.name,
    environment: biome.environment.name,
    sandpit: biome.sandpit,
    store: store.url,
    meta: meta ?? null,
    records: records.map((r) => ({ ...r, ...(subjects.has(r.gitSha) ? { subject: subjects.get(r.gitSha) } : {}) })),
  };
  d.log(
    options.json
      ? JSON.stringify(report, null, 2)
      : renderBiomeShow({
          ...report,
          meta,
          records,
          subjects,
          dataSetBucket: dataSetBucketName(config, biome.environment),
        }),
  );
  if (options.outputFile)
    await writeFileAtomic(join(context.root, options.outputFile), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

export default async function biomeShowExecutor(
  options: BiomeShowExecutorSchema,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  return runExecutor('biome-show', async () => {
    await biomeShowWith(options, context);
  });
}
