import type { ExecutorContext } from '@nx/devkit';
import { BiomeError, formatBiomeError, isBiomeError } from '../core/errors';

/**
 * The one top-level handler: user errors become a clear message and
 * `{ success: false }`; anything else is a bug and keeps its stack.
 */
export async function runExecutor(label: string, body: () => Promise<void>): Promise<{ success: boolean }> {
  try {
    await body();
    return { success: true };
  } catch (e) {
    if (isBiomeError(e)) console.error(`✖ ${label}: ${formatBiomeError(e)}`);
    else console.error(`✖ ${label}: internal error\n${(e as Error)?.stack ?? String(e)}`);
    return { success: false };
  }
}

/** The project an executor runs for, with its root folder. */
export function currentProject(context: ExecutorContext): { name: string; root: string } {
  const name = context.projectName;
  if (!name) throw new Error('executor called without a project');
  return { name, root: context.projectsConfigurations!.projects[name].root };
}

/** Requires a biome option, with the fix in the message. */
export function requireBiomeOption(biome: unknown): string {
  if (typeof biome !== 'string' || biome.length === 0) {
    throw new BiomeError(
      'OPTIONS_INVALID',
      'No biome given.',
      'Pass --biome=<env> or --biome=<env>-<suffix>, e.g. nx affected -t deploy --biome=dev-bob.',
    );
  }
  return biome;
}

/** Human-readable size. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
