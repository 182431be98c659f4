/** What an `nx` command asks to run, as far as the plugin's pre-run checks need to know. */
export interface RunSelection {
  biome?: string;
  affected: boolean;
  /** The deploy target (`deploy`, or the plugin's deployTargetName) is asked for (directly: a target that depends on deploy is only seen by the post-run hook). */
  deploys: boolean;
  allowDirty: boolean;
  /** Project patterns named on the command line (Nx matches them: names, globs, tags); empty means all (or affected). */
  projects: string[];
  /** `--exclude` patterns. */
  exclude: string[];
  /** `--base` of `nx affected`, when given on the command line. */
  base?: string;
  /** `--head`, `--files`, `--uncommitted` or `--untracked`: the affected set is not "since base up to HEAD". */
  customRange: boolean;
  dryRun: boolean;
}

/** The parts of an Nx command line (as Nx's own parser splits it) that a run selection is made of. */
export interface ParsedNxCommand {
  command: 'run' | 'run-many' | 'affected';
  targets: string[];
  projects: string[];
  exclude: string[];
  nxArgs: Record<string, unknown>;
  overrides: Record<string, unknown>;
}

const isSet = (v: unknown) => v !== undefined && v !== false && v !== 'false';

/**
 * The run selection of a parsed Nx command: the task options (`--biome`,
 * `--allow-dirty`, `--dry-run`, in either spelling, as the executors read
 * them) and the projects and targets Nx will select.
 */
export function selectRun(cmd: ParsedNxCommand, deployTarget = 'deploy'): RunSelection {
  const o = cmd.overrides;
  const biome = o.biome === undefined ? undefined : o.biome === true ? '' : String(o.biome);
  const base = typeof cmd.nxArgs.base === 'string' && cmd.nxArgs.base !== '' ? cmd.nxArgs.base : undefined;
  return {
    biome,
    affected: cmd.command === 'affected',
    deploys: cmd.targets.includes(deployTarget),
    allowDirty: isSet(o.allowDirty) || isSet(o['allow-dirty']),
    projects: cmd.projects,
    exclude: cmd.exclude,
    base,
    customRange: ['head', 'files', 'uncommitted', 'untracked'].some((k) => isSet(cmd.nxArgs[k])),
    dryRun: isSet(o.dryRun) || isSet(o['dry-run']),
  };
}
