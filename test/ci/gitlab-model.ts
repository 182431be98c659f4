/**
 * A model of how GitLab decides which jobs of a pipeline run, wait, become
 * playable or are skipped, applied to the pipeline gitlab-ci-local expands.
 *
 * Written from GitLab's documentation and its processing code:
 * - rules (docs "rules"): the first rule whose `if` matches decides `when`
 *   (default `on_success`) and `allow_failure`; no match is `never`. With
 *   rules, `when: manual` defaults to `allow_failure: false` (a blocking
 *   manual job); outside rules a manual job defaults to `allow_failure: true`.
 * - Gitlab::Ci::Status::Composite: a job with `allow_failure` that failed (or
 *   was canceled) counts as `success_with_warnings`; a manual job with
 *   `allow_failure` that was not played is `ignored`. For `needs` (dag), any
 *   skipped or ignored need makes the result `skipped`.
 * - Ci::PipelineProcessing::AtomicProcessingService: a job is processed once
 *   the composite status of its needs (or, without `needs`, of every job in
 *   earlier stages) is complete (success, failed, canceled, skipped).
 * - Ci::ProcessBuildService: `on_success`/`manual` jobs go ahead only on
 *   `success` (dag) or `success`/`skipped` (stages); `on_failure` on `failed`;
 *   `always` on any. Otherwise the job is skipped. A manual job that goes
 *   ahead becomes `manual` (playable); the others are enqueued.
 * - Ci::PlayBuildService + ResetSkippedJobsService: playing a manual job
 *   resets the skipped jobs after it (later stages, or needing it) to created.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { GCL_ENTRY } from './gitlab-ci-local';

export type When = 'on_success' | 'manual' | 'always' | 'on_failure' | 'never' | 'delayed';
export type JobStatus = 'created' | 'manual' | 'pending' | 'success' | 'failed' | 'canceled' | 'skipped';

/** A job as the pipeline has it once rules are evaluated. */
export interface ModelJob {
  name: string;
  stage: string;
  when: When;
  allowFailure: boolean;
  /** Names of needed jobs; null without `needs` (stage ordering). */
  needs: string[] | null;
}

/** The expanded pipeline (gitlab-ci-local --preview) as a plain object. */
export type ExpandedPipeline = Record<string, unknown> & { stages: string[]; variables?: Record<string, string> };

