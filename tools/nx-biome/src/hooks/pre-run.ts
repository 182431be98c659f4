import { spawnSync } from 'node:child_process';
import type { PreTasksExecutionContext } from '@nx/devkit';
import { BiomeError } from '../core/errors';
import { RunSelection, selectRun } from '../core/run-selection';
import { BASE_RESOLVED_VARIABLE, isDeployable, RUN_ID_VARIABLE } from '../core/deploy-run';
import { deployTargetOf } from '../core/inferred-targets';
import { readNxCommandLine } from '../adapters/nx-command-line';
import { asNxError, runsInNxProcess } from './nx-error';

/**
 * Before any task of an Nx run: checks a deploy (biome name, AWS name lengths,
 * store, data sets, dirty tree, shallow clone, the base of the headline
 * command) so that bad input fails before anything is built, and returns the
 * variables every task of the run must see (the run id under which deploy
 * tasks leave their outcomes for the end-of-run summary; set for every run,
 * since a deploy can also come in as another target's dependency).
 */
export async function prepareRun(context: PreTasksExecutionContext): Promise<Record<string, string>> {
  const env = { [RUN_ID_VARIABLE]: context.id };
  const cmd = await readNxCommandLine(context.argv ?? []);
  if (!cmd) return env;
  const run = selectRun(cmd, deployTargetOf(context.nxJsonConfiguration?.plugins));
  if (run.biome === undefined && !run.affected && !run.deploys) return env;
  Object.assign(env, silenceSdkNodeWarning());
  try {
    await check(run, context);
  } catch (e) {
    // Thrown before any task runs: nothing has been built, packaged or written.
    throw asNxError(e);
  }
  return env;
}

/** What the AWS SDK for JavaScript v3 says on a Node.js older than it will support, once per process. */
const SDK_NODE_WARNING_OFF = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/** The SDK's notice, said by the plugin once per run (see silenceSdkNodeWarning). */
let sdkNodeNotice: string | undefined;

/**
 * The AWS SDK warns about Node.js < 22 once per process, and a run has several
 * (a batch process per step, the end-of-run step, a re-run with its base): the
 * warning repeated in one run's output. It is turned off for the whole run
 * (the returned variable reaches every task process, and this process) and
 * said once by the pre-run check when the run uses an S3 store, the only store
 * that loads the SDK. A user who set the variable decides alone.
 */
function silenceSdkNodeWarning(): Record<string, string> {
  if (process.env[SDK_NODE_WARNING_OFF] !== undefined) return {};
  process.env[SDK_NODE_WARNING_OFF] = 'true';
  if (Number(process.versions.node.split('.')[0]) < 22) {
    sdkNodeNotice = `note: Node.js ${process.version}: AWS SDK for JavaScript v3 releases after the first week of January 2027 need Node.js 22 or newer (this workspace pins SDK versions that run on ${process.version}).`;
  }
  return { [SDK_NODE_WARNING_OFF]: 'true' };
}

/** The projects the command names, as Nx matches them (names, globs, tags, minus --exclude); undefined: all. */
async function namedProjects(
  run: RunSelection,
  nodes: Record<string, { name: string; type: string; data: { tags?: string[]; root: string } }>,
): Promise<string[] | undefined> {
  if (run.projects.length === 0 && run.exclude.length === 0) return undefined;
  const { findMatchingProjects } = await import('nx/src/utils/find-matching-projects');
  const selected = findMatchingProjects(run.projects.length > 0 ? run.projects : ['*'], nodes as never);
  const excluded = new Set(findMatchingProjects(run.exclude, nodes as never));
  return selected.filter((p) => !excluded.has(p));
}

