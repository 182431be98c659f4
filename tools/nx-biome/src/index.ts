/**
 * @geo/nx-biome: the workspace plugin. Executors and generators are declared
 * in executors.json / generators.json; this entry adds a pre-run check so a
 * bad `--biome` fails before any task (build included) writes anything.
 */
import type { PreTasksExecution } from '@nx/devkit';
import { optionFromArgv } from './core/argv';
import { BiomeError, formatBiomeError, isBiomeError } from './core/errors';
import { parseBiomeName } from './core/names';
import { loadWorkspaceConfig } from './adapters/workspace';
import { assertNotShallow, createGit } from './adapters/git';

export const name = '@geo/nx-biome';

export const preTasksExecution: PreTasksExecution = async (_options, context) => {
  const argv = context.argv ?? [];
  const biome = optionFromArgv(argv, 'biome');
  const affected = argv.includes('affected');
  if (biome === undefined && !affected) return;
  try {
    if (affected) await assertNotShallow(createGit(context.workspaceRoot));
    if (biome !== undefined) {
      if (biome === '') throw new BiomeError('OPTIONS_INVALID', '--biome was given without a value.', 'Pass --biome=<env> or --biome=<env>-<suffix>, e.g. --biome=dev-bob.');
      parseBiomeName(biome, await loadWorkspaceConfig(context.workspaceRoot));
    }
  } catch (e) {
    if (!isBiomeError(e)) throw e;
    // Stop here: no task has run, nothing has been written.
    console.error(`✖ ${formatBiomeError(e)}`);
    process.exit(1);
  }
};
