import type { ExecutorContext } from '@nx/devkit';
import { relative } from 'node:path';
import {
  BiomeRunFinish,
  DeployOutcomeEntry,
  isFoldedSummary,
  plannedDeploys,
  summaryRows,
} from '../../core/deploy-run';
import { BiomeRef, parseBiomeName } from '../../core/names';
import { renderTable } from '../../core/table';
import { BiomeTfvars } from '../../core/tfvars';
import { LedgerRecord } from '../../core/ledger';
import { WorkspaceConfig } from '../../core/config';
import { loadWorkspaceConfig } from '../../adapters/workspace';
import { Deps, realDeps, storeOf } from '../../operations/context';
import { renderBiomeTfvars } from '../../operations/render';
import { awaitReplication } from '../../operations/await-replication';
import { BIOME_STACK_DIR, runBiomeTerraform } from '../../operations/hcp-terraform';
import { recordRunFrom } from '../../operations/run-record';
import { formatBytes, requireBiomeOption, runExecutor } from '../run';
import type { InfraDeployExecutorSchema } from './schema';

/** What is deployed where: one row per project of the biome (folded above FULL_TABLE_LIMIT), with what this run did to it. */
export function biomeTable(
  tfvars: BiomeTfvars,
  records: LedgerRecord[],
  outcomes: DeployOutcomeEntry[] = [],
  finish: Pick<BiomeRunFinish, 'failed' | 'skipped'> = { failed: [], skipped: [] },
  biome?: string,
): string {
  const awsName = (r: LedgerRecord) =>
    r.kind === 'service'
      ? tfvars.services[r.project]?.function_name
      : r.kind === 'workflow'
        ? tfvars.workflows[r.project]?.state_machine_name
        : tfvars.models[r.project]?.target_path;
  const projects = records.map((r) => ({
    project: r.project,
    kind: r.kind,
    gitSha: r.gitSha,
    dirty: r.dirty,
    size: r.size,
    awsName: awsName(r) ?? '',
  }));
  const rows = summaryRows(projects, outcomes, finish, formatBytes);
  const table = renderTable(['project', 'kind', 'outcome', 'commit', 'size', 'AWS name / model target'], rows);
  return isFoldedSummary(rows) && biome
    ? `${table}\n(\`npx nx-biome show ${biome}\` lists all ${records.length} projects of ${biome})`
    : table;
}

/**
 * The biome-level step, shared by `infra:deploy` and the end of every deploy
 * run: renders `dist/terraform/<biome>.tfvars.json` from the whole ledger,
 * prints what is deployed where (and what this run did), and plans/applies
 * Terraform when asked.
 */
export async function finishBiome(input: {
  workspaceRoot: string;
  config: WorkspaceConfig;
  biome: BiomeRef;
  deps: Deps;
  dryRun: boolean;
  apply: boolean;
  /** Run init and plan, never apply (e.g. a check against HCP Terraform). */
  planOnly?: boolean;
  terraformDir?: string;
  outcomes?: DeployOutcomeEntry[];
  finish?: Pick<BiomeRunFinish, 'failed' | 'skipped'>;
  /** Why the tfvars must not be written this time (a half-failed run): the table is still shown. */
  holdBack?: string;
}): Promise<{ path: string; tfvars: BiomeTfvars; records: LedgerRecord[] }> {
  const { workspaceRoot: root, biome, deps: d } = input;
  const store = storeOf(d, biome);
  const { path, tfvars, records, warnings } = await renderBiomeTfvars({
    store,
    config: input.config,
    biome,
    workspaceRoot: root,
    dryRun: input.dryRun || !!input.holdBack,
  });
  for (const w of warnings) d.log(`warning: ${w}`);
  const what = input.holdBack
    ? `${relative(root, path)} was NOT rendered (${input.holdBack}); the ledger holds`
    : input.dryRun
      ? `[dry-run] would render ${relative(root, path)} from the current ledger (a dry run records nothing)`
      : `rendered ${relative(root, path)}`;
  d.log(
    `${what}: ${records.length} project(s) in biome ${biome.name} (${biome.environment.name}, ${store.url})${tfvars.asleep ? ', asleep' : ''}`,
  );
  d.log(biomeTable(tfvars, records, input.outcomes, input.finish, biome.name));
  const stackDir = input.terraformDir ?? BIOME_STACK_DIR;
  if (input.holdBack) return { path, tfvars, records };
  const execute = (input.apply || !!input.planOnly) && !input.dryRun;
  // Every artifact must have replicated to the workload bucket Terraform reads (skipped, with a notice, for a local store).
  if (execute) await awaitReplication({ tfvars, store, log: d.log });
  await runBiomeTerraform({
    config: input.config,
    biome,
    workspaceRoot: root,
    stackDir,
    tfvarsPath: path,
    apply: input.apply && !input.planOnly,
    execute,
    header: 'Terraform (or run this again with --apply):',
    env: d.env,
    log: d.log,
  });
  return { path, tfvars, records };
}

/** True when the same Nx run also deploys projects: the end-of-run step then renders (and applies) after the last of them. */
export function runDeploysProjects(context: ExecutorContext): boolean {
  return plannedDeploys(context.taskGraph?.tasks, context.projectsConfigurations?.projects).length > 0;
}

/** `infra:deploy`: re-render the biome's tfvars from its ledger (nothing is built), and plan/apply when asked. */
export async function infraDeployWith(
  options: InfraDeployExecutorSchema,
  context: ExecutorContext,
  deps?: Deps,
): Promise<void> {
  const config = await loadWorkspaceConfig(context.root);
  const biome = parseBiomeName(requireBiomeOption(options.biome), config);
  const d = deps ?? realDeps(context.root, config);
  if (runDeploysProjects(context)) {
    d.log(
      `${biome.name}: this run also deploys projects; their tfvars are rendered${options.apply ? ' and applied' : ''} once, after the last deploy of the run.`,
    );
    return;
  }
  const { records } = await finishBiome({
    workspaceRoot: context.root,
    config,
    biome,
    deps: d,
    dryRun: !!options.dryRun,
    apply: !!options.apply,
    planOnly: !!options.planOnly,
    terraformDir: options.terraformDir,
  });
  // The render step of a deploy split over several runs (the CI fan-out): every shard succeeded, so the run from that base is complete.
  if (options.completesRunFrom && !options.dryRun)
    await recordRunFrom(storeOf(d, biome), d, {
      workspaceRoot: context.root,
      biome: biome.name,
      base: options.completesRunFrom,
      records,
    });
}

export default async function infraDeployExecutor(
  options: InfraDeployExecutorSchema,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  return runExecutor(`deploy ${context.projectName}`, () => infraDeployWith(options, context));
}
