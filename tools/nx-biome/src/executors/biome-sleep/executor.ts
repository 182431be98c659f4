import type { ExecutorContext } from '@nx/devkit';
import { relative } from 'node:path';
import { parseBiomeName } from '../../core/names';
import { loadWorkspaceConfig } from '../../adapters/workspace';
import { Deps, realDeps, storeOf } from '../../operations/context';
import { sleepBiome } from '../../operations/lifecycle';
import { requireBiomeOption, runExecutor } from '../run';
import type { BiomeSleepExecutorSchema } from './schema';

/** Puts a biome to sleep (or wakes it) and re-renders its tfvars. */
export async function biomeSleepWith(
  options: BiomeSleepExecutorSchema,
  context: ExecutorContext,
  deps?: Deps,
): Promise<void> {
  const config = await loadWorkspaceConfig(context.root);
  const biome = parseBiomeName(requireBiomeOption(options.biome), config);
  const asleep = options.asleep !== false;
  const d = deps ?? realDeps(context.root, config);
  const { changed, path } = await sleepBiome({
    store: storeOf(d, biome),
    config,
    biome,
    asleep,
    workspaceRoot: context.root,
    dryRun: !!options.dryRun,
  });
  const state = asleep ? 'asleep' : 'awake';
  const file = relative(context.root, path);
  if (options.dryRun)
    d.log(
      `[dry-run] ${changed ? `would mark ${biome.name} ${state}` : `${biome.name} is already ${state}`} and render ${file}`,
    );
  else
    d.log(
      `${biome.name} is ${changed ? 'now' : 'already'} ${state}; rendered ${file} (asleep: ${asleep}). Run nx run infra:deploy --biome=${biome.name} --apply to ${asleep ? 'scale it to zero' : 'scale it back up'}.`,
    );
}

export default async function biomeSleepExecutor(
  options: BiomeSleepExecutorSchema,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  return runExecutor(options.asleep === false ? 'biome-wake' : 'biome-sleep', () => biomeSleepWith(options, context));
}
