import type { ExecutorContext } from '@nx/devkit';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { planDeployCommand } from './core/deploy-command';
import { BiomeError, formatBiomeError, isBiomeError } from './core/errors';
import { deployTargetOf } from './core/inferred-targets';
import { loadWorkspaceConfig, readJsonFile } from './adapters/workspace';
import { realDeps } from './operations/context';
import { biomeBaseWith } from './executors/biome-base/executor';
import { biomeCreateWith } from './executors/biome-create/executor';
import { biomeListWith } from './executors/biome-list/executor';
import { biomeShowWith } from './executors/biome-show/executor';

const USAGE = `usage: nx-biome <command> [options]
  deploy --biome=<b> [--fallback=<ref>|all] [nx options]
                                        nx affected -t deploy from the biome's last complete run
                                        (run-many for a new biome), one Nx start, Nx's exit code
  base --biome=<b> [--fallback=<ref>]   the commit of the biome's last complete deploy run (--base=$(...))
  show --biome=<b> [--json]             the biome's projects as JSON
  list [--environment=<env>] [--json]   every biome as JSON
  seed --biome=<sandpit> --from=<env> [--dry-run]
                                        create the sandpit as a copy of its main biome (infra:biome-create --from),
                                        without starting Nx: what CI runs before an MR biome's deploy
Machine output goes to stdout, everything else to stderr. show and list always print JSON;
--json is accepted so that the commands read like the infra:biome-show|list targets.`;

/** The workspace root: the nearest folder above `cwd` with an nx.json. */
function workspaceRoot(cwd: string): string {
  for (let dir = cwd; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    if (dirname(dir) === dir)
      throw new BiomeError('CONFIG_INVALID', `No nx.json found above ${cwd}.`, 'Run nx-biome inside the workspace.');
  }
}

/**
 * The plugin's commands for scripts: the same code as the `infra:biome-base`,
 * `infra:biome-show --json` and `infra:biome-list --json` targets, without
 * Nx's banners on stdout, so `| jq` and `--base=$(…)` work; and `seed`
 * (`infra:biome-create --from`), which CI runs before an MR biome's deploy
 * without paying for a start of Nx.
 */
export async function main(
  argv: string[],
  io: { out: (s: string) => void; err: (s: string) => void } = {
    out: (s) => process.stdout.write(`${s}\n`),
    err: (s) => process.stderr.write(`${s}\n`),
  },
): Promise<number> {
  try {
    if (argv[0] === 'deploy') return await deploy(argv.slice(1), io);
    const { positionals, values } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        biome: { type: 'string' },
        fallback: { type: 'string' },
        environment: { type: 'string' },
        from: { type: 'string' },
        'dry-run': { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    });
    const [command] = positionals;
    if (values.help || !command) {
      io.err(USAGE);
      return values.help ? 0 : 1;
    }
    const root = workspaceRoot(process.cwd());
    const config = await loadWorkspaceConfig(root);
    const context = {
      root,
      cwd: process.cwd(),
      isVerbose: false,
      projectsConfigurations: { version: 2, projects: {} },
      nxJsonConfiguration: {},
      projectGraph: { nodes: {}, dependencies: {} },
    } as unknown as ExecutorContext;
    const deps = { ...realDeps(root, config), log: io.err };
    const machine = { ...deps, log: io.out };
    if (command === 'base')
      io.out(await biomeBaseWith({ biome: values.biome as string, fallback: values.fallback }, context, deps));
    else if (command === 'show') await biomeShowWith({ biome: values.biome as string, json: true }, context, machine);
    else if (command === 'list') await biomeListWith({ environment: values.environment, json: true }, context, machine);
    else if (command === 'seed') {
      if (!values.from)
        throw new BiomeError(
          'SEED_INVALID',
          'seed needs --from=<main biome>.',
          'Pass e.g. nx-biome seed --biome=dev-mr-7 --from=dev.',
        );
      await biomeCreateWith(
        { biome: values.biome as string, from: values.from, dryRun: !!values['dry-run'] },
        context,
        deps,
      );
    } else throw new BiomeError('OPTIONS_INVALID', `Unknown command "${command}".`, USAGE);
    return 0;
  } catch (e) {
    if (isBiomeError(e)) io.err(`✖ ${formatBiomeError(e)}`);
    else if ((e as { code?: string })?.code?.startsWith?.('ERR_PARSE_ARGS'))
      io.err(`✖ ${(e as Error).message}\n${USAGE}`);
    else io.err(`✖ internal error\n${(e as Error)?.stack ?? String(e)}`);
    return 1;
  }
}

/**
 * `nx-biome deploy --biome=<b> [nx options]`: the biome's base, computed
 * before Nx starts (the same code as `nx-biome base`), then one Nx command
 * (`nx affected -t deploy --base=<sha>`, or `nx run-many -t deploy` for a
 * biome with no complete run), streamed, with its exit code. Nx fixes the
 * affected set before any plugin hook runs: this is the way to give it the
 * biome's base with a single Nx start, whatever the plugin isolation.
 */
async function deploy(argv: string[], io: { out: (s: string) => void; err: (s: string) => void }): Promise<number> {
  const { tokens, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    tokens: true,
    options: { biome: { type: 'string' }, fallback: { type: 'string' }, base: { type: 'string' } },
  });
  const ours = new Set(['biome', 'fallback']);
  const passThrough: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'option' && ours.has(t.name)) continue;
    if (t.kind === 'option')
      passThrough.push(
        t.rawName + (t.inlineValue ? `=${t.value}` : ''),
        ...(!t.inlineValue && t.value !== undefined ? [t.value] : []),
      );
    else if (t.kind === 'positional') passThrough.push(t.value);
    else passThrough.push('--');
  }
  if (typeof values.biome !== 'string' || values.biome === '') {
    throw new BiomeError(
      'OPTIONS_INVALID',
      'No biome given: a deploy needs to know where to go.',
      'Pass --biome=<env> or --biome=<env>-<suffix>, e.g. npx nx-biome deploy --biome=dev-bob.',
    );
  }
  const root = workspaceRoot(process.cwd());
  let base = 'given';
  if (typeof values.base !== 'string') {
    const config = await loadWorkspaceConfig(root);
    const context = { root, cwd: process.cwd(), isVerbose: false } as unknown as ExecutorContext;
    base = await biomeBaseWith(
      { biome: values.biome, fallback: typeof values.fallback === 'string' ? values.fallback : 'all' },
      context,
      { ...realDeps(root, config), log: io.err },
    );
  }
  // The deploy target as this workspace names it (the plugin's deployTargetName in nx.json).
  const nxJson = (await readJsonFile(join(root, 'nx.json')).catch(() => undefined)) as
    { plugins?: unknown[] } | undefined;
  const target = deployTargetOf(nxJson?.plugins);
  const nxArgv =
    base === 'given'
      ? ['affected', '-t', target, `--biome=${values.biome}`, ...passThrough]
      : planDeployCommand({ biome: values.biome, base, passThrough, target });
  io.err(`nx ${nxArgv.join(' ')}`);
  return runNx(root, nxArgv);
}

/** Runs the workspace's Nx with `args`, streaming its output; resolves with its exit code (128 + n for a signal). */
function runNx(root: string, args: string[]): Promise<number> {
  const bin = require.resolve('nx/bin/nx.js', { paths: [root] });
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: 'inherit' });
  // A terminal's Ctrl-C reaches Nx itself (same process group); a CI runner's SIGTERM reaches only us: pass it on.
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, forward);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => resolve(code ?? 128 + (signal ? osConstants.signals[signal] : 1)));
  });
}