async function check(run: RunSelection, context: PreTasksExecutionContext): Promise<void> {
  // Loaded here, not at plugin load: every Nx command loads the plugin, few run this check.
  const [
    { parseBiomeName },
    { loadWorkspaceConfig },
    { assertNotShallow, createGit },
    { dirtyTreeError, inputRootsOf },
    { readCachedProjectGraph },
  ] = await Promise.all([
    import('../core/names'),
    import('../adapters/workspace'),
    import('../adapters/git'),
    import('../operations/dirty-check'),
    import('@nx/devkit'),
  ]);
  const git = createGit(context.workspaceRoot);
  if (run.affected) await assertNotShallow(git);
  if (run.deploys && run.biome === undefined) {
    throw new BiomeError(
      'OPTIONS_INVALID',
      'No biome given: a deploy needs to know where to go.',
      'Pass --biome=<env> or --biome=<env>-<suffix>, e.g. npx nx-biome deploy --biome=dev-bob.',
    );
  }
  if (!run.deploys && run.biome === undefined) return;
  const graph = readCachedProjectGraph();
  const projects = await namedProjects(run, graph.nodes);
  if (run.biome !== undefined) {
    if (run.biome === '')
      throw new BiomeError(
        'OPTIONS_INVALID',
        '--biome was given without a value.',
        'Pass --biome=<env> or --biome=<env>-<suffix>, e.g. --biome=dev-bob.',
      );
    const config = await loadWorkspaceConfig(context.workspaceRoot);
    const biome = parseBiomeName(run.biome, config);
    const { resolveStoreUrl } = await import('../core/config');
    if (sdkNodeNotice && resolveStoreUrl(biome.environment, process.env).startsWith('s3://'))
      console.warn(sdkNodeNotice);
    sdkNodeNotice = undefined;
    if (run.deploys) {
      const { preflightDeploy, checkDataSetsOf } = await import('../operations/preflight');
      // Every project's data sets exist in the biome's environment: one error before anything is built.
      checkDataSetsOf(graph, projects, biome);
      const argv = (context.argv ?? []).slice(2);
      const { plan, note } = await preflightDeploy({
        workspaceRoot: context.workspaceRoot,
        config,
        biome,
        run,
        argv,
        nxDefaultBase: context.nxJsonConfiguration?.defaultBase ?? 'main',
        env: process.env,
      });
      if (note) console.log(note);
      if (plan?.action === 'rerun') rerunNx(context.argv ?? [], plan.argv, plan.message, biome.name);
      if (plan?.action === 'keep') console.log(plan.message);
    }
  }
  if (run.deploys && !run.allowDirty) {
    // Only what gets packaged must be clean: `infra:deploy` re-renders from the ledger and builds nothing.
    const packaged = projects?.filter((p) => isDeployable(graph.nodes[p]?.data.targets));
    if (packaged && packaged.length === 0) return;
    const dirty = await git.dirtyFiles(inputRootsOf(graph, packaged));
    if (dirty.length > 0) throw dirtyTreeError(packaged?.join(', ') ?? 'the workspace', dirty);
  }
}

/**
 * Runs the same Nx command again with the biome's base (the headline
 * `nx affected -t deploy --biome=<b>` without --base), streams it, and exits
 * with its code: Nx fixed the affected set before any plugin hook ran, so the
 * only way to change it from here is a second Nx start. Nothing has run yet in
 * this process. Only the Nx command's own process can end the command; an
 * isolated plugin worker refuses with the one command that needs no second
 * start.
 */
function rerunNx(nxArgv: string[], argv: string[], message: string, biome: string): never {
  if (!runsInNxProcess()) {
    throw new BiomeError(
      'OPTIONS_INVALID',
      `${message.replace(/\.$/, '')}, but Nx runs this plugin in an isolated worker (NX_ISOLATE_PLUGINS), which cannot start the command again with that base.`,
      `Run: npx nx-biome deploy --biome=${biome}   (it computes the base before Nx starts), or pass --base=<sha> (npx nx-biome base --biome=${biome}), or set NX_ISOLATE_PLUGINS=false as this workspace's .env does.`,
    );
  }
  console.log(message);
  const r = spawnSync(nxArgv[0] ?? process.execPath, [nxArgv[1], ...argv], {
    stdio: 'inherit',
    env: { ...process.env, [BASE_RESOLVED_VARIABLE]: 'true' },
  });
  process.exit(r.status ?? (r.signal === 'SIGINT' ? 130 : 1));
}
