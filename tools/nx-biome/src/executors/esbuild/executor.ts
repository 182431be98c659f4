import type { ExecutorContext } from '@nx/devkit';
import type { EsBuildExecutorOptions } from '@nx/esbuild/executors';
import { formatBiomeError, isBiomeError } from '../../core/errors';
import { refuseAssetSymlinks } from './assets';

/**
 * `@geo/nx-biome:esbuild`: @nx/esbuild's executor, with the same options and
 * schema, plus a batch implementation (batch.ts). A single task is exactly
 * `@nx/esbuild:esbuild`, except that assets reached through a symlink are
 * refused before anything is copied (the asset copy would follow the link).
 */
export default async function* esbuildExecutor(
  options: EsBuildExecutorOptions,
  context: ExecutorContext,
): AsyncGenerator<{ success: boolean }> {
  try {
    await refuseAssetSymlinks(options, context);
  } catch (e) {
    if (!isBiomeError(e)) throw e;
    console.error(`✖ build ${context.projectName}: ${formatBiomeError(e)}`);
    yield { success: false };
    return;
  }
  const { esbuildExecutor: nxEsbuild } = await import('@nx/esbuild/executors');
  yield* nxEsbuild(options, context);
}
