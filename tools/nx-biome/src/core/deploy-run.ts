import { BiomeError } from './errors';
import type { ProjectKind } from './names';
import { DEPLOY_EXECUTOR, PACKAGE_EXECUTOR } from './constants';

/**
 * The environment variable that carries the id of the current Nx run from
 * the plugin's pre-run hook to every task process (Nx applies the hook's
 * environment before it starts any task), so that deploy tasks can leave
 * their outcome where the end-of-run step finds it.
 */
export const RUN_ID_VARIABLE = 'NX_BIOME_RUN_ID';

/** Set on an Nx command that the plugin ran again with the biome's base: it is not resolved twice. */
export const BASE_RESOLVED_VARIABLE = 'NX_BIOME_BASE_RESOLVED';

export { DEPLOY_EXECUTOR } from './constants';
/** The executor of the biome-level `infra:deploy` target. */
export const INFRA_DEPLOY_EXECUTOR = '@geo/nx-biome:infra-deploy';

/**
 * The projects whose deploy a run's task graph holds: tasks of a target that
 * runs the plugin's deploy executor, whatever it is called.
 */
export function plannedDeploys(
  tasks: Record<string, { target: { project: string; target: string } }> | undefined,
  projects: Record<string, { targets?: Record<string, { executor?: string }> }> | undefined,
): string[] {
  return Object.values(tasks ?? {})
    .filter((t) => projects?.[t.target.project]?.targets?.[t.target.target]?.executor === DEPLOY_EXECUTOR)
    .map((t) => t.target.project);
}

/** True when one of a project's targets runs the plugin's deploy executor (whatever the target is called). */
export function isDeployable(targets: Record<string, { executor?: string }> | undefined): boolean {
  return Object.values(targets ?? {}).some((t) => t?.executor === DEPLOY_EXECUTOR);
}

/** The options of a project's package target (the one running the package executor), whatever it is called. */
export function packageOptionsOf(
  targets: Record<string, { executor?: string; options?: unknown }> | undefined,
): { kind?: string; settings?: Record<string, unknown> } | undefined {
  return Object.values(targets ?? {}).find((t) => t?.executor === PACKAGE_EXECUTOR)?.options as
    { kind?: string; settings?: Record<string, unknown> } | undefined;
}

/** One task of a finished Nx run, as the end-of-run step sees it. */
export interface FinishedTask {
  project: string;
  target: string;
  /** The executor of the task's target (from the project graph). */
  executor?: string;
  /** Nx's result: success, failure, skipped, a cache status... */
  status: string;
  overrides: Record<string, unknown>;
}

/** What one project's deploy did in this run (written by the deploy task, read at the end of the run). */
export interface DeployOutcomeEntry {
  project: string;
  kind: ProjectKind;
  biome: string;
  outcome: 'uploaded' | 'present' | 'unchanged' | 'restored';
  key: string;
  size: number;
  gitSha: string;
  dryRun: boolean;
}

/** The end-of-run work for one biome that this run deployed to. */
export interface BiomeRunFinish {
  biome: string;
  /** Projects whose deploy task ran to success, failed, or never ran (a dependency failed). */
  succeeded: string[];
  failed: string[];
  skipped: string[];
  dryRun: boolean;
  /** `--apply` was asked for (on the deploy tasks or on `infra:deploy` in the same run). */
  apply: boolean;
  terraformDir?: string;
}

const flag = (v: unknown) => v === true || v === 'true';

/**
 * Decides, from a finished run's tasks, which biomes need their tfvars
 * rendered: every biome that at least one deployable's `deploy` task targeted.
 * The render reads the biome's whole ledger, so it runs once per biome and
 * run, after the last deploy, whatever the affected set was.
 */
export function planRunFinish(tasks: FinishedTask[]): BiomeRunFinish[] {
  const byBiome = new Map<string, BiomeRunFinish>();
  const infra = tasks.filter((t) => t.executor === INFRA_DEPLOY_EXECUTOR);
  for (const t of tasks) {
    if (t.executor !== DEPLOY_EXECUTOR || typeof t.overrides.biome !== 'string' || t.overrides.biome === '') continue;
    const biome = t.overrides.biome;
    let finish = byBiome.get(biome);
    if (!finish) {
      const infraTask = infra.find((i) => i.overrides.biome === biome);
      finish = {
        biome,
        succeeded: [],
        failed: [],
        skipped: [],
        dryRun: flag(t.overrides.dryRun) || flag(t.overrides['dry-run']),
        apply: flag(t.overrides.apply) || flag(infraTask?.overrides.apply),
        ...(typeof infraTask?.overrides.terraformDir === 'string'
          ? { terraformDir: infraTask.overrides.terraformDir }
          : {}),
      };
      byBiome.set(biome, finish);
    }
    const bucket = t.status === 'success' ? finish.succeeded : t.status === 'failure' ? finish.failed : finish.skipped;
    bucket.push(t.project);
  }
  return [...byBiome.values()].map((f) => ({
    ...f,
    succeeded: f.succeeded.sort(),
    failed: f.failed.sort(),
    skipped: f.skipped.sort(),
  }));
}

/** A deployed project of the biome as the summary shows it. */
export interface SummaryProject {
  project: string;
  kind: string;
  gitSha: string;
  dirty: boolean;
  size: number;
  awsName: string;
}

