import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { WorkspaceConfig } from '../core/config';
import { BiomeError } from '../core/errors';
import {
  CLOUD_OVERRIDE_CONTENT,
  CLOUD_OVERRIDE_FILE,
  CLOUD_OVERRIDE_MARKER,
  cloudEnvironment,
  findRunUrl,
  HcpWorkspacePlan,
  planHcpWorkspace,
  renderRunReport,
  requireCloudConfig,
  runUrlOf,
} from '../core/hcp-terraform';
import {
  backendExport,
  backendFileFor,
  displayCommand,
  displayRunCommand,
  explainTerraformFailure,
  hasBackendConfig,
  planBiomeTerraform,
} from '../core/terraform-plan';
import { runTerraform } from '../adapters/terraform';
import { BiomeRef } from '../core/names';
import { createHcpTerraformClient, HcpTerraformPort, readHcpToken } from '../adapters/hcp-terraform';

/** The default place of the biome stack, relative to the workspace root. */
export const BIOME_STACK_DIR = 'infra/stacks/biome';

/** True when the workspace config puts the biome stacks in HCP Terraform. */
export function usesCloudBackend(config: WorkspaceConfig): boolean {
  return config.terraform.backend === 'cloud';
}

/** An API client for the configured host, with the token Terraform itself would use. */
export async function openHcpTerraform(
  config: WorkspaceConfig,
  env: Record<string, string | undefined>,
  log: (line: string) => void,
): Promise<HcpTerraformPort> {
  const { hostname } = requireCloudConfig(config);
  return createHcpTerraformClient({ hostname, token: await readHcpToken(hostname, env), log });
}

/** The biome's workspace as the config describes it, and the variables that select it. */
export function describeCloudWorkspace(
  config: WorkspaceConfig,
  biome: BiomeRef,
  stackDir = BIOME_STACK_DIR,
): { plan: HcpWorkspacePlan; env: Record<string, string> } {
  const plan = planHcpWorkspace(config, biome, stackDir);
  return { plan, env: cloudEnvironment(plan) };
}

/** One line saying which workspace a biome runs in. */
export function describeWorkspaceLine(plan: HcpWorkspacePlan): string {
  return `HCP Terraform workspace ${plan.workspace} (organization ${plan.organization}, project ${plan.project}, tags ${plan.tags.join(', ')}${plan.approvalRequired ? ', applies only after approval' : ''}): ${plan.url}`;
}

/**
 * Makes sure the biome's workspace exists as planned: its project, the
 * variable set of its kind, the workspace (CLI-driven, remote execution,
 * never auto-apply, working directory = the stack) and its tags.
 * Idempotent: what exists is left as it is. Returns whether it was created.
 */
export async function ensureBiomeWorkspace(input: {
  client: HcpTerraformPort;
  plan: HcpWorkspacePlan;
  log: (line: string) => void;
}): Promise<{ created: boolean; workspaceId: string }> {
  const { client, plan, log } = input;
  const org = plan.organization;
  let projectId: string | undefined;
  if (plan.createProject) {
    let project = await client.findProject(org, plan.project);
    if (!project) {
      project = await client.createProject(org, plan.project);
      log(`HCP Terraform: created project ${plan.project}`);
    }
    projectId = project.id;
  }
  let varset = await client.findVariableSet(org, plan.variableSet);
  let varsetIsNew = false;
  if (!varset) {
    varset = await client.createVariableSet(org, {
      name: plan.variableSet,
      description: `Dynamic AWS credentials of ${plan.variableSet} workspaces (managed by @geo/nx-biome).`,
      projectIds: projectId ? [projectId] : [],
      variables: plan.variableSetVariables,
    });
    varsetIsNew = true;
    log(
      `HCP Terraform: created variable set ${plan.variableSet} (${plan.variableSetVariables.map((v) => v.key).join(', ')})${projectId ? ` for project ${plan.project}` : ''}`,
    );
  }
  let workspace = await client.findWorkspace(org, plan.workspace);
  const created = !workspace;
  if (!workspace) {
    workspace = await client.createWorkspace(org, {
      name: plan.workspace,
      projectId,
      description: `Biome stack of ${plan.workspace} (managed by @geo/nx-biome).`,
      autoApply: false,
      workingDirectory: plan.workingDirectory,
    });
    log(
      `HCP Terraform: created workspace ${plan.workspace}${projectId ? ` in project ${plan.project}` : ''}: ${plan.url}`,
    );
  }
  const tags = new Set(await client.listWorkspaceTags(workspace.id));
  const missingTags = plan.tags.filter((t) => !tags.has(t));
  if (missingTags.length) await client.addWorkspaceTags(workspace.id, missingTags);
  // Without a per-environment project the variable set cannot follow the project: it is applied to each workspace.
  if (!projectId && (created || varsetIsNew)) await client.applyVariableSetToWorkspace(varset.id, workspace.id);
  return { created, workspaceId: workspace.id };
}

