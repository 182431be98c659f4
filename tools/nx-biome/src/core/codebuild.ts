import { BiomeError } from './errors';
import { FULL_SHA } from './artifact';

/** Buildspecs of this workspace, by short name (`--buildspec=deploy` means `buildspecs/deploy.yml`). */
export const BUILDSPEC_NAMES = ['deploy', 'promote', 'destroy', 'deploy-batch'] as const;

/** CodeBuild runs these phases, in this order, when a buildspec declares them. */
export const BUILDSPEC_PHASES = ['install', 'pre_build', 'build', 'post_build'] as const;
export type BuildspecPhase = (typeof BUILDSPEC_PHASES)[number];

/** What CodeBuild does when a phase fails (`on-failure`); absent: its phase transitions. */
export type OnFailure = 'ABORT' | 'CONTINUE';

/** One phase of a buildspec. */
export interface BuildspecPhaseSpec {
  name: BuildspecPhase;
  commands: string[];
  /** Commands run after `commands`, even when one of them failed. */
  finally: string[];
  onFailure?: OnFailure;
}

/** A validated buildspec (version 0.2): what the local runner needs of it. */
export interface Buildspec {
  version: 0.2;
  variables: Record<string, string>;
  phases: BuildspecPhaseSpec[];
}

const isCommandList = (v: unknown): v is string[] =>
  Array.isArray(v) && v.length > 0 && v.every((c) => typeof c === 'string' && c.trim() !== '');

/**
 * Checks a parsed buildspec against CodeBuild's schema as far as this
 * workspace uses it: `version: 0.2`, a `phases` map of known phases, each with
 * a non-empty list of string `commands`, an optional `finally` list and
 * `on-failure` (ABORT or CONTINUE), and string `env.variables`.
 */
export function validateBuildspec(doc: unknown, source: string): Buildspec {
  const problems: string[] = [];
  const d = doc as {
    version?: unknown;
    phases?: Record<string, { commands?: unknown; finally?: unknown; 'on-failure'?: unknown }>;
    env?: { variables?: Record<string, unknown> };
  } | null;
  if (!d || typeof d !== 'object' || Array.isArray(d))
    throw new BiomeError(
      'OPTIONS_INVALID',
      `Buildspec ${source} is not a YAML mapping.`,
      'Start it with "version: 0.2" and a "phases" map.',
    );
  if (d.version !== 0.2 && d.version !== '0.2') problems.push(`version is ${JSON.stringify(d.version)}, expected 0.2`);
  const phases: Buildspec['phases'] = [];
  if (!d.phases || typeof d.phases !== 'object' || Array.isArray(d.phases) || Object.keys(d.phases).length === 0) {
    problems.push('phases is missing or empty');
  } else {
    for (const name of Object.keys(d.phases)) {
      if (!(BUILDSPEC_PHASES as readonly string[]).includes(name))
        problems.push(`phase "${name}" is not one of ${BUILDSPEC_PHASES.join(', ')}`);
    }
    for (const name of BUILDSPEC_PHASES) {
      const phase = d.phases[name];
      if (phase === undefined) continue;
      const commands = phase?.commands;
      const onFailure = phase?.['on-failure'];
      if (!isCommandList(commands)) problems.push(`phases.${name}.commands must be a non-empty list of commands`);
      if (phase?.finally !== undefined && !isCommandList(phase.finally))
        problems.push(`phases.${name}.finally must be a non-empty list of commands`);
      if (onFailure !== undefined && onFailure !== 'ABORT' && onFailure !== 'CONTINUE')
        problems.push(`phases.${name}.on-failure must be ABORT or CONTINUE, not ${JSON.stringify(onFailure)}`);
      if (isCommandList(commands))
        phases.push({
          name,
          commands,
          finally: isCommandList(phase.finally) ? phase.finally : [],
          ...(onFailure === 'ABORT' || onFailure === 'CONTINUE' ? { onFailure } : {}),
        });
    }
  }
  const variables: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.env?.variables ?? {})) {
    if (typeof v !== 'string') problems.push(`env.variables.${k} must be a string (quote it)`);
    else variables[k] = v;
  }
  if (problems.length > 0)
    throw new BiomeError(
      'OPTIONS_INVALID',
      `Buildspec ${source} is invalid:\n  - ${problems.join('\n  - ')}`,
      'See https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html',
    );
  return { version: 0.2, variables, phases };
}

