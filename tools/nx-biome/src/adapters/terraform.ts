import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { BiomeError } from '../core/errors';
import { Argv, displayCommand, displayRunCommand } from '../core/terraform-plan';

/** Finds the terraform binary on PATH (or TERRAFORM_BINARY). */
export async function findTerraform(
  env: Record<string, string | undefined> = process.env,
): Promise<string | undefined> {
  if (env.TERRAFORM_BINARY) return env.TERRAFORM_BINARY;
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'terraform');
    if (
      await access(candidate).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  return undefined;
}

/**
 * Runs Terraform commands in order, streaming their output; stops at the
 * first failure with TERRAFORM_FAILED, whose fix the caller words (`explain`).
 * `extraEnv` is added to every command (and shown in front of it); with
 * `onOutput`, stdout and stderr are also handed over as they pass (to find
 * the run URL HCP Terraform prints).
 */
export async function runTerraform(
  commands: Argv[],
  cwd: string,
  env: Record<string, string | undefined> = process.env,
  options: {
    extraEnv?: Record<string, string>;
    onOutput?: (text: string) => void;
    explain?: (argv: Argv) => string;
  } = {},
): Promise<void> {
  const extra = options.extraEnv ?? {};
  const explain =
    options.explain ?? (() => "Read Terraform's output above; the ledger and tfvars are unchanged by this failure.");
  const binary = await findTerraform(env);
  if (!binary) {
    throw new BiomeError(
      'TERRAFORM_MISSING',
      'terraform is not on PATH.',
      `Install Terraform >= 1.6, or run these yourself:\n    ${commands.map((c) => displayRunCommand(c, extra)).join('\n    ')}`,
    );
  }
  const childEnv = { ...env, ...extra } as NodeJS.ProcessEnv;
  const onOutput = options.onOutput;
  for (const argv of commands) {
    console.log(`$ ${displayRunCommand(argv, extra)}`);
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(binary, argv.slice(1), {
        cwd,
        stdio: onOutput ? ['inherit', 'pipe', 'pipe'] : 'inherit',
        env: childEnv,
      });
      if (onOutput) {
        child.stdout?.on('data', (b: Buffer) => (process.stdout.write(b), onOutput(b.toString('utf8'))));
        child.stderr?.on('data', (b: Buffer) => (process.stderr.write(b), onOutput(b.toString('utf8'))));
      }
      child.on('error', reject);
      child.on('close', (c) => resolve(c ?? 1));
    });
    if (code !== 0)
      throw new BiomeError('TERRAFORM_FAILED', `${displayCommand(argv)} exited with ${code}.`, explain(argv));
  }
}
