import { readCachedProjectGraph } from '@nx/devkit';
import { BiomeRunFinish, FinishedTask, isDeployable, planRunFinish, runCompletesBiome } from '../../core/deploy-run';
import { BiomeRef, parseBiomeName } from '../../core/names';
import { RunSelection } from '../../core/run-selection';
import { mergeBase, resolveCommit } from '../../adapters/git';
import { loadWorkspaceConfig } from '../../adapters/workspace';
import { Deps, realDeps, storeOf } from '../../operations/context';
import { clearRunOutcomes, readRunOutcomes, readRunPlan } from '../../operations/deploy-run';
import { coversSinceLastRun, recordCompleteRun } from '../../operations/run-record';
import { finishBiome } from './executor';

const failedCount = (f: { failed: string[]; skipped: string[] }) => f.failed.length + f.skipped.length;

/** The part of Nx's postTasksExecution context this step reads. */
export interface FinishedRun {
  id: string;
  workspaceRoot: string;
  taskResults: Record<
    string,
    { task: { target: { project: string; target: string }; overrides?: Record<string, unknown> }; status: string }
  >;
  nxJsonConfiguration?: { defaultBase?: string };
}

/**
 * The end of every Nx run that deployed projects: for each biome it deployed
 * to (read from the tasks that actually ran, whatever command form started
 * them), render the biome's tfvars once from its whole ledger, print what is
 * deployed where and what this run did, record the run when it brought the
 * whole biome up to date, and plan/apply Terraform when the run asked for
 * `--apply` and every deploy succeeded. A deploy command whose run had no
 * deploy task at all (`nx affected` with nothing affected) still renders the
 * biome named by `selection`, so its tfvars always match its ledger.
 */
export async function finishDeployRun(
  run: FinishedRun,
  selection?: RunSelection,
  log: (line: string) => void = (line) => console.log(line),
): Promise<void> {
  const results = Object.values(run.taskResults ?? {});
  const graph = readCachedProjectGraph();
  const tasks: FinishedTask[] = results.map(({ task, status }) => ({
    project: task.target.project,
    target: task.target.target,
    executor: graph.nodes[task.target.project]?.data.targets?.[task.target.target]?.executor,
    status,
    overrides: task.overrides ?? {},
  }));
  const finishes = planRunFinish(tasks);
  if (selection?.deploys && selection.biome && !finishes.some((f) => f.biome === selection.biome)) {
    finishes.push({
      biome: selection.biome,
      succeeded: [],
      failed: [],
      skipped: [],
      dryRun: selection.dryRun,
      apply: false,
    });
  }
  if (finishes.length === 0) return;
  const deployables = Object.keys(graph.nodes).filter((p) => isDeployable(graph.nodes[p].data.targets));
  try {
    const config = await loadWorkspaceConfig(run.workspaceRoot);
    for (const finish of finishes) {
      const biome = parseBiomeName(finish.biome, config);
      const ran = finish.succeeded.length + finish.failed.length + finish.skipped.length > 0;
      if (ran && finish.succeeded.length === 0) {
        log(
          `${biome.name}: no deploy of this run succeeded; ${`dist/terraform/${biome.name}.tfvars.json`} was not rendered again.`,
        );
        continue;
      }
      // Deploys that never started (their build failed) are missing from Nx's results: the plan names them.
      const heard = new Set([...finish.succeeded, ...finish.failed, ...finish.skipped]);
      finish.skipped.push(...(await readRunPlan(run.workspaceRoot, run.id, biome.name)).filter((p) => !heard.has(p)));
      const complete = finish.failed.length === 0 && finish.skipped.length === 0;
      const deps = { ...realDeps(run.workspaceRoot, config), log };
      const outcomes = await readRunOutcomes(run.workspaceRoot, run.id, biome.name);
      log('');
      await finishBiome({
        workspaceRoot: run.workspaceRoot,
        config,
        biome,
        deps,
        dryRun: finish.dryRun,
        apply: finish.apply && complete,
        terraformDir: finish.terraformDir,
        outcomes,
        finish,
        // A half-failed run writes no tfvars (and applies nothing): a CI step
        // after it must not plan a biome that is half this commit, half the last.
        ...(complete
          ? {}
          : {
              holdBack: `${failedCount(finish)} deploy(s) of this run did not succeed: ${[...finish.failed, ...finish.skipped].join(', ')}; fix them and run again`,
            }),
      });
      await recordRunWhenComplete({
        run,
        selection,
        finish,
        deployables,
        anyDirty: outcomes.some((o) => /-dirty-/.test(o.key)),
        biome,
        deps,
      });
    }
  } finally {
    await clearRunOutcomes(run.workspaceRoot, run.id);
  }
}

/**
 * Writes the biome's run record (its next base) when this run brought every
 * project up to HEAD; a run cut short never gets here, so the base stays at
 * the last run that did.
 */
async function recordRunWhenComplete(input: {
  run: FinishedRun;
  selection?: RunSelection;
  finish: BiomeRunFinish;
  deployables: string[];
  anyDirty: boolean;
  biome: BiomeRef;
  deps: Deps;
}): Promise<void> {
  const { run, selection, finish, biome, deps } = input;
  const root = run.workspaceRoot;
  const head = await resolveCommit(root, 'HEAD');
  if (!head) return;
  const store = storeOf(deps, biome);
  let affectedFromBiomeBase: boolean | undefined;
  if (
    selection?.affected &&
    !selection.customRange &&
    selection.projects.length === 0 &&
    selection.exclude.length === 0
  ) {
    // The base Nx compared with: --base, NX_BASE, else the merge base of nx.json's defaultBase and HEAD.
    const ref = selection.base ?? deps.env.NX_BASE ?? run.nxJsonConfiguration?.defaultBase ?? 'main';
    const base = (await resolveCommit(root, ref)) && (await mergeBase(root, ref, head));
    affectedFromBiomeBase = !!base && (await coversSinceLastRun(store, deps.git, biome.name, base));
  }
  if (!runCompletesBiome({ finish, deployables: input.deployables, anyDirty: input.anyDirty, affectedFromBiomeBase }))
    return;
  await recordCompleteRun(store, {
    biome: biome.name,
    gitSha: head,
    now: deps.now(),
    projects: finish.succeeded,
    log: deps.log,
  });
}
