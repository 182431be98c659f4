import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { formatBiomeError, isBiomeError } from '../core/errors';

/** What a batch executor yields to Nx for each task. */
export interface BatchTaskResult {
  task: string;
  result: { success: boolean; terminalOutput: string; startTime: number; endTime: number };
}

/** One task of a batch: its id, options, and an executor context for its project. */
export interface BatchTask<T> {
  id: string;
  options: T;
  context: ExecutorContext;
}

/** The tasks of an Nx batch in dependency order, each with a context naming its project and target. */
export function batchTasks<T>(
  taskGraph: TaskGraph,
  inputs: Record<string, T>,
  context: ExecutorContext,
): BatchTask<T>[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (id: string) => {
    if (seen.has(id) || !taskGraph.tasks[id]) return;
    seen.add(id);
    for (const dep of taskGraph.dependencies[id] ?? []) visit(dep);
    order.push(id);
  };
  for (const id of Object.keys(taskGraph.tasks).sort()) visit(id);
  return order.map((id) => {
    const { project, target, configuration } = taskGraph.tasks[id].target;
    const targetConfig = context.projectsConfigurations?.projects[project]?.targets?.[target];
    return {
      id,
      options: inputs[id],
      context: {
        ...context,
        projectName: project,
        targetName: target,
        configurationName: configuration,
        target: targetConfig,
      },
    };
  });
}

/**
 * Runs the tasks of a batch in one process, at most `concurrency` at a time,
 * and yields each task's result as soon as it ends. Each task gets its own
 * log, returned as its terminal output, so lines of parallel tasks never mix.
 * Errors are reported as `runExecutor` reports them: a user error as its
 * message and fix, anything else with its stack; a body that returns `false`
 * has failed and said why itself.
 */
export async function* runBatch<T>(
  tasks: BatchTask<T>[],
  concurrency: number,
  label: (task: BatchTask<T>) => string,
  body: (task: BatchTask<T>, log: (line: string) => void) => Promise<void | boolean>,
): AsyncGenerator<BatchTaskResult> {
  const done: BatchTaskResult[] = [];
  let wake: (() => void) | undefined;
  let next = 0;
  let running = 0;
  const start = () => {
    while (running < concurrency && next < tasks.length) {
      const task = tasks[next++];
      running++;
      const lines: string[] = [];
      const log = (line: string) => lines.push(line);
      const startTime = Date.now();
      body(task, log)
        .then(
          (ok) => ok !== false,
          (e: unknown) => {
            log(
              isBiomeError(e)
                ? `✖ ${label(task)}: ${formatBiomeError(e)}`
                : `✖ ${label(task)}: internal error\n${(e as Error)?.stack ?? String(e)}`,
            );
            return false;
          },
        )
        .then((success) => {
          running--;
          done.push({
            task: task.id,
            result: {
              success,
              terminalOutput: lines.length ? `${lines.join('\n')}\n` : '',
              startTime,
              endTime: Date.now(),
            },
          });
          wake?.();
        });
    }
  };
  start();
  let yielded = 0;
  while (yielded < tasks.length) {
    if (done.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
    while (done.length > 0) {
      const r = done.shift()!;
      yielded++;
      yield r;
    }
    start();
  }
  // Nx 23 keeps a finished batch worker (~150 MB) alive until the whole run
  // ends, and a run can start many batches. Unref'd, the IPC channel no longer
  // holds this process: it exits on its own once Nx has its last message.
  if (process.env.NX_FORKED_TASK_EXECUTOR === 'true') process.channel?.unref();
}