/** Options of the `codebuild` target, as given on the command line or in project.json. */
export interface CodeBuildOptions {
  /** CodeBuild project name; default: CODEBUILD_PROJECT from the environment. */
  codebuildProject?: string;
  /** `deploy`, `promote`, `destroy` or a path to a buildspec in the repository. */
  buildspec: string;
  biome?: string;
  /** Explicit `nx affected` base; empty means the buildspec finds it from the biome's ledger. */
  base?: string;
  /** Base for a biome with no deployed commit: a commit, or `all` to deploy every project. */
  baseFallback?: string;
  from?: string;
  to?: string;
  /** More variables, `NAME=value`. */
  variables?: string[] | Record<string, string>;
  /** Commit to build; default: CI_COMMIT_SHA, else the local HEAD. */
  sourceVersion?: string;
  /** Give up (and stop the build) after this long. */
  timeoutSeconds?: number;
  pollSeconds?: number;
  /** Run the buildspec's phases in a shell here instead of in CodeBuild. */
  local?: boolean;
  /** Start a batch build (the buildspec's build-graph) instead of one build. */
  batchBuild?: boolean;
  /** Rerun the failed builds of this finished batch. */
  retryBatch?: string;
  /**
   * The project fixes its buildspec and variables (a main-biome project, whose
   * overrides IAM denies): send neither, only the CI job's identity.
   */
  fixedProject?: boolean;
  dryRun?: boolean;
}

/** Variables copied from the CI job into the build, so records name the GitLab user and job. */
export const PASSED_THROUGH_VARIABLES = [
  'GITLAB_USER_LOGIN',
  'CI_JOB_URL',
  'CI_PIPELINE_URL',
  'CI_COMMIT_REF_NAME',
  'CI_MERGE_REQUEST_IID',
] as const;

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** What the runner asks CodeBuild (or the local shell) to do. */
export interface CodeBuildRequest {
  projectName: string;
  /** Buildspec path relative to the source root, e.g. `buildspecs/deploy.yml`. */
  buildspec: string;
  sourceVersion: string;
  variables: { name: string; value: string }[];
  /** CodeBuild's own limit (5-2160 minutes), slightly above ours. */
  timeoutInMinutes: number;
  timeoutSeconds: number;
  pollSeconds: number;
  idempotencyToken?: string;
  /** Send no buildspec override and only the CI identity variables (see CodeBuildOptions.fixedProject). */
  fixedProject: boolean;
  /** Variables the options asked for that a fixed project does not take (reported, not sent). */
  withheld: { name: string; value: string }[];
}

function bad(message: string, hint: string): BiomeError {
  return new BiomeError('OPTIONS_INVALID', message, hint);
}

/**
 * Normalizes the runner's options into one request: the buildspec path, the
 * commit, and the variables (biome, base, from, to, extra ones, and the CI
 * job's identity). Rejects conflicts with a message that says how to fix them.
 */
