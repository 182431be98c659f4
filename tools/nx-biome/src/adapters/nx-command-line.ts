import type { ParsedNxCommand } from '../core/run-selection';
import { createRequire } from 'node:module';

/**
 * An `nx` command line as Nx itself reads it: the command, its targets and
 * project selection (nxArgs) and the options Nx forwards to every task
 * (overrides, e.g. `biome`, `allowDirty`, `dryRun`). `run` covers both
 * `nx run <p>:<t>` and the infix form `nx <t> <p>`.
 */
export type NxCommandLine = ParsedNxCommand;

/** The part of yargs' builder API used here (the yargs that Nx itself parses with). */
interface YargsParser {
  parserConfiguration(c: object): YargsParser;
  help(v: boolean): YargsParser;
  version(v: boolean): YargsParser;
  exitProcess(v: boolean): YargsParser;
  fail(f: (msg: string, err: Error) => void): YargsParser;
  command(c: CommandModule): YargsParser;
  parse(): Promise<unknown>;
}

type CommandModule = {
  command: string | string[];
  builder: (y: unknown) => unknown;
  handler: (a: Record<string, unknown>) => unknown;
};

/**
 * Nx's own modules, resolved from the `nx` this workspace runs (its yargs
 * version, its command definitions and option builders), loaded only when a
 * command line is read.
 */
function nxModules() {
  const load = createRequire(__filename);
  // yargs as Nx itself resolves it (nx pins its own copy).
  const fromNx = createRequire(load.resolve('nx/package.json'));
  return {
    yargs: fromNx('yargs') as (args: string[]) => YargsParser,
    runMany: load('nx/src/command-line/run-many/command-object').yargsRunManyCommand as CommandModule,
    affected: load('nx/src/command-line/affected/command-object').yargsAffectedCommand as CommandModule,
    run: load('nx/src/command-line/run/command-object') as {
      yargsRunCommand: CommandModule;
      yargsNxInfixCommand: CommandModule;
    },
    shared: load('nx/src/command-line/yargs-utils/shared-options') as {
      withOverrides(args: Record<string, unknown>, level?: number): Record<string, unknown>;
    },
    split: load('nx/src/utils/command-line-utils') as {
      splitArgsIntoNxArgsAndOverrides(
        args: Record<string, unknown>,
        mode: string,
        o: { printWarnings: boolean },
        nxJson: object,
      ): { nxArgs: Record<string, unknown>; overrides: Record<string, unknown> };
    },
    target: load('nx/src/utils/split-target') as { splitByColons(s: string): string[] },
  };
}

const list = (v: unknown): string[] =>
  Array.isArray(v) ? v.map(String) : typeof v === 'string' && v !== '' ? v.split(',') : [];

/**
 * Reads an `nx` command line (`process.argv` of the Nx process, as Nx hands it
 * to a plugin's hooks) with Nx's own command definitions: the same yargs, the
 * same options, aliases and coercions (`-t=deploy`, `--targets=a,b`, repeated
 * `--projects`, `--exclude`, `nx deploy <p>`, `nx run <p>:deploy`), and Nx's
 * own split of the result into its arguments and the tasks' options.
 * Returns undefined for any other command (show, graph, generate...) and for
 * a command line Nx itself would refuse.
 */
export async function readNxCommandLine(argv: readonly string[]): Promise<NxCommandLine | undefined> {
  const nx = nxModules();
  const args = argv.slice(2);
  let captured: { name: NxCommandLine['command']; args: Record<string, unknown>; level: number } | undefined;
  const capture = (name: NxCommandLine['command'], module: CommandModule, level = 1): CommandModule => ({
    ...module,
    handler: (a) => void (captured = { name, args: a, level }),
  });
  try {
    await nx
      .yargs(args)
      // Nx's own parser settings (nx-commands.js); its command builders add the rest.
      .parserConfiguration({ 'strip-dashed': true })
      .help(false)
      .version(false)
      .exitProcess(false)
      .fail((_msg, err) => {
        throw err ?? new Error(_msg);
      })
      .command(capture('run-many', nx.runMany))
      .command(capture('affected', nx.affected))
      .command(capture('run', nx.run.yargsRunCommand))
      .command(capture('run', nx.run.yargsNxInfixCommand, 0))
      .parse();
  } catch {
    return undefined; // Nx reports its own parse errors
  }
  if (!captured) return undefined;
  const { name, level } = captured;
  const parsed = nx.shared.withOverrides({ ...captured.args }, level);
  let projects: string[] = [];
  let targets: string[] = [];
  if (name === 'run') {
    // `nx run p:t:c` (one positional) or the infix `nx t p`.
    const spec = parsed['project:target:configuration'];
    if (typeof spec === 'string') {
      const [project, target] = nx.target.splitByColons(spec);
      projects = project ? [project] : [];
      targets = target ? [target] : [];
    } else {
      projects = typeof parsed.project === 'string' ? [parsed.project] : [];
      targets = typeof parsed.target === 'string' ? [parsed.target] : [];
    }
  }
  // 'run-one' splits without resolving anything (affected mode would run git merge-base here).
  const { nxArgs, overrides } = nx.split.splitArgsIntoNxArgsAndOverrides(
    { ...parsed },
    name === 'run-many' ? 'run-many' : 'run-one',
    { printWarnings: false },
    {},
  );
  if (name !== 'run') {
    targets = list(nxArgs.targets);
    projects = list(nxArgs.projects);
  }
  const { __overrides_unparsed__: _unparsed, ...taskOptions } = overrides;
  return { command: name, targets, projects, exclude: list(nxArgs.exclude), nxArgs, overrides: taskOptions };
}
