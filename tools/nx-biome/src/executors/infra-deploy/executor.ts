import type { ExecutorContext } from '@nx/devkit';
import { relative } from 'node:path';
import { parseBiomeName } from '../../core/names';
import { renderTable } from '../../core/table';
import { BiomeTfvars } from '../../core/tfvars';
import { displayCommand, planTerraformCommands } from '../../core/terraform-plan';
import { runTerraform } from '../../adapters/terraform';
import { loadWorkspaceConfig } from '../../adapters/workspace';
import { Deps, realDeps, storeOf } from '../../operations/context';
import { renderBiomeTfvars } from '../../operations/render';
import { requireBiomeOption, runExecutor } from '../run';
import type { InfraDeployExecutorSchema } from './schema';

/** What is deployed where: one row per project of the biome. */
export function biomeTable(tfvars: BiomeTfvars): string {
  const rows: string[][] = [];
  for (const [name, s] of Object.entries(tfvars.services)) rows.push([name, 'service', s.git_sha.slice(0, 8) + (s.dirty ? '*' : ''), s.function_name, s.s3_key]);
  for (const [name, w] of Object.entries(tfvars.workflows)) rows.push([name, 'workflow', w.git_sha.slice(0, 8) + (w.dirty ? '*' : ''), w.state_machine_name, w.s3_key]);
  for (const [name, m] of Object.entries(tfvars.models)) rows.push([name, 'model', m.git_sha.slice(0, 8) + (m.dirty ? '*' : ''), m.target_path, m.s3_key]);
  rows.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  return renderTable(['project', 'kind', 'commit', 'AWS name / model target', 'artifact'], rows);
}

/**
 * The biome-level step: renders `dist/terraform/<biome>.tfvars.json` from the
 * whole ledger, prints what is deployed where, and plans/applies Terraform
 * when asked.
 */
export async function infraDeployWith(options: InfraDeployExecutorSchema, context: ExecutorContext, deps?: Deps): Promise<void> {
  const config = await loadWorkspaceConfig(context.root);
  const biome = parseBiomeName(requireBiomeOption(options.biome), config);
  const d = deps ?? realDeps(context.root, config);
  const store = storeOf(d, biome);
  const { path, tfvars, warnings } = await renderBiomeTfvars({ store, config, biome, workspaceRoot: context.root, dryRun: !!options.dryRun });
  for (const w of warnings) d.log(`warning: ${w}`);
  const count = Object.keys(tfvars.services).length + Object.keys(tfvars.workflows).length + Object.keys(tfvars.models).length;
  const what = options.dryRun ? `[dry-run] would render ${relative(context.root, path)} from the current ledger (a dry run records nothing)` : `rendered ${relative(context.root, path)}`;
  d.log(`${what}: ${count} project(s) in biome ${biome.name} (${biome.environment.name}, ${store.url})${tfvars.asleep ? ', asleep' : ''}`);
  d.log(biomeTable(tfvars));
  const stackDir = options.terraformDir ?? 'infra/stacks/biome';
  const commands = planTerraformCommands({ stackDir, biome: biome.name, tfvarsFile: relative(`${context.root}/${stackDir}`, path), apply: !!options.apply });
  if (options.apply && !options.dryRun) {
    await runTerraform(commands, context.root, d.env);
  } else {
    d.log(`Terraform (run with --apply to execute):\n  ${commands.map(displayCommand).join('\n  ')}`);
  }
}

export default async function infraDeployExecutor(options: InfraDeployExecutorSchema, context: ExecutorContext): Promise<{ success: boolean }> {
  return runExecutor(`deploy ${context.projectName}`, () => infraDeployWith(options, context));
}
