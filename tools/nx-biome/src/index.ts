/**
 * @geo/nx-biome: the workspace plugin. Executors and generators are declared
 * in executors.json / generators.json; this entry adds a pre-run check so that
 * a bad `--biome`, a dirty tree or a shallow clone fails before any task
 * (build included) writes anything, and the workflow → service edges of the
 * project graph.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CreateDependencies, DependencyType, PostTasksExecution, PreTasksExecution } from '@nx/devkit';
import { BiomeError, formatBiomeError, isBiomeError } from './core/errors';
import { readRunSelection, RunSelection } from './core/run-selection';
import { BASE_RESOLVED_VARIABLE, DEPLOY_EXECUTOR, RUN_ID_VARIABLE } from './core/deploy-run';
import { planWorkflowDependencies, ProjectShape } from './core/workflow';

export const name = '@geo/nx-biome';

export { createNodesV2 } from './plugins/inferred-targets';

/**
 * A workflow depends on the services its definition invokes through
 * `${service:<name>}`: changing a service marks the workflow affected. Reads
 * only the workflows' definition files, so the graph stays cheap to compute.
 */
export const createDependencies: CreateDependencies = (_options, context) => {
  // Nx resolves `nx affected`'s base right after building the graph, before any
  // later hook: a base that does not exist must be caught here.
  checkAffectedBase(cliArgv(), context.workspaceRoot);
  const read = (path: string) => {
    try {
      return readFileSync(join(context.workspaceRoot, path), 'utf8');
    } catch {
      return undefined; // a missing definition is the build's error to report, not the graph's
    }
  };
  return planWorkflowDependencies(context.projects as Record<string, ProjectShape>, read).map((edge) =>
    edge.sourceFile
      ? { ...edge, sourceFile: edge.sourceFile, type: 'static' as DependencyType.static }
      : { source: edge.source, target: edge.target, type: 'implicit' as DependencyType.implicit },
  );
};

export const preTasksExecution: PreTasksExecution = async (_options, context) => {
  const run = readRunSelection(context.argv ?? []);
  if (run.biome === undefined && !run.affected && !run.deploys) return;
  silenceSdkNodeWarning();
  await check(run, context);
  // Nx hands a pre-run hook's environment to every task process of the run:
  // deploy tasks leave their outcome where the end-of-run summary finds it.
  if (run.deploys) process.env[RUN_ID_VARIABLE] = context.id;
};

/** What the AWS SDK for JavaScript v3 says on a Node.js older than it will support, once per process. */
const SDK_NODE_WARNING_OFF = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/** The SDK's notice, said by the plugin once per run (see silenceSdkNodeWarning). */
let sdkNodeNotice: string | undefined;

/**
 * The AWS SDK warns about Node.js < 22 once per process, and a run has several
 * (a batch process per step, the end-of-run step, a re-run with its base): the
 * warning repeated in one run's output. It is turned off for the whole run here
 * (Nx hands this hook's environment to the task processes) and said once by
 * the pre-run check when the run uses an S3 store, the only store that loads
 * the SDK. A user who set the variable decides alone.
 */
function silenceSdkNodeWarning(): void {
  if (process.env[SDK_NODE_WARNING_OFF] !== undefined) return;
  process.env[SDK_NODE_WARNING_OFF] = 'true';
  if (Number(process.versions.node.split('.')[0]) < 22) {
    sdkNodeNotice = `note: Node.js ${process.version}: AWS SDK for JavaScript v3 releases after the first week of January 2027 need Node.js 22 or newer (this workspace pins SDK versions that run on ${process.version}).`;
  }
}

/**
 * After the last task of a run: renders the tfvars of every biome the run
 * deployed to, once, from the biome's whole ledger, and prints what runs where.
 */
export const postTasksExecution: PostTasksExecution = async (_options, context) => {
  const run = readRunSelection(context.argv ?? []);
  if (!run.deploys) return;
  try {
    const { finishDeployRun } = await import('./executors/infra-deploy/finish-run');
    await finishDeployRun(context);
  } catch (e) {
    throw asNxError(e);
  }
};

/**
 * The Nx command line. With isolated plugins this module runs in a plugin
 * worker whose own argv says nothing of the command: its parent's does.
 */
function cliArgv(): string[] {
  if (!/plugin-worker/.test(process.argv[1] ?? '')) return process.argv;
  try {
    return readFileSync(`/proc/${process.ppid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return process.argv;
  }
}

/**
 * `nx affected` in a shallow clone, or with a `--base` / `NX_BASE` this clone
 * does not have, fails with the plugin's error and fix instead of Nx's raw git
 * message (or, worse, an empty affected set).
 */
function checkAffectedBase(argv: string[], workspaceRoot: string): void {
  const run = readRunSelection(argv);
  if (!run.affected) return;
  const base = run.base ?? process.env.NX_BASE;
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: workspaceRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    let shallow: boolean;
    try {
      shallow = git('rev-parse', '--is-shallow-repository') === 'true';
    } catch {
      return; // not a git repository: Nx says so itself
    }
    if (shallow) {
      throw new BiomeError(
        'GIT_SHALLOW_CLONE',
        'This is a shallow clone: nx affected cannot see the base commit and would report too little.',
        'Fetch full history (git fetch --unshallow, or GIT_DEPTH: 0 in GitLab CI).',
      );
    }
    if (base === undefined) return;
    try {
      if (base.startsWith('-')) throw new Error('option-like ref');
      git('rev-parse', '--verify', '--quiet', '--end-of-options', `${base}^{commit}`);
    } catch {
      throw new BiomeError(
        'GIT_BASE_UNKNOWN',
        `--base=${base} names no commit in this clone.`,
        `Check the spelling, fetch it (git fetch origin ${base}), or leave --base out: a deploy then starts from the biome's last deployed commit.`,
      );
    }
  } catch (e) {
    // Nx shows a graph-time error only as "Failed to process project graph"
    // unless --verbose: say what is wrong first.
    if (isBiomeError(e)) console.error(`\n ✖ ${formatBiomeError(e)}\n`);
    throw asNxError(e);
  }
}

