import type { ExecutorContext } from '@nx/devkit';
import { relative } from 'node:path';
import { formatTime } from '../../core/lifecycle';
import { parseBiomeName, validateProjectName } from '../../core/names';
import { renderTable } from '../../core/table';
import { loadWorkspaceConfig } from '../../adapters/workspace';
import { Deps, realDeps, storeOf } from '../../operations/context';
import { rollbackBiome, RollbackStep } from '../../operations/rollback';
import { requireBiomeOption, runExecutor } from '../run';
import type { RollbackExecutorSchema } from './schema';

/** Rolls projects of a biome back to an earlier deployment and re-renders its tfvars. */
export async function rollbackWith(
  options: RollbackExecutorSchema,
  context: ExecutorContext,
  deps?: Deps,
): Promise<RollbackStep[]> {
  const config = await loadWorkspaceConfig(context.root);
  const biome = parseBiomeName(requireBiomeOption(options.biome), config);
  const projects =
    options.projects === undefined
      ? undefined
      : String(options.projects)
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean);
  projects?.forEach(validateProjectName);
  const to = options.to === undefined ? undefined : String(options.to);
  const d = deps ?? realDeps(context.root, config);
  const dryRun = !!options.dryRun;
  const { steps, tfvarsPath } = await rollbackBiome({
    store: storeOf(d, biome),
    config,
    biome,
    projects,
    to,
    deps: d,
    workspaceRoot: context.root,
    dryRun,
  });
  d.log(`${dryRun ? '[dry-run] ' : ''}rollback of ${biome.name}:`);
  d.log(
    renderTable(
      ['project', 'now', 'back to', 'deployed then', 'artifact'],
      steps.map((s) =>
        s.restore
          ? [
              s.project,
              s.current.gitSha.slice(0, 8),
              s.restore.gitSha.slice(0, 8),
              formatTime(s.restore.deployedAt),
              s.restore.artifactKey,
            ]
          : [s.project, s.current.gitSha.slice(0, 8), '-', '-', `kept: ${s.why}`],
      ),
    ),
  );
  const moved = steps.filter((s) => s.restore).length;
  if (dryRun)
    d.log(
      `[dry-run] would restore ${moved} project(s); artifacts checked (present, sha256 matches); nothing was written.`,
    );
  else d.log(`restored ${moved} project(s) in ${biome.name}; rendered ${relative(context.root, tfvarsPath!)}`);
  return steps;
}

export default async function rollbackExecutor(
  options: RollbackExecutorSchema,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  return runExecutor('rollback', async () => {
    await rollbackWith(options, context);
  });
}
