import { readTargetOptions, type ExecutorContext } from '@nx/devkit';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PackageManifest, parsePackageManifest } from '../../core/artifact';
import { WorkspaceConfig } from '../../core/config';
import { BiomeError } from '../../core/errors';
import { checkAwsNameBudget, parseBiomeName } from '../../core/names';
import { sha256Hex } from '../../adapters/archive';
import { loadWorkspaceConfig, readJsonFile } from '../../adapters/workspace';
import { ciJobUrl, Deps, deployerName, realDeps, storeOf } from '../../operations/context';
import { deployProject, DeployResult } from '../../operations/deploy';
import { recordRunOutcome } from '../../operations/deploy-run';
import { plannedDeploys } from '../../core/deploy-run';
import { packageTargetOf } from '../../core/workflow';
import { artifactsDir, manifestPath, packageProject } from '../package/executor';
import type { PackageExecutorSchema } from '../package/schema';
import { currentProject, formatBytes, requireBiomeOption, runExecutor } from '../run';
import type { DeployExecutorSchema } from './schema';

/** One report line per project: what happened, how big, where. */
export function describeDeploy(r: DeployResult, biome: string): string {
  const verb = r.dryRun
    ? {
        uploaded: 'would upload and record',
        present: 'would record (artifact already present)',
        unchanged: 'unchanged',
        restored: 'unchanged, would upload its missing artifact again',
      }[r.outcome]
    : {
        uploaded: 'uploaded',
        present: 'already present',
        unchanged: 'unchanged',
        restored: 'unchanged, its missing artifact uploaded again',
      }[r.outcome];
  return `${r.dryRun ? '[dry-run] ' : ''}${r.project} → ${biome}: ${verb} ${formatBytes(r.size)} ${r.key}`;
}

/**
 * The options `deploy` packages a project with: those of its package target,
 * read as Nx reads them when it runs that target (schema defaults,
 * configuration, `{projectRoot}` tokens), plus what deploy forwards, as
 * `dependsOn: [{ target: package, params: forward }]` did: the biome (so a bad
 * name fails before anything is written) and `--allowDirty`.
 */
export function packageOptionsFor(options: DeployExecutorSchema, context: ExecutorContext): PackageExecutorSchema {
  const project = currentProject(context).name;
  const shape = context.projectsConfigurations!.projects[project];
  const target = packageTargetOf(project, shape, options.packageTarget);
  // Nx runs a dependency with the dependent's configuration when it has one of that name: the same here.
  const configuration =
    context.configurationName && shape.targets?.[target]?.configurations?.[context.configurationName]
      ? context.configurationName
      : undefined;
  const own = readTargetOptions({ project, target, configuration }, context) as PackageExecutorSchema;
  return { ...own, biome: options.biome, allowDirty: !!(options.allowDirty || own.allowDirty) };
}

/**
 * `deploy`: packages the project (`dist/artifacts/<name>-<sha>.<ext>`, its
 * sha256 and manifest, exactly what `nx run <p>:package` writes) and then
 * publishes and records it, in one process: deploy depends on `build`, not on
 * a `package` task of its own, so a run starts one batch worker fewer. The
 * package step's checks all run first (biome name and AWS name budget, dirty
 * tree, untracked copies), so a refused project writes nothing.
 */
export async function packageAndDeploy(
  options: DeployExecutorSchema,
  context: ExecutorContext,
  makeDeps?: (config: Awaited<ReturnType<typeof loadWorkspaceConfig>>) => Deps,
  listArtifacts?: (dir: string) => Promise<string[]>,
  /** nx-biome.json as a batch already read it (read here when absent). */
  workspaceConfig?: WorkspaceConfig,
): Promise<DeployResult> {
  const config = workspaceConfig ?? (await loadWorkspaceConfig(context.root));
  // No biome, or a bad one: refused before the package step writes anything.
  parseBiomeName(requireBiomeOption(options.biome), config);
  const deps = makeDeps ? makeDeps(config) : realDeps(context.root, config);
  const packageOptions = packageOptionsFor(options, context);
  const manifest = await packageProject(packageOptions, context, deps.git, deps.log, listArtifacts, config);
  return deployExecutorWith(options, context, () => deps, manifest, config);
}

