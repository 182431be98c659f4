import type { ExecutorContext } from '@nx/devkit';
import { relative } from 'node:path';
import { parseBiomeName, validateProjectName } from '../../core/names';
import { RepairAction } from '../../core/repair';
import { loadWorkspaceConfig } from '../../adapters/workspace';
import { Deps, realDeps, storeOf } from '../../operations/context';
import { repairBiome } from '../../operations/repair';
import { requireBiomeOption, runExecutor } from '../run';
import type { BiomeRepairExecutorSchema } from './schema';

const describe = (a: RepairAction) =>
  a.kind === 'restore'
    ? `restore ${a.key} from ${a.from} (${a.record.gitSha.slice(0, 8)}, deployed ${a.record.deployedAt})`
    : a.kind === 'remove'
      ? `remove  ${a.key}`
      : `rewrite ${a.key} (owner ${a.meta.owner}, expires ${a.meta.expires ?? 'never'}, ${a.meta.asleep ? 'asleep' : 'awake'})`;

/** Repairs the objects of a biome that fail validation (see repairBiome). */
export async function biomeRepairWith(
  options: BiomeRepairExecutorSchema,
  context: ExecutorContext,
  deps?: Deps,
): Promise<RepairAction[]> {
  const config = await loadWorkspaceConfig(context.root);
  const biome = parseBiomeName(requireBiomeOption(options.biome), config);
  const project = options.project === undefined ? undefined : String(options.project);
  if (project !== undefined) validateProjectName(project);
  const d = deps ?? realDeps(context.root, config);
  const dryRun = !!options.dryRun;
  const store = storeOf(d, biome);
  const { actions, tfvarsPath } = await repairBiome({
    store,
    config,
    biome,
    project,
    workspaceRoot: context.root,
    now: d.now(),
    dryRun,
  });
  if (actions.length === 0) {
    d.log(`${biome.name} in ${store.url}: every object${project ? ` of ${project}` : ''} is valid; nothing to repair.`);
    return actions;
  }
  d.log(
    `${dryRun ? '[dry-run] would repair' : 'repaired'} ${actions.length} object(s) of ${biome.name} in ${store.url}:`,
  );
  for (const a of actions) d.log(`  ${dryRun ? '[dry-run] ' : ''}${describe(a)}\n      because: ${a.why}`);
  if (tfvarsPath) d.log(`rendered ${relative(context.root, tfvarsPath)}`);
  return actions;
}

export default async function biomeRepairExecutor(
  options: BiomeRepairExecutorSchema,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  return runExecutor('biome-repair', async () => {
    await biomeRepairWith(options, context);
  });
}