/** Runs gitlab-ci-local on a copy of one .gitlab-ci.yml text in a throwaway git repo. */
export function runGitlabCiLocal(ciYaml: string, args: string[], variables: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'gcl-model-'));
  try {
    writeFileSync(join(dir, '.gitlab-ci.yml'), ciYaml);
    const git = (...a: string[]) => spawnSync('git', a, { cwd: dir, encoding: 'utf8' });
    git('init', '-q', '-b', 'main');
    git('-c', 'user.email=t@example.invalid', '-c', 'user.name=T', 'commit', '-q', '--allow-empty', '-m', 'ci');
    git('remote', 'add', 'origin', 'https://gitlab.example.invalid/geo/monorepo.git');
    git('update-ref', 'refs/remotes/origin/main', 'HEAD');
    git('symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main');
    const vars = Object.entries(variables).flatMap(([k, v]) => ['--variable', `${k}=${v}`]);
    const r = spawnSync(process.execPath, [GCL_ENTRY, ...args, ...vars], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, GCL_IGNORE_PREDEFINED_VARS: Object.keys(variables).join(',') },
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.status !== 0) throw new Error(`gitlab-ci-local ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The pipeline with defaults, extends and !reference expanded, as gitlab-ci-local prints it. */
export function expandPipeline(ciYaml: string): ExpandedPipeline {
  const out = runGitlabCiLocal(ciYaml, ['--preview']);
  return parse(out.slice(out.indexOf('---'))) as ExpandedPipeline;
}

/** gitlab-ci-local's own rules evaluation (when, allow_failure, needs) for a pipeline context. */
export function listJobs(
  ciYaml: string,
  variables: Record<string, string>,
): { name: string; stage: string; when: string; allow_failure: boolean }[] {
  const out = runGitlabCiLocal(ciYaml, ['--list-json'], variables);
  return JSON.parse(out.slice(out.indexOf('[')));
}

// ---------------------------------------------------------------- rules:if

/** Evaluates a rules:if expression (`$VAR`, quoted strings, ==, !=, &&, ||, parentheses) like GitLab. */
export function evaluateIf(expression: string, vars: Record<string, string | undefined>): boolean {
  const tokens = expression.match(/\$[A-Za-z_][A-Za-z0-9_]*|"[^"]*"|'[^']*'|==|!=|&&|\|\||\(|\)|=~|!~|\S+/g) ?? [];
  let i = 0;
  const value = (t: string): string | null => {
    if (t.startsWith('$')) {
      const v = vars[t.slice(1)];
      return v === undefined ? null : v;
    }
    if (/^["'].*["']$/.test(t)) return t.slice(1, -1);
    if (t === 'null') return null;
    throw new Error(`rules:if token ${t} is not modelled (in ${expression})`);
  };
  const primary = (): boolean => {
    const t = tokens[i++];
    if (t === '(') {
      const r = or();
      if (tokens[i++] !== ')') throw new Error(`unbalanced parentheses in ${expression}`);
      return r;
    }
    const left = value(t);
    const op = tokens[i];
    if (op === '==' || op === '!=') {
      i++;
      const right = value(tokens[i++]);
      return op === '==' ? left === right : left !== right;
    }
    if (op === '=~' || op === '!~') throw new Error(`regex match is not modelled (in ${expression})`);
    // A variable alone: true when it is defined and not empty.
    return left !== null && left !== '';
  };
  const and = (): boolean => {
    let r = primary();
    while (tokens[i] === '&&') {
      i++;
      r = primary() && r;
    }
    return r;
  };
  const or = (): boolean => {
    let r = and();
    while (tokens[i] === '||') {
      i++;
      r = and() || r;
    }
    return r;
  };
  const result = or();
  if (i !== tokens.length) throw new Error(`unexpected ${tokens[i]} in ${expression}`);
  return result;
}

interface RawJob {
  stage?: string;
  when?: When;
  allow_failure?: boolean;
  needs?: (string | { job: string })[];
  rules?: { if?: string; when?: When; allow_failure?: boolean }[];
}

const NOT_JOBS = new Set([
  'stages',
  'variables',
  'workflow',
  'default',
  'include',
  'image',
  'services',
  'cache',
  'before_script',
  'after_script',
]);

/** The jobs of an expanded pipeline in a pipeline context, with rules applied as GitLab applies them. */
export function jobsFor(pipeline: ExpandedPipeline, predefined: Record<string, string>): ModelJob[] {
  const vars = { ...(pipeline.variables ?? {}), ...predefined };
  const jobs: ModelJob[] = [];
  for (const [name, raw] of Object.entries(pipeline) as [string, RawJob][]) {
    if (NOT_JOBS.has(name) || name.startsWith('.') || !raw || typeof raw !== 'object') continue;
    let when: When;
    let allowFailure: boolean;
    if (raw.rules) {
      const rule = raw.rules.find((r) => r.if === undefined || evaluateIf(r.if, vars));
      when = rule ? (rule.when ?? raw.when ?? 'on_success') : 'never';
      allowFailure = rule?.allow_failure ?? raw.allow_failure ?? false;
    } else {
      when = raw.when ?? 'on_success';
      allowFailure = raw.allow_failure ?? when === 'manual';
    }
    const needs = raw.needs ? raw.needs.map((n) => (typeof n === 'string' ? n : n.job)) : null;
    jobs.push({ name, stage: raw.stage ?? 'test', when, allowFailure, needs });
  }
  return jobs.filter((j) => j.when !== 'never');
}

// ---------------------------------------------------------------- processing

const COMPLETED = new Set(['success', 'failed', 'canceled', 'skipped']);

/** Gitlab::Ci::Status::Composite#status, for the statuses this model produces. */
export function compositeStatus(
  jobs: { status: JobStatus; allowFailure: boolean }[],
  dag: boolean,
): string | undefined {
  const set = new Set<string>();
  for (const j of jobs) {
    if (j.allowFailure && (j.status === 'failed' || j.status === 'canceled')) set.add('success_with_warnings');
    else if (j.allowFailure && j.status === 'manual') set.add('ignored');
    else set.add(j.status);
  }
  if (set.size === 0) return undefined;
  const only = (...names: string[]) => [...set].every((s) => names.includes(s));
  const any = (...names: string[]) => names.some((n) => set.has(n));
  if (dag && any('skipped', 'ignored')) return 'skipped';
  if (only('skipped', 'ignored')) return 'skipped';
  if (only('success', 'skipped', 'success_with_warnings', 'ignored')) return 'success';
  if (only('created', 'success_with_warnings', 'ignored')) return 'created';
  if (only('canceled', 'success', 'skipped', 'success_with_warnings', 'ignored')) return 'canceled';
  if (only('pending', 'created', 'skipped', 'success_with_warnings', 'ignored')) return 'pending';
  if (any('pending')) return 'running';
  if (any('manual')) return 'manual';
  if (any('created')) return 'running';
  return 'failed';
}

/**
 * A pipeline being processed: automatic jobs run at once and end as
 * `outcomes` says (success by default); manual jobs wait to be played.
 */
export class PipelineModel {
  readonly status = new Map<string, JobStatus>();
  private readonly byName: Map<string, ModelJob>;

  constructor(
    readonly jobs: ModelJob[],
    readonly stages: string[],
    private readonly outcomes: Record<string, 'success' | 'failed'> = {},
  ) {
    this.byName = new Map(jobs.map((j) => [j.name, j]));
    for (const j of jobs) {
      for (const n of j.needs ?? [])
        if (!this.byName.has(n))
          throw new Error(`${j.name} needs ${n}, which is not in this pipeline (GitLab refuses to create it)`);
      this.status.set(j.name, 'created');
    }
    this.process();
  }

  private stageIndex(job: ModelJob): number {
    return this.stages.indexOf(job.stage);
  }

  /** Status of what a job waits for: its needs, or every job of earlier stages. */
  private previousStatus(job: ModelJob): string {
    const dag = job.needs !== null;
    const previous = dag
      ? job.needs!.map((n) => this.byName.get(n)!)
      : this.jobs.filter((j) => this.stageIndex(j) < this.stageIndex(job));
    return (
      compositeStatus(
        previous.map((j) => ({ status: this.status.get(j.name)!, allowFailure: j.allowFailure })),
        dag,
      ) ?? 'success'
    );
  }

  private process(): void {
    for (let changed = true; changed;) {
      changed = false;
      for (const job of this.jobs) {
        const current = this.status.get(job.name)!;
        if (current === 'pending') {
          this.status.set(job.name, this.outcomes[job.name] ?? 'success');
          changed = true;
          continue;
        }
        if (current !== 'created') continue;
        const previous = this.previousStatus(job);
        if (!COMPLETED.has(previous)) continue;
        const dag = job.needs !== null;
        const valid =
          job.when === 'on_failure'
            ? ['failed']
            : job.when === 'always'
              ? ['success', 'failed', 'skipped']
              : dag
                ? ['success']
                : ['success', 'skipped'];
        this.status.set(
          job.name,
          valid.includes(previous) ? (job.when === 'manual' ? 'manual' : 'pending') : 'skipped',
        );
        changed = true;
      }
    }
  }

  /** Whether a user can press play on the job now. */
  playable(name: string): boolean {
    return this.status.get(name) === 'manual';
  }

  /** Plays a manual job (it then ends as `outcomes` says); throws if it is not playable. */
  play(name: string): this {
    if (!this.playable(name)) throw new Error(`${name} is not playable (status ${this.status.get(name) ?? 'absent'})`);
    this.status.set(name, 'pending');
    // ResetSkippedJobsService: skipped jobs after the played one are processed again.
    const job = this.byName.get(name)!;
    const after = new Set([name]);
    for (let grew = true; grew;) {
      grew = false;
      for (const j of this.jobs) {
        if (after.has(j.name)) continue;
        const dependent = j.needs ? j.needs.some((n) => after.has(n)) : this.stageIndex(j) > this.stageIndex(job);
        if (dependent) {
          after.add(j.name);
          grew = true;
        }
      }
    }
    for (const n of after) if (n !== name && this.status.get(n) === 'skipped') this.status.set(n, 'created');
    this.process();
    return this;
  }

  /** The pipeline's status (composite of all its jobs). */
  pipelineStatus(): string | undefined {
    return compositeStatus(
      this.jobs.map((j) => ({ status: this.status.get(j.name)!, allowFailure: j.allowFailure })),
      false,
    );
  }
}