/**
 * Deletes a sandpit's workspace, only when it manages no resources (HCP
 * Terraform's safe delete): otherwise HCP_WORKSPACE_NOT_EMPTY, so a biome
 * whose infrastructure still runs keeps the state that can destroy it.
 */
export async function deleteBiomeWorkspace(input: {
  client: HcpTerraformPort;
  plan: HcpWorkspacePlan;
  log: (line: string) => void;
}): Promise<'deleted' | 'absent'> {
  const { client, plan, log } = input;
  const workspace = await client.findWorkspace(plan.organization, plan.workspace);
  if (!workspace) {
    log(`HCP Terraform: workspace ${plan.workspace} does not exist; nothing to delete`);
    return 'absent';
  }
  if ((await client.safeDeleteWorkspace(workspace.id)) === 'not-empty') {
    throw new BiomeError(
      'HCP_WORKSPACE_NOT_EMPTY',
      `HCP Terraform workspace ${plan.workspace} still manages resources; it was not deleted (nor was anything of the biome).`,
      `Destroy the infrastructure first: add --terraform to the destroy (or queue a destroy run in ${plan.url}), then run it again.`,
    );
  }
  log(`HCP Terraform: deleted workspace ${plan.workspace}`);
  return 'deleted';
}

/** Writes the generated cloud override into the stack (same bytes every time). Refuses to replace a file someone else wrote. */
export async function writeCloudOverride(workspaceRoot: string, stackDir: string): Promise<string> {
  const path = join(workspaceRoot, stackDir, CLOUD_OVERRIDE_FILE);
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current === CLOUD_OVERRIDE_CONTENT) return path;
  if (current !== undefined && !current.startsWith(CLOUD_OVERRIDE_MARKER)) throw foreignOverride(path);
  await writeFile(path, CLOUD_OVERRIDE_CONTENT);
  return path;
}

/**
 * With the S3 backend, a cloud override left by an earlier cloud run would
 * silently send the run to HCP Terraform: remove it (only ours).
 */
export async function removeCloudOverride(
  workspaceRoot: string,
  stackDir: string,
  log: (line: string) => void,
): Promise<void> {
  const path = join(workspaceRoot, stackDir, CLOUD_OVERRIDE_FILE);
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current === undefined) return;
  if (!current.startsWith(CLOUD_OVERRIDE_MARKER)) throw foreignOverride(path);
  await rm(path, { force: true });
  log(`removed ${join(stackDir, CLOUD_OVERRIDE_FILE)} (terraform.backend is "s3")`);
}

function foreignOverride(path: string): BiomeError {
  return new BiomeError(
    'TERRAFORM_OVERRIDE_FOREIGN',
    `${path} exists and was not generated by the plugin; it may change the backend.`,
    'Move it away (the plugin writes and removes this file itself according to terraform.backend).',
  );
}

async function latestRunUrl(client: HcpTerraformPort, plan: HcpWorkspacePlan): Promise<string | undefined> {
  const workspace = await client.findWorkspace(plan.organization, plan.workspace);
  const [run] = workspace ? await client.listRuns(workspace.id, 1) : [];
  return run && runUrlOf(plan, run.id);
}

/** The dotenv file a cloud run leaves for the CI job (`artifacts:reports:dotenv`): workspace and run URL. */
export function runReportPath(workspaceRoot: string, biome: string): string {
  return join(workspaceRoot, 'dist', 'terraform', `${biome}.hcp-terraform.env`);
}