export function planCodeBuildRequest(
  options: CodeBuildOptions,
  env: Record<string, string | undefined>,
  headSha: string,
): CodeBuildRequest {
  const projectName = options.codebuildProject ?? env.CODEBUILD_PROJECT ?? (options.local ? 'local' : '');
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$/.test(projectName)) {
    throw bad(
      projectName ? `CodeBuild project name "${projectName}" is invalid.` : 'No CodeBuild project given.',
      'Pass --codebuildProject=<name> or set CODEBUILD_PROJECT (the project the devops stack creates).',
    );
  }
  const spec = options.buildspec;
  if (!spec)
    throw bad(
      'No buildspec given.',
      `Pass --buildspec=${BUILDSPEC_NAMES.join('|')} or a path such as buildspecs/deploy.yml.`,
    );
  const buildspec = (BUILDSPEC_NAMES as readonly string[]).includes(spec) ? `buildspecs/${spec}.yml` : spec;
  if (
    !/^[A-Za-z0-9_./-]+\.ya?ml$/.test(buildspec) ||
    buildspec.startsWith('/') ||
    buildspec.split('/').includes('..')
  ) {
    throw bad(
      `Buildspec "${spec}" is not a known name or a relative .yml path in the repository.`,
      `Use ${BUILDSPEC_NAMES.join(', ')} or a path like buildspecs/deploy.yml.`,
    );
  }
  const sourceVersion =
    options.sourceVersion ?? (env.CI_COMMIT_SHA && FULL_SHA.test(env.CI_COMMIT_SHA) ? env.CI_COMMIT_SHA : headSha);
  if (!FULL_SHA.test(sourceVersion))
    throw bad(
      `Source version "${sourceVersion}" is not a full 40-character commit SHA.`,
      'Pass --sourceVersion=<full sha> (git rev-parse HEAD).',
    );

  const variables = new Map<string, string>();
  for (const name of PASSED_THROUGH_VARIABLES) if (env[name]) variables.set(name, env[name]!);
  const named: [string, string | undefined][] = [
    ['BIOME', options.biome],
    ['BASE', options.base],
    ['BASE_FALLBACK', options.baseFallback],
    ['FROM_BIOME', options.from],
    ['TO_ENV', options.to],
  ];
  for (const [name, value] of named) if (value !== undefined && value !== '') variables.set(name, String(value));
  const extra = Array.isArray(options.variables)
    ? options.variables.map((kv) => {
        const i = kv.indexOf('=');
        if (i <= 0) throw bad(`Variable "${kv}" is not NAME=value.`, 'Pass --variables=NAME=value (repeatable).');
        return [kv.slice(0, i), kv.slice(i + 1)] as const;
      })
    : Object.entries(options.variables ?? {});
  for (const [name, value] of extra) variables.set(name, String(value));
  for (const name of variables.keys()) {
    if (!VARIABLE_NAME.test(name))
      throw bad(`Variable name "${name}" is invalid.`, 'Use letters, digits and underscores, starting with a letter.');
    if (name.startsWith('CODEBUILD_'))
      throw bad(`Variable "${name}" uses the CODEBUILD_ prefix, which CodeBuild reserves.`, 'Rename it.');
  }

  const fixedProject = !!options.fixedProject && !options.local;
  const identity = new Set<string>(PASSED_THROUGH_VARIABLES);
  const all = [...variables].map(([name, value]) => ({ name, value })).sort((a, b) => (a.name < b.name ? -1 : 1));
  const timeoutSeconds = options.timeoutSeconds ?? 3600;
  const pollSeconds = options.pollSeconds ?? 10;
  if (!(timeoutSeconds > 0) || !(pollSeconds > 0))
    throw bad('timeoutSeconds and pollSeconds must be positive.', 'Pass e.g. --timeoutSeconds=3600 --pollSeconds=10.');
  return {
    projectName,
    buildspec,
    sourceVersion,
    variables: fixedProject ? all.filter((v) => identity.has(v.name)) : all,
    fixedProject,
    withheld: fixedProject ? all.filter((v) => !identity.has(v.name)) : [],
    timeoutInMinutes: Math.min(2160, Math.max(5, Math.ceil(timeoutSeconds / 60) + 5)),
    timeoutSeconds,
    pollSeconds,
    idempotencyToken: env.CI_JOB_ID ? `gitlab-job-${env.CI_JOB_ID}` : undefined,
  };
}

/** One phase of a build, as BatchGetBuilds reports it. */
export interface BuildPhaseState {
  type: string;
  status?: string;
  durationSeconds?: number;
  messages: string[];
}

/** A build, as BatchGetBuilds reports it (the fields the runner reads). */
export interface BuildState {
  id: string;
  status: string;
  currentPhase?: string;
  phases: BuildPhaseState[];
  logsUrl?: string;
}

/**
 * Progress lines for what changed between two observations of a build: each
 * phase that finished since, and the phase that is now running.
 */
