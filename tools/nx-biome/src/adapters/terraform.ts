import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { BiomeError } from '../core/errors';
import { Argv, displayCommand } from '../core/terraform-plan';

/** Finds the terraform binary on PATH (or TERRAFORM_BINARY). */
export async function findTerraform(env: Record<string, string | undefined> = process.env): Promise<string | undefined> {
  if (env.TERRAFORM_BINARY) return env.TERRAFORM_BINARY;
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'terraform');
    if (await access(candidate).then(() => true, () => false)) return candidate;
  }
  return undefined;
}

/** Runs Terraform commands in order, streaming their output; stops at the first failure. */
export async function runTerraform(commands: Argv[], cwd: string, env: Record<string, string | undefined> = process.env): Promise<void> {
  const binary = await findTerraform(env);
  if (!binary) {
    throw new BiomeError('TERRAFORM_MISSING', 'terraform is not on PATH.', `Install Terraform >= 1.6, or run these yourself:\n    ${commands.map(displayCommand).join('\n    ')}`);
  }
  for (const argv of commands) {
    console.log(`$ ${displayCommand(argv)}`);
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(binary, argv.slice(1), { cwd, stdio: 'inherit', env: env as NodeJS.ProcessEnv });
      child.on('error', reject);
      child.on('close', (c) => resolve(c ?? 1));
    });
    if (code !== 0) throw new BiomeError('TERRAFORM_FAILED', `${displayCommand(argv)} exited with ${code}.`, 'Read Terraform\'s output above; the ledger and tfvars are unchanged by this failure.');
  }
}