/**
 * Runs the same Nx command again with a corrected command line (the base a
 * deploy needs), streams it, and exits with its code. Nothing has run yet in
 * this process: the check comes before any task.
 */
function rerunNx(processArgv: string[], argv: string[], message: string): never {
  // In an isolated plugin worker (NX_ISOLATE_PLUGINS not "false"; this workspace's .env
  // sets it) exiting would end the worker, not the command: say the command instead.
  if (process.env.NX_ISOLATE_PLUGINS !== 'false') {
    throw new BiomeError(
      'OPTIONS_INVALID',
      `${message.replace(/\.$/, '')}, but this Nx runs the plugin in an isolated worker, which cannot run the command again.`,
      `Run: nx ${argv.join(' ')}   (or set NX_ISOLATE_PLUGINS=false, as the workspace's .env does, to let the deploy pick its base itself).`,
    );
  }
  console.log(message);
  const r = spawnSync(processArgv[0] ?? process.execPath, [processArgv[1], ...argv], {
    stdio: 'inherit',
    env: { ...process.env, [BASE_RESOLVED_VARIABLE]: 'true' },
  });
  process.exit(r.status ?? 1);
}

/** A BiomeError as Nx prints a hook's error: the plugin's message and fix, no stack. */
function asNxError(e: unknown): unknown {
  if (!isBiomeError(e)) return e;
  const error = new Error(formatBiomeError(e));
  error.stack = `✖ ${formatBiomeError(e)}`;
  return error;
}

async function check(run: RunSelection, context: Parameters<PreTasksExecution>[1]): Promise<void> {
  try {
    // Loaded here, not at plugin load: every Nx command loads the plugin, few run this check.
    const [
      { parseBiomeName },
      { loadWorkspaceConfig },
      { assertNotShallow, createGit },
      { dirtyTreeError, inputRootsOf },
    ] = await Promise.all([
      import('./core/names'),
      import('./adapters/workspace'),
      import('./adapters/git'),
      import('./operations/dirty-check'),
    ]);
    const git = createGit(context.workspaceRoot);
    if (run.affected) await assertNotShallow(git);
    if (run.deploys && run.biome === undefined) {
      throw new BiomeError(
        'OPTIONS_INVALID',
        'No biome given: a deploy needs to know where to go.',
        'Pass --biome=<env> or --biome=<env>-<suffix>, e.g. nx affected -t deploy --biome=dev-bob.',
      );
    }
    if (run.biome !== undefined) {
      if (run.biome === '')
        throw new BiomeError(
          'OPTIONS_INVALID',
          '--biome was given without a value.',
          'Pass --biome=<env> or --biome=<env>-<suffix>, e.g. --biome=dev-bob.',
        );
      const config = await loadWorkspaceConfig(context.workspaceRoot);
      const biome = parseBiomeName(run.biome, config);
      const { resolveStoreUrl } = await import('./core/config');
      if (sdkNodeNotice && resolveStoreUrl(biome.environment, process.env).startsWith('s3://'))
        console.warn(sdkNodeNotice);
      sdkNodeNotice = undefined;
      if (run.deploys) {
        const { preflightDeploy, checkDataSetsOf } = await import('./operations/preflight');
        const { readCachedProjectGraph } = await import('@nx/devkit');
        // Every project's data sets exist in the biome's environment: one error before anything is built.
        checkDataSetsOf(readCachedProjectGraph(), run.projects, biome);
        const { plan, note } = await preflightDeploy({
          workspaceRoot: context.workspaceRoot,
          config,
          biome,
          run,
          argv: (context.argv ?? []).slice(2),
          nxDefaultBase: context.nxJsonConfiguration?.defaultBase ?? 'main',
          env: process.env,
        });
        if (note) console.log(note);
        if (plan?.action === 'rerun') rerunNx(context.argv ?? [], plan.argv, plan.message);
        if (plan?.action === 'keep') console.log(plan.message);
      }
    }
    if (run.deploys && !run.allowDirty) {
      const { readCachedProjectGraph } = await import('@nx/devkit');
      const graph = readCachedProjectGraph();
      // Only what gets packaged must be clean: `infra:deploy` re-renders from the ledger and builds nothing.
      const packaged = run.projects?.filter((p) => graph.nodes[p]?.data.targets?.deploy?.executor === DEPLOY_EXECUTOR);
      if (packaged && packaged.length === 0) return;
      const roots = inputRootsOf(graph, packaged);
      const dirty = await git.dirtyFiles(roots);
      if (dirty.length > 0) throw dirtyTreeError(packaged?.join(', ') ?? 'the workspace', dirty);
    }
  } catch (e) {
    // Thrown before any task runs: nothing has been built, packaged or written.
    throw asNxError(e);
  }
}
