import { readCachedProjectGraph } from '@nx/devkit';
import { FinishedTask, planRunFinish } from '../../core/deploy-run';
import { parseBiomeName } from '../../core/names';
import { loadWorkspaceConfig } from '../../adapters/workspace';
import { realDeps } from '../../operations/context';
import { clearRunOutcomes, readRunOutcomes } from '../../operations/deploy-run';
import { finishBiome } from './executor';

/** The part of Nx's postTasksExecution context this step reads. */
export interface FinishedRun {
  id: string;
  workspaceRoot: string;
  taskResults: Record<string, { task: { target: { project: string; target: string }; overrides?: Record<string, unknown> }; status: string }>;
}

/**
 * The end of every Nx run that deployed projects: for each biome it deployed
 * to, render the biome's tfvars once from its whole ledger, print what is
 * deployed where and what this run did, and plan/apply Terraform when the run
 * asked for `--apply` and every deploy succeeded. This replaces an `infra`
 * task that depended on every project's deploy (which put every project of
 * the workspace into every `nx affected` run).
 */
export async function finishDeployRun(run: FinishedRun, log: (line: string) => void = (line) => console.log(line)): Promise<void> {
  const results = Object.values(run.taskResults ?? {});
  if (results.length === 0) return;
  const graph = readCachedProjectGraph();
  const tasks: FinishedTask[] = results.map(({ task, status }) => ({
    project: task.target.project,
    target: task.target.target,
    executor: graph.nodes[task.target.project]?.data.targets?.[task.target.target]?.executor,
    status,
    overrides: task.overrides ?? {},
  }));
  const finishes = planRunFinish(tasks);
  if (finishes.length === 0) return;
  try {
    const config = await loadWorkspaceConfig(run.workspaceRoot);
    for (const finish of finishes) {
      const biome = parseBiomeName(finish.biome, config);
      if (finish.succeeded.length === 0) {
        log(`${biome.name}: no deploy of this run succeeded; ${`dist/terraform/${biome.name}.tfvars.json`} was not rendered again.`);
        continue;
      }
      const complete = finish.failed.length === 0 && finish.skipped.length === 0;
      const deps = { ...realDeps(run.workspaceRoot, config), log };
      log('');
      await finishBiome({
        workspaceRoot: run.workspaceRoot,
        config,
        biome,
        deps,
        dryRun: finish.dryRun,
        apply: finish.apply && complete,
        terraformDir: finish.terraformDir,
        outcomes: await readRunOutcomes(run.workspaceRoot, run.id, biome.name),
        finish,
      });
      if (finish.apply && !complete) log(`Terraform was not applied: ${finish.failed.length + finish.skipped.length} deploy(s) of this run did not succeed (${[...finish.failed, ...finish.skipped].join(', ')}). Fix them and run again.`);
    }
  } finally {
    await clearRunOutcomes(run.workspaceRoot, run.id);
  }
}
