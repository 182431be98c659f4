/** A command as an argv array (never a shell string). */
export type Argv = string[];

/**
 * The Terraform commands that plan (and optionally apply) a biome's stack in
 * its own workspace with its rendered variables.
 */
export function planTerraformCommands(input: { stackDir: string; biome: string; tfvarsFile: string; apply: boolean; destroy?: boolean }): Argv[] {
  const chdir = `-chdir=${input.stackDir}`;
  const planFile = `${input.biome}.tfplan`;
  const commands: Argv[] = [
    ['terraform', chdir, 'init', '-input=false'],
    ['terraform', chdir, 'workspace', 'select', '-or-create', input.biome],
    ['terraform', chdir, 'plan', '-input=false', `-var-file=${input.tfvarsFile}`, ...(input.destroy ? ['-destroy'] : []), `-out=${planFile}`],
  ];
  if (input.apply) commands.push(['terraform', chdir, 'apply', '-input=false', planFile]);
  return commands;
}

/** Shell-quotes an argv for display only (never executed through a shell). */
export function displayCommand(argv: Argv): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
