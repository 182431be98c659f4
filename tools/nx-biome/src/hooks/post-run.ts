import type { PostTasksExecutionContext } from '@nx/devkit';
import { selectRun } from '../core/run-selection';
import { readNxCommandLine } from '../adapters/nx-command-line';
import { asNxError } from './nx-error';

/**
 * After the last task of a run: renders the tfvars of every biome the run's
 * deploy tasks targeted (from Nx's task results, whatever command form ran
 * them), once, from the biome's whole ledger, and prints what runs where.
 */
export async function finishRun(context: PostTasksExecutionContext): Promise<void> {
  const cmd = await readNxCommandLine(context.argv ?? []);
  const selection = cmd ? selectRun(cmd) : undefined;
  const deployTasks = Object.values(context.taskResults ?? {}).some((r) => r.task.target.target === 'deploy' && typeof r.task.overrides?.biome === 'string');
  if (!deployTasks && !(selection?.deploys && selection.biome)) return;
  try {
    // Loaded here, not at plugin load: most Nx runs deploy nothing.
    const { finishDeployRun } = await import('../executors/infra-deploy/finish-run');
    await finishDeployRun(context, selection);
  } catch (e) {
    throw asNxError(e);
  }
}
