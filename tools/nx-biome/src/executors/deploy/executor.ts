import type { ExecutorContext } from '@nx/devkit';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parsePackageManifest } from '../../core/artifact';
import { BiomeError } from '../../core/errors';
import { checkAwsNameBudget, parseBiomeName } from '../../core/names';
import { sha256Hex } from '../../adapters/archive';
import { loadWorkspaceConfig, readJsonFile } from '../../adapters/workspace';
import { ciJobUrl, Deps, deployerName, realDeps, storeOf } from '../../operations/context';
import { deployProject, DeployResult } from '../../operations/deploy';
import { recordRunOutcome } from '../../operations/deploy-run';
import { plannedDeploys } from '../../core/deploy-run';
import { artifactsDir, manifestPath } from '../package/executor';
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

/** Deploys the packaged project to `--biome`. */
export async function deployExecutorWith(
  options: DeployExecutorSchema,
  context: ExecutorContext,
  makeDeps?: (config: Awaited<ReturnType<typeof loadWorkspaceConfig>>) => Deps,
): Promise<DeployResult> {
  const project = currentProject(context);
  const config = await loadWorkspaceConfig(context.root);
  const biome = parseBiomeName(requireBiomeOption(options.biome), config);
  const deps = makeDeps ? makeDeps(config) : realDeps(context.root, config);
  const path = manifestPath(context.root, project.name);
  const raw = await readJsonFile(path);
  if (!raw)
    throw new BiomeError(
      'BUILD_OUTPUT_MISSING',
      `${project.name} has no package manifest.`,
      `Run nx run ${project.name}:package first (deploy depends on it).`,
    );
  const manifest = parsePackageManifest(raw, path);
  if (manifest.project !== project.name)
    throw new BiomeError(
      'ARTIFACT_CORRUPT',
      `${path} belongs to ${manifest.project}, not ${project.name}.`,
      `Run nx run ${project.name}:package again.`,
    );
  checkAwsNameBudget(config, biome, [{ name: project.name, kind: manifest.kind }]);
  const file = join(artifactsDir(context.root), manifest.file);
  // Read only when bytes must go to the store: an unchanged project never touches its archive.
  const readBody = async () => {
    const body = await readFile(file).catch(() => {
      throw new BiomeError(
        'ARTIFACT_MISSING',
        `dist/artifacts/${manifest.file} is missing.`,
        `Run nx run ${project.name}:package again.`,
      );
    });
    if (sha256Hex(body) !== manifest.sha256) {
      throw new BiomeError(
        'ARTIFACT_CORRUPT',
        `dist/artifacts/${manifest.file} does not match its recorded sha256.`,
        `Run nx run ${project.name}:package again.`,
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
  await recordRunOutcome(
    context.root,
    deps.env,
    { ...result, biome: biome.name },
    plannedDeploys(context.taskGraph?.tasks, context.projectsConfigurations?.projects),
  );
  return result;
}

export default async function deployExecutor(
  options: DeployExecutorSchema,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  return runExecutor(`deploy ${context.projectName}`, async () => {
    await deployExecutorWith(options, context);
  });
}
