import { readCachedProjectGraph } from '@nx/devkit';
import { FinishedTask, planRunFinish } from '../../core/deploy-run';
import { parseBiomeName } from '../../core/names';
import { loadWorkspaceConfig } from '../../adapters/workspace';
import { realDeps } from '../../operations/context';
import { clearRunOutcomes, readRunOutcomes, readRunPlan } from '../../operations/deploy-run';
import { finishBiome } from './executor';

const failedCount = (f: { failed: string[]; skipped: string[] }) => f.failed.length + f.skipped.length;

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
      // Deploys that never started (their build failed) are missing from Nx's results: the plan names them.
      const heard = new Set([...finish.succeeded, ...finish.failed, ...finish.skipped]);
      finish.skipped.push(...(await readRunPlan(run.workspaceRoot, run.id, biome.name)).filter((p) => !heard.has(p)));
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
        // A half-failed run writes no tfvars (and applies nothing): a CI step
        // after it must not plan a biome that is half this commit, half the last.
        ...(complete ? {} : { holdBack: `${failedCount(finish)} deploy(s) of this run did not succeed: ${[...finish.failed, ...finish.skipped].join(', ')}; fix them and run again` }),
      });
    }
  } finally {
    await clearRunOutcomes(run.workspaceRoot, run.id);
  }
}
