/**
 * Reads `--<name>=<v>` / `--<name> <v>` from a command line. Returns
 * undefined when absent, and '' when given without a value.
 */
export function optionFromArgv(argv: readonly string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === `--${name}`) return argv[i + 1] !== undefined && !argv[i + 1].startsWith('--') ? argv[i + 1] : '';
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}
