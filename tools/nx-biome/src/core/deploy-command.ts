/**
 * The one Nx command `nx-biome deploy` runs: `nx affected -t deploy
 * --base=<the biome's base>` (or `nx run-many -t deploy` when the biome has no
 * complete run yet, base `all`), with every other option passed through.
 */
export function planDeployCommand(input: {
  biome: string;
  base: string;
  passThrough: string[];
  /** The deploy target's name (the plugin's deployTargetName). */
  target?: string;
}): string[] {
  const rest = input.passThrough;
  const target = input.target ?? 'deploy';
  if (input.base === 'all') return ['run-many', '-t', target, `--biome=${input.biome}`, ...rest];
  return ['affected', '-t', target, `--base=${input.base}`, `--biome=${input.biome}`, ...rest];
}