const planned = new WeakMap<object, string[]>();
/** The run's planned deploys, once per task graph: the tasks of a batch share theirs (N tasks × N entries otherwise). */
function plannedDeploysOf(context: ExecutorContext): string[] {
  const tasks = context.taskGraph?.tasks;
  if (!tasks) return plannedDeploys(tasks, context.projectsConfigurations?.projects);
  let projects = planned.get(tasks);
  if (!projects) planned.set(tasks, (projects = plannedDeploys(tasks, context.projectsConfigurations?.projects)));
  return projects;
}

/** The manifest `package` left in dist/artifacts for a project. */
async function readPackagedManifest(path: string, project: string): Promise<PackageManifest> {
  const raw = await readJsonFile(path);
  if (!raw)
    throw new BiomeError(
      'BUILD_OUTPUT_MISSING',
      `${project} has no package manifest.`,
      `Run nx run ${project}:deploy again (it packages the project first).`,
    );
  return parsePackageManifest(raw, path);
}

/** Deploys the packaged project to `--biome`: the manifest `packaged` when given, else the one in dist/artifacts. */
export async function deployExecutorWith(
  options: DeployExecutorSchema,
  context: ExecutorContext,
  makeDeps?: (config: Awaited<ReturnType<typeof loadWorkspaceConfig>>) => Deps,
  packaged?: PackageManifest,
  workspaceConfig?: WorkspaceConfig,
): Promise<DeployResult> {
  const project = currentProject(context);
  const config = workspaceConfig ?? (await loadWorkspaceConfig(context.root));
  const biome = parseBiomeName(requireBiomeOption(options.biome), config);
  const deps = makeDeps ? makeDeps(config) : realDeps(context.root, config);
  const path = manifestPath(context.root, project.name);
  const manifest = packaged ?? (await readPackagedManifest(path, project.name));
  if (manifest.project !== project.name)
    throw new BiomeError(
      'ARTIFACT_CORRUPT',
      `${path} belongs to ${manifest.project}, not ${project.name}.`,
      `Run nx run ${project.name}:deploy again (it packages the project first).`,
    );
  checkAwsNameBudget(config, biome, [{ name: project.name, kind: manifest.kind }]);
  const file = join(artifactsDir(context.root), manifest.file);
  // Read only when bytes must go to the store: an unchanged project never touches its archive.
  const readBody = async () => {
    const body = await readFile(file).catch(() => {
      throw new BiomeError(
        'ARTIFACT_MISSING',
        `dist/artifacts/${manifest.file} is missing.`,
        `Run nx run ${project.name}:deploy again (it packages the project first).`,
      );
    });
    if (sha256Hex(body) !== manifest.sha256) {
      throw new BiomeError(
        'ARTIFACT_CORRUPT',
        `dist/artifacts/${manifest.file} does not match its recorded sha256.`,
        `Run nx run ${project.name}:deploy again (it packages the project first).`,
      );
    }
    return body;
  };
  const result = await deployProject({
    store: storeOf(deps, biome),
    config,
    biome,
    manifest,
    readBody,
    now: deps.now(),
    deployedBy: await deployerName(deps),
    ciJobUrl: ciJobUrl(deps.env),
    allowDirty: !!options.allowDirty,
    dryRun: !!options.dryRun,
  });
  deps.log(describeDeploy(result, biome.name));
  await recordRunOutcome(context.root, deps.env, { ...result, biome: biome.name }, plannedDeploysOf(context));
  return result;
}

export default async function deployExecutor(
  options: DeployExecutorSchema,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  return runExecutor(`deploy ${context.projectName}`, async () => {
    await packageAndDeploy(options, context);
  });
}
