/** A command as an argv array (never a shell string). */
export type Argv = string[];

/**
 * The Terraform commands that plan (and optionally apply) a biome's stack in
 * its own workspace with its rendered variables.
 */
export function planTerraformCommands(input: {
  stackDir: string;
  biome: string;
  tfvarsFile: string;
  apply: boolean;
  destroy?: boolean;
}): Argv[] {
  const chdir = `-chdir=${input.stackDir}`;
  const planFile = `${input.biome}.tfplan`;
  const commands: Argv[] = [
    ['terraform', chdir, 'init', '-input=false'],
    ['terraform', chdir, 'workspace', 'select', '-or-create', input.biome],
    [
      'terraform',
      chdir,
      'plan',
      '-input=false',
      `-var-file=${input.tfvarsFile}`,
      ...(input.destroy ? ['-destroy'] : []),
      `-out=${planFile}`,
    ],
  ];
  if (input.apply) commands.push(['terraform', chdir, 'apply', '-input=false', planFile]);
  return commands;
}

/** The commands of one Terraform action on a biome, with the environment they need. */
export interface TerraformRun {
  commands: Argv[];
  /** Variables added to the commands' environment (the cloud block's organization, host, project and workspace). */
  env: Record<string, string>;
  /** Set for the cloud backend: the workspace, and whether the apply waits for a person. */
  cloud?: { workspace: string; approvalRequired: boolean };
}

/**
 * The commands for either backend. S3 (the default): exactly
 * planTerraformCommands. Cloud: no `workspace select` (TF_WORKSPACE names the
 * workspace), `-var=state_backend=cloud` (the stack then checks that workspace
 * name and uses the run's dynamic credentials instead of assuming the deploy
 * role), and no apply where a person must approve the plan first.
 */
export function planBiomeTerraform(input: {
  stackDir: string;
  biome: string;
  tfvarsFile: string;
  apply: boolean;
  destroy?: boolean;
  cloud?: { env: Record<string, string>; workspace: string; approvalRequired: boolean };
}): TerraformRun {
  if (!input.cloud) return { commands: planTerraformCommands(input), env: {} };
  const chdir = `-chdir=${input.stackDir}`;
  const planFile = `${input.biome}.tfplan`;
  const commands: Argv[] = [
    ['terraform', chdir, 'init', '-input=false'],
    [
      'terraform',
      chdir,
      'plan',
      '-input=false',
      `-var-file=${input.tfvarsFile}`,
      '-var=state_backend=cloud',
      ...(input.destroy ? ['-destroy'] : []),
      `-out=${planFile}`,
    ],
  ];
  if (input.apply && !input.cloud.approvalRequired)
    commands.push(['terraform', chdir, 'apply', '-input=false', planFile]);
  return {
    commands,
    env: input.cloud.env,
    cloud: { workspace: input.cloud.workspace, approvalRequired: input.cloud.approvalRequired },
  };
}

/** A command line as a person would type it, with the environment it needs in front. */
export function displayRunCommand(argv: Argv, env: Record<string, string>): string {
  const prefix = Object.entries(env).map(([k, v]) => `${k}=${displayCommand([v])}`);
  return [...prefix, displayCommand(argv)].join(' ');
}

/** Shell-quotes an argv for display only (never executed through a shell). */
export function displayCommand(argv: Argv): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The backend settings file of a biome's Terraform state (infra/stacks/biome/backends/): sandpits use their own role. */
export function backendFileFor(biome: { sandpit: boolean; environment: { name: string } }): string {
  return `backends/${biome.environment.name}${biome.sandpit ? '-sandpit' : ''}.s3.tfbackend`;
}

/** True when init gets backend settings from the environment (TF_CLI_ARGS_init or TF_CLI_ARGS). */
export function hasBackendConfig(env: Record<string, string | undefined>): boolean {
  return /-backend-config/.test(`${env.TF_CLI_ARGS_init ?? ''} ${env.TF_CLI_ARGS ?? ''}`);
}

/** The line that gives the biome stack's init its backend settings. */
export function backendExport(biome: { sandpit: boolean; environment: { name: string } }): string {
  return `export TF_CLI_ARGS_init="-backend-config=${backendFileFor(biome)}"`;
}

/**
 * The fix for a failed Terraform command: for init without backend settings,
 * the backend file of this biome (the stack's S3 backend is configured at
 * init); otherwise Terraform's own output says what went wrong.
 */
export function explainTerraformFailure(input: {
  argv: Argv;
  biome: { name: string; sandpit: boolean; environment: { name: string } };
  env: Record<string, string | undefined>;
}): string {
  const unchanged = 'the ledger and tfvars are unchanged by this failure';
  if (input.argv.includes('init') && !hasBackendConfig(input.env)) {
    return `The biome stack keeps its state in S3 and takes the backend settings at init, and none were given: ${backendExport(input.biome)} (infra/stacks/biome/${backendFileFor(input.biome)}, for ${input.biome.name}), then run the command again; ${unchanged}.`;
  }
  return `Read Terraform's output above; ${unchanged}.`;
}
