import type { ExecutorContext } from '@nx/devkit';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { BiomeError, formatBiomeError, isBiomeError } from './core/errors';
import { loadWorkspaceConfig } from './adapters/workspace';
import { realDeps } from './operations/context';
import { biomeBaseWith } from './executors/biome-base/executor';
import { biomeCreateWith } from './executors/biome-create/executor';
import { biomeListWith } from './executors/biome-list/executor';
import { biomeShowWith } from './executors/biome-show/executor';

const USAGE = `usage: nx-biome <command> [options]
  base --biome=<b> [--fallback=<ref>]   the biome's last deployed commit (for --base=$(...))
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
