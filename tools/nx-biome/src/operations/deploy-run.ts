import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DeployOutcomeEntry, RUN_ID_VARIABLE } from '../core/deploy-run';
import { writeFileAtomic } from '../adapters/workspace';

const plansWritten = new Set<string>();

/** Where the deploy tasks of one run leave their outcomes (gitignored, removed at the end of the run). */
export function runFolder(workspaceRoot: string, runId: string): string {
  // Nx's run id is a hash; anything else is refused rather than used as a path.
  if (!/^[0-9A-Za-z_-]{1,128}$/.test(runId)) throw new Error(`invalid run id "${runId}"`);
  return join(workspaceRoot, 'dist', '.biome-run', runId);
}

/**
 * Records one project's deploy outcome for the end-of-run summary, with the
 * projects whose deploy the run planned (Nx's post-run hook hears nothing of
 * a task that never started because its build failed). No-op outside an Nx run.
 */
export async function recordRunOutcome(
  workspaceRoot: string,
  env: Record<string, string | undefined>,
  entry: DeployOutcomeEntry,
  planned: string[],
): Promise<void> {
  const runId = env[RUN_ID_VARIABLE];
  if (!runId) return;
  const dir = runFolder(workspaceRoot, runId);
  // Every task of a run plans the same deploys: a batch process writes the plan once, not once per project.
  const planKey = `${runId}\0${entry.biome}`;
  if (!plansWritten.has(planKey)) {
    await writeFileAtomic(join(dir, `planned-${entry.biome}.plan`), JSON.stringify([...planned].sort()));
    plansWritten.add(planKey);
  }
  await writeFileAtomic(join(dir, `${entry.project}.json`), JSON.stringify(entry));
}

/** The projects whose deploy to `biome` the run planned, as its deploy tasks recorded them. */
export async function readRunPlan(workspaceRoot: string, runId: string, biome: string): Promise<string[]> {
  const text = await readFile(join(runFolder(workspaceRoot, runId), `planned-${biome}.plan`), 'utf8').catch(() => '[]');
  return JSON.parse(text) as string[];
}

/** Every outcome recorded in a run for one biome. */
export async function readRunOutcomes(
  workspaceRoot: string,
  runId: string,
  biome: string,
): Promise<DeployOutcomeEntry[]> {
  const dir = runFolder(workspaceRoot, runId);
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: DeployOutcomeEntry[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const entry = JSON.parse(await readFile(join(dir, name), 'utf8')) as DeployOutcomeEntry;
    if (entry.biome === biome) out.push(entry);
  }
  return out;
}

/** Removes a run's outcome folder. */
export async function clearRunOutcomes(workspaceRoot: string, runId: string): Promise<void> {
  await rm(runFolder(workspaceRoot, runId), { recursive: true, force: true });
}
