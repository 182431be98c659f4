import { optionFromArgv } from './argv';

/** What an `nx` command line asks to run, as far as the pre-run checks need to know. */
export interface RunSelection {
  biome?: string;
  affected: boolean;
  deploys: boolean;
  allowDirty: boolean;
  /** Projects named on the command line; undefined means "all (or affected) projects". */
  projects?: string[];
  /** `--base` of `nx affected`, when given on the command line. */
  base?: string;
  dryRun: boolean;
}

/** Reads the Nx command line (`process.argv`) for the options the plugin checks before any task runs. */
export function readRunSelection(argv: readonly string[]): RunSelection {
  const args = argv.slice(2);
  const command = args.find((a) => !a.startsWith('-'));
  const targets: string[] = [];
  for (const name of ['target', 'targets']) targets.push(...(optionFromArgv(args, name) ?? '').split(',').filter(Boolean));
  const t = args.indexOf('-t');
  if (t >= 0 && args[t + 1]) targets.push(...args[t + 1].split(','));
  let projects: string[] | undefined;
  let deploys = targets.includes('deploy');
  if (command === 'run' || (command && command.includes(':') && !['run-many', 'affected'].includes(command))) {
    const spec = command === 'run' ? args[args.indexOf('run') + 1] : command;
    const [project, target] = (spec ?? '').split(':');
    if (project) projects = [project];
    deploys = deploys || target === 'deploy';
  } else {
    const named = optionFromArgv(args, 'projects') ?? optionFromArgv(args, 'p');
    if (named) projects = named.split(',').map((p) => p.trim()).filter(Boolean);
  }
  const flag = optionFromArgv(args, 'allow-dirty') ?? optionFromArgv(args, 'allowDirty');
  const allowDirty = flag !== undefined && flag !== 'false';
  const dry = optionFromArgv(args, 'dry-run') ?? optionFromArgv(args, 'dryRun');
  return { biome: optionFromArgv(args, 'biome'), affected: command === 'affected', deploys, allowDirty, projects, base: optionFromArgv(args, 'base') || undefined, dryRun: dry !== undefined && dry !== 'false' };
}