/**
 * Up to this many projects the end-of-run table lists the whole biome; above
 * it, a run that deployed something lists its own projects and folds the
 * rest into one row (a one-service deploy to a biome of 1,000 projects is one
 * row, not a thousand; `npx nx-biome show <biome>` lists every project).
 */
export const FULL_TABLE_LIMIT = 50;

const NOT_IN_RUN = 'not in this run';

/** True when summaryRows folded the untouched projects into one row. */
export const isFoldedSummary = (rows: string[][]) => rows.at(-1)?.[0].startsWith('… ') === true;

/**
 * Rows of the end-of-run table: every project of the biome (the whole
 * ledger, as Terraform will see it), with what this run did to it. In a
 * biome of more than FULL_TABLE_LIMIT projects, the projects this run did
 * not touch are one row (`… 997 more`), when the run touched any.
 */
export function summaryRows(
  projects: SummaryProject[],
  outcomes: DeployOutcomeEntry[],
  finish: Pick<BiomeRunFinish, 'failed' | 'skipped'>,
  formatSize: (n: number) => string,
): string[][] {
  const byProject = new Map(outcomes.map((o) => [o.project, o]));
  const rows = projects.map((p) => {
    const o = byProject.get(p.project);
    const outcome = finish.failed.includes(p.project)
      ? 'FAILED (record kept)'
      : finish.skipped.includes(p.project)
        ? 'skipped (record kept)'
        : o
          ? describeOutcome(o)
          : NOT_IN_RUN;
    // A dry run records nothing: show the commit it would record.
    const sha = o?.dryRun && o.outcome !== 'unchanged' ? o.gitSha : p.gitSha;
    return [
      p.project,
      p.kind,
      outcome,
      sha.slice(0, 8) + (p.dirty ? '*' : ''),
      formatSize(o?.size ?? p.size),
      p.awsName,
    ];
  });
  // Projects this run failed or skipped before they had any record.
  for (const name of [...finish.failed, ...finish.skipped]) {
    if (!projects.some((p) => p.project === name))
      rows.push([
        name,
        '',
        finish.failed.includes(name) ? 'FAILED (not deployed)' : 'skipped (not deployed)',
        '',
        '',
        '',
      ]);
  }
  for (const o of outcomes) {
    if (o.dryRun && !projects.some((p) => p.project === o.project))
      rows.push([o.project, o.kind, describeOutcome(o), o.gitSha.slice(0, 8), formatSize(o.size), '']);
  }
  rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const untouched = rows.filter((r) => r[2] === NOT_IN_RUN);
  if (rows.length <= FULL_TABLE_LIMIT || untouched.length === rows.length || untouched.length < 2) return rows;
  return [...rows.filter((r) => r[2] !== NOT_IN_RUN), [`… ${untouched.length} more`, '', NOT_IN_RUN, '', '', '']];
}

function describeOutcome(o: DeployOutcomeEntry): string {
  if (o.dryRun)
    return {
      uploaded: 'would upload',
      present: 'would record',
      unchanged: 'unchanged',
      restored: 'would restore artifact',
    }[o.outcome];
  return {
    uploaded: 'uploaded',
    present: 'recorded (already stored)',
    unchanged: 'unchanged',
    restored: 'unchanged (artifact restored)',
  }[o.outcome];
}

/**
 * Whether a finished run brought the whole biome up to date, so that its
 * commit may become the biome's base (the run record): nothing failed, was
 * skipped or only dry-run, no artifact is dirty, and either every deployable
 * project of the workspace deployed, or the run was `nx affected` over the
 * whole workspace from the biome's base (or an older commit). A run of some
 * projects only (`nx deploy <p>`, `--projects`, `--exclude`) never is.
 */
export function runCompletesBiome(input: {
  finish: Pick<BiomeRunFinish, 'succeeded' | 'failed' | 'skipped' | 'dryRun'>;
  deployables: string[];
  anyDirty: boolean;
  /** The affected run's base covers everything since the biome's base (undefined: not an affected run over every project). */
  affectedFromBiomeBase?: boolean;
}): boolean {
  const { finish } = input;
  if (finish.dryRun || input.anyDirty || finish.failed.length > 0 || finish.skipped.length > 0) return false;
  if (input.affectedFromBiomeBase) return true;
  const done = new Set(finish.succeeded);
  return input.deployables.length > 0 && input.deployables.every((p) => done.has(p));
}

/**
 * Nx 23.2.1 leaves the tasks it skipped (dependents of a failed task) out of
 * its task results and then takes the run for interrupted: a failed build
 * under `nx deploy <p>` exits 130, the code of a Ctrl-C. An error from the
 * post-run hook makes Nx exit 1 instead, so a run with a failed task and no
 * stopped one (a real interruption stops tasks) fails with this error.
 */
export function failedRunError(results: { id: string; status: string }[]): BiomeError | undefined {
  if (results.some((r) => r.status === 'stopped')) return undefined;
  const failed = results
    .filter((r) => r.status === 'failure')
    .map((r) => r.id)
    .sort();
  if (failed.length === 0) return undefined;
  return new BiomeError(
    'RUN_FAILED',
    `${failed.length} task(s) failed: ${failed.join(', ')}; the tasks that depend on them did not run.`,
    'See the failed task output above, fix it and run the same command again.',
  );
}