export function describeBuildProgress(previous: BuildState | undefined, current: BuildState): string[] {
  const lines: string[] = [];
  const seen = new Set((previous?.phases ?? []).filter((p) => p.status).map((p) => p.type));
  for (const p of current.phases) {
    if (!p.status || seen.has(p.type) || p.type === 'COMPLETED') continue;
    const took = p.durationSeconds !== undefined ? ` (${p.durationSeconds} s)` : '';
    lines.push(
      `  ${p.type.padEnd(16)} ${p.status}${took}${p.status !== 'SUCCEEDED' && p.messages.length ? `: ${p.messages.join('; ')}` : ''}`,
    );
  }
  if (current.status === 'IN_PROGRESS' && current.currentPhase && current.currentPhase !== previous?.currentPhase)
    lines.push(`  ${current.currentPhase.padEnd(16)} running…`);
  return lines;
}

/** Whether a build has finished, and if it failed, the error that says which phase and why. */
export function buildOutcome(
  build: BuildState,
  projectName: string,
): { done: false } | { done: true; error?: BiomeError } {
  if (build.status === 'IN_PROGRESS') return { done: false };
  if (build.status === 'SUCCEEDED') return { done: true };
  const failed = build.phases.find(
    (p) => p.status && !['SUCCEEDED', 'IN_PROGRESS'].includes(p.status) && p.type !== 'COMPLETED',
  );
  const where = failed
    ? `phase ${failed.type} ${failed.status}${failed.messages.length ? `: ${failed.messages.join('; ')}` : ''}`
    : `status ${build.status}`;
  const logs = build.logsUrl ? ` Logs: ${build.logsUrl}` : '';
  return {
    done: true,
    error: new BiomeError(
      'CODEBUILD_FAILED',
      `CodeBuild build ${build.id} (${projectName}) ended ${build.status}: ${where}.${logs}`,
      failed?.type === 'DOWNLOAD_SOURCE'
        ? 'Check that the commit is pushed and the project can read the repository.'
        : 'Read the build log for the failing command; fix it and run the job again.',
    ),
  };
}

/**
 * The script of one phase for the local runner, run as CodeBuild runs it:
 * each command on its own, in one shell that the whole build shares (the
 * runner carries exported variables and the working directory from phase to
 * phase); the first command that fails ends the `commands` block; the
 * `finally` commands run anyway; the phase fails if any command failed. A
 * multi-line command fails only by its own exit status, as in CodeBuild (no
 * implicit `set -e`).
 */
export function planPhaseScript(phase: BuildspecPhaseSpec): string {
  const run = (c: string) =>
    `{\n${c}\n} ; __cb_status=$? ; if [ "$__cb_status" -ne 0 ]; then echo "[local] Command did not exit successfully (exit status $__cb_status): ${JSON.stringify(c.split('\n')[0]).slice(1, -1).replace(/[`$]/g, '')}" >&2; __cb_failed=$__cb_status; fi`;
  const lines = ['__cb_failed=0'];
  // `commands`: stop at the first failure (later commands are skipped).
  for (const c of phase.commands) lines.push(`if [ "$__cb_failed" -eq 0 ]; then ${run(c)} ; fi`);
  for (const c of phase.finally)
    lines.push(
      `__cb_keep=$__cb_failed ; __cb_failed=0 ; ${run(c)} ; [ "$__cb_failed" -ne 0 ] || __cb_failed=$__cb_keep`,
    );
  lines.push('exit "$__cb_failed"');
  return lines.join('\n');
}

/**
 * The phase CodeBuild runs after `phase`, given whether it failed: the next
 * declared phase on success; on failure, `on-failure: CONTINUE` goes on,
 * `ABORT` ends the build, and otherwise CodeBuild's phase transitions apply:
 * a failed INSTALL or PRE_BUILD goes to FINALIZING (no more commands), a
 * failed BUILD still runs POST_BUILD (with CODEBUILD_BUILD_SUCCEEDING=0), a
 * failed POST_BUILD goes on to UPLOAD_ARTIFACTS and FINALIZING.
 */
