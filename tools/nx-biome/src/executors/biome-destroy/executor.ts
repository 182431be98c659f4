import type { ExecutorContext } from '@nx/devkit';
import { parseBiomeName } from '../../core/names';
import { loadWorkspaceConfig } from '../../adapters/workspace';
import { Deps, realDeps, storeOf } from '../../operations/context';
import { destroyBiomes } from '../../operations/destroy';
import { requireBiomeOption, runExecutor } from '../run';
import type { BiomeDestroyExecutorSchema } from './schema';

/** Destroys one sandpit biome (refuses main biomes). */
export async function biomeDestroyWith(
  options: BiomeDestroyExecutorSchema,
  context: ExecutorContext,
  deps?: Deps,
): Promise<void> {
  const config = await loadWorkspaceConfig(context.root);
  const biome = parseBiomeName(requireBiomeOption(options.biome), config);
  const d = deps ?? realDeps(context.root, config);
  await destroyBiomes({
    store: storeOf(d, biome),
    config,
    biomes: [biome],
    workspaceRoot: context.root,
    dryRun: !!options.dryRun,
    terraform: !!options.terraform,
    terraformDir: options.terraformDir,
    ifExists: !!options.ifExists,
    deps: d,
  });
}

export default async function biomeDestroyExecutor(
  options: BiomeDestroyExecutorSchema,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  return runExecutor('biome-destroy', () => biomeDestroyWith(options, context));
}