/**
 * Plans, and when asked runs, Terraform on a biome's stack with the
 * configured backend. S3: exactly the commands it always ran. Cloud: the
 * workspace is made sure of through the API, the override written, the
 * commands run with TF_CLOUD_* / TF_WORKSPACE, and the run URL printed and
 * written to dist/terraform/<biome>.hcp-terraform.env. Without `execute`,
 * prints the workspace and the commands under `header` and calls nothing.
 */
export async function runBiomeTerraform(input: {
  config: WorkspaceConfig;
  biome: BiomeRef;
  workspaceRoot: string;
  stackDir: string;
  tfvarsPath: string;
  apply: boolean;
  destroy?: boolean;
  execute: boolean;
  header: string;
  env: Record<string, string | undefined>;
  log: (line: string) => void;
}): Promise<void> {
  const { config, biome, workspaceRoot: root, stackDir, log } = input;
  const tfvarsFile = relative(join(root, stackDir), input.tfvarsPath);
  if (!usesCloudBackend(config)) {
    if (!input.execute) {
      // The hint shows what --apply runs, apply included, after the state backend's settings when they are not set.
      const shown = planBiomeTerraform({
        stackDir,
        biome: biome.name,
        tfvarsFile,
        apply: input.destroy ? input.apply : true,
        destroy: input.destroy,
      });
      const backend = hasBackendConfig(input.env)
        ? []
        : [`${backendExport(biome)}   # the state backend of ${biome.name} (${join(stackDir, backendFileFor(biome))})`];
      return log(`${input.header}\n  ${[...backend, ...shown.commands.map(displayCommand)].join('\n  ')}`);
    }
    const run = planBiomeTerraform({
      stackDir,
      biome: biome.name,
      tfvarsFile,
      apply: input.apply,
      destroy: input.destroy,
    });
    await removeCloudOverride(root, stackDir, log);
    return runTerraform(run.commands, root, input.env, {
      explain: (argv) => explainTerraformFailure({ argv, biome, env: input.env }),
    });
  }
  const { plan, env: cloudEnv } = describeCloudWorkspace(config, biome, stackDir);
  const run = planBiomeTerraform({
    stackDir,
    biome: biome.name,
    tfvarsFile,
    apply: input.apply,
    destroy: input.destroy,
    cloud: { env: cloudEnv, workspace: plan.workspace, approvalRequired: plan.approvalRequired },
  });
  log(describeWorkspaceLine(plan));
  const approval =
    plan.approvalRequired && input.apply
      ? `${biome.name} is the production main biome: the plan is not applied here; approve it in HCP Terraform (the run below) or in the pipeline's manual apply job.`
      : undefined;
  if (!input.execute) {
    log(
      `${input.header} (${join(stackDir, CLOUD_OVERRIDE_FILE)} is generated: terraform { cloud {} })\n  ${run.commands.map((c) => displayRunCommand(c, cloudEnv)).join('\n  ')}`,
    );
    if (approval) log(approval);
    return;
  }
  const client = await openHcpTerraform(config, input.env, log);
  await ensureBiomeWorkspace({ client, plan, log });
  await writeCloudOverride(root, stackDir);
  // Only the tail matters (the run URL is printed near the start of each remote operation, again per command).
  let output = '';
  await runTerraform(run.commands, root, input.env, {
    extraEnv: cloudEnv,
    onOutput: (text) => (output = (output + text).slice(-200_000)),
  });
  // Terraform prints the run's URL; if its output format ever changes, the workspace's latest run is the one just made.
  const runUrl = findRunUrl(output) ?? (await latestRunUrl(client, plan));
  const report = runReportPath(root, biome.name);
  await mkdir(dirname(report), { recursive: true });
  await writeFile(report, renderRunReport({ workspace: plan.workspace, workspaceUrl: plan.url, runUrl }));
  log(
    `HCP Terraform run: ${runUrl ?? `(no run URL in Terraform's output; see ${plan.url}/runs)`} (written to ${relative(root, report)})`,
  );
  if (approval) log(approval);
}