/**
 * Wraps a phase script so that successive `bash -c` runs behave like the one
 * shell of a CodeBuild build: it starts from the exported variables and the
 * directory the previous phase left in `stateFile`, with
 * CODEBUILD_BUILD_SUCCEEDING as the build stands, and leaves its own there.
 */
export function sharedShellScript(script: string, stateFile: string, succeeding: boolean): string {
  const state = JSON.stringify(stateFile);
  return [
    `if [ -f ${state} ]; then . ${state}; cd "$(cat ${state}.cwd)" || exit 1; fi`,
    `export CODEBUILD_BUILD_SUCCEEDING=${succeeding ? 1 : 0}`,
    `trap '__cb_exit=$?; export -p | grep -v "^declare -[a-zA-Z]*r" > ${state}; pwd > ${state}.cwd; exit $__cb_exit' EXIT`,
    script,
  ].join('\n');
}

export function nextPhase(spec: Buildspec, phase: BuildspecPhase, failed: boolean): BuildspecPhase | undefined {
  const declared = spec.phases.map((p) => p.name);
  const after = (name: BuildspecPhase) =>
    declared.find((p) => BUILDSPEC_PHASES.indexOf(p) > BUILDSPEC_PHASES.indexOf(name));
  if (!failed) return after(phase);
  const onFailure = spec.phases.find((p) => p.name === phase)?.onFailure;
  if (onFailure === 'CONTINUE') return after(phase);
  if (onFailure === 'ABORT') return undefined;
  return phase === 'build' && declared.includes('post_build') ? 'post_build' : undefined;
}

const NX_SETTINGS = new Set([
  'NX_DAEMON',
  'NX_NO_CLOUD',
  'NX_TUI',
  'NX_ISOLATE_PLUGINS',
  'NX_USE_LOCAL',
  'NX_SKIP_NX_CACHE',
  'NX_CACHE_DIRECTORY',
  'NX_VERBOSE_LOGGING',
  'NX_PARALLEL',
]);

/**
 * Environment of a local run: the buildspec's `env.variables` are defaults,
 * the request's variables override them (as StartBuild overrides do).
 */
export function localBuildEnvironment(
  spec: Buildspec,
  request: CodeBuildRequest,
  env: Record<string, string | undefined>,
): Record<string, string> {
  const out: Record<string, string> = {};
  // The Nx task running this runner sets per-task NX_* variables; a nested Nx must not inherit them.
  for (const [k, v] of Object.entries(env))
    if (v !== undefined && (!k.startsWith('NX_') || NX_SETTINGS.has(k))) out[k] = v;
  for (const [k, v] of Object.entries(spec.variables)) if (out[k] === undefined) out[k] = v;
  for (const { name, value } of request.variables) out[name] = value;
  // CodeBuild's own: 1 until a phase fails.
  out.CODEBUILD_BUILD_SUCCEEDING = '1';
  return out;
}

/**
 * The CodeBuild project the devops stack creates for a buildspec and a biome
 * (infra/stacks/devops: `<prefix>-deploy-<env>-sandpit` for sandpits,
 * `<prefix>-deploy-<env>` for the main biome, `<prefix>-destroy-<env>`,
 * `<prefix>-promote-<target env>`), so that `--codebuildProject` is needed
 * only for a project named otherwise. Undefined when the options do not say.
 */
export function defaultCodeBuildProject(input: {
  namePrefix: string;
  buildspec?: string;
  biome?: { sandpit: boolean; environment: { name: string } };
  to?: string;
}): { name: string; fixed: boolean } | undefined {
  const job = input.buildspec === 'deploy-batch' ? 'deploy' : input.buildspec;
  if (job === 'promote' && input.to) return { name: `${input.namePrefix}-promote-${input.to}`, fixed: true };
  if (!input.biome) return undefined;
  const env = input.biome.environment.name;
  if (job === 'deploy')
    return input.biome.sandpit
      ? { name: `${input.namePrefix}-deploy-${env}-sandpit`, fixed: false }
      : { name: `${input.namePrefix}-deploy-${env}`, fixed: true };
  if (job === 'destroy') return { name: `${input.namePrefix}-destroy-${env}`, fixed: false };
  return undefined;
}
