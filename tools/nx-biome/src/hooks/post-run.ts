import type { PostTasksExecutionContext } from '@nx/devkit';
import { failedRunError } from '../core/deploy-run';
import { deployTargetOf } from '../core/inferred-targets';
import { selectRun } from '../core/run-selection';
import { readNxCommandLine } from '../adapters/nx-command-line';
import { asNxError } from './nx-error';

/**
 * After the last task of a run: renders the tfvars of every biome the run's
 * deploy tasks targeted (from Nx's task results, whatever command form ran
 * them), once, from the biome's whole ledger, and prints what runs where.
 * Then makes a failed run exit 1 (see failedRunError).
 */
export async function finishRun(context: PostTasksExecutionContext): Promise<void> {
  const results = Object.values(context.taskResults ?? {});
  const cmd = await readNxCommandLine(context.argv ?? []);
  // A deploy command whose run had no deploy task renders the biome it names; a failed run does not (its deploys never ran).
  const deployTarget = deployTargetOf(context.nxJsonConfiguration?.plugins);
  const selection = cmd && !results.some((r) => r.status === 'failure') ? selectRun(cmd, deployTarget) : undefined;
  const deployTasks = results.some(
    (r) => r.task.target.target === deployTarget && typeof r.task.overrides?.biome === 'string',
  );
  try {
    if (deployTasks || (selection?.deploys && selection.biome)) {
      // Loaded here, not at plugin load: most Nx runs deploy nothing.
      const { finishDeployRun } = await import('../executors/infra-deploy/finish-run');
      await finishDeployRun(context, selection);
    }
    const failed = failedRunError(results.map((r) => ({ id: r.task.id, status: r.status })));
    if (failed) throw failed;
  } catch (e) {
    throw asNxError(e);
  }
}
