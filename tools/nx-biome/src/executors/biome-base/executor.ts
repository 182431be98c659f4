import type { ExecutorContext } from '@nx/devkit';
import { BiomeError } from '../../core/errors';
import { parseBiomeName } from '../../core/names';
import { assertNotShallow } from '../../adapters/git';
import { loadWorkspaceConfig, workspaceOutputPath, writeFileAtomic } from '../../adapters/workspace';
import { Deps, realDeps, storeOf } from '../../operations/context';
import { describeBiomeBase, findBiomeBase } from '../../operations/biome-base';
import { requireBiomeOption, runExecutor } from '../run';

export interface BiomeBaseOptions {
  biome: string;
  fallback?: string;
  outputFile?: string;
}

/**
 * Prints the commit of the biome's last complete deploy run, for `nx affected --base=...`;
 * with `outputFile`, also writes it there (for CI scripts).
 */
export async function biomeBaseWith(options: BiomeBaseOptions, context: ExecutorContext, deps?: Deps): Promise<string> {
  const config = await loadWorkspaceConfig(context.root);
  const biome = parseBiomeName(requireBiomeOption(options.biome), config);
  const d = deps ?? realDeps(context.root, config);
  await assertNotShallow(d.git);
  const found = await findBiomeBase({
    store: storeOf(d, biome),
    biome: biome.name,
    git: d.git,
    fallback: options.fallback,
  });
  const { base } = found;
  if (!base) {
    throw new BiomeError(
      'BIOME_NOT_FOUND',
      `Biome ${biome.name} records no complete deploy run at a commit this repository has.`,
      'Pass --fallback=<ref> (e.g. the merge base with main, or "all"), or deploy every project: npx nx-biome deploy --biome=<b>.',
    );
  }
  d.log(describeBiomeBase(biome.name, found));
  if (options.outputFile) {
    const target = workspaceOutputPath(context.root, 'outputFile', options.outputFile);
    await writeFileAtomic(target, `${base}\n`);
  }
  return base;
}

export default async function biomeBaseExecutor(
  options: BiomeBaseOptions,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  return runExecutor('biome-base', async () => {
    await biomeBaseWith(options, context);
  });
}
