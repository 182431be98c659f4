import type { ExecutorContext } from '@nx/devkit';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { archiveExtension, artifactFileName, PackageManifest } from '../../core/artifact';
import { parseAllowUntracked } from '../../core/package-files';
import { WorkspaceConfig } from '../../core/config';
import { BiomeError } from '../../core/errors';
import { checkAwsNameBudget, parseBiomeName, ProjectKind, validateProjectName } from '../../core/names';
import { collectFolder, createArchive } from '../../adapters/archive';
import { createGit, GitPort } from '../../adapters/git';
import { loadWorkspaceConfig, readJsonFile, writeFileAtomic } from '../../adapters/workspace';
import { dirtyTreeError, inputRootsOf } from '../../operations/dirty-check';
import {
  archiveInputDigest,
  archiveStamp,
  buildOutputKey,
  placeReusedArchive,
  reusableArchive,
} from '../../operations/package-reuse';
import { currentProject, formatBytes, runExecutor } from '../run';
import type { PackageExecutorSchema } from './schema';
import { refuseUntrackedCopies } from './untracked';

/** Where package writes, and deploy reads, a project's artifact and manifest. */
export const artifactsDir = (workspaceRoot: string) => join(workspaceRoot, 'dist', 'artifacts');
export const manifestPath = (workspaceRoot: string, project: string) =>
  join(artifactsDir(workspaceRoot), `${project}.manifest.json`);

/** Settings that come from the build output rather than from project.json. */
async function settingsFromBuild(
  kind: ProjectKind,
  buildOutput: string,
  settings: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  if (kind !== 'workflow') return settings;
  const path = join(buildOutput, 'definition.asl.json');
  const definition = await readFile(path, 'utf8').catch(() => {
    throw new BiomeError('BUILD_OUTPUT_MISSING', `${path} is missing.`, 'Run the workflow build target first.');
  });
  return { ...settings, definition };
}

/**
 * The id Nx gives the running task (`<project>:<target>[:<configuration>]`): a package task, or the deploy
 * task that packages first. Either depends on the project's build, so both give the same build key.
 */
function taskIdOf(context: ExecutorContext, project: string): string {
  return [
    project,
    context.targetName ?? 'package',
    ...(context.configurationName ? [context.configurationName] : []),
  ].join(':');
}

/**
 * Packages a project's build output into a reproducible archive
 * `dist/artifacts/<name>-<sha>.<ext>` plus `.sha256` and a manifest. When the
 * build output is the same as for the previous package run, the previous
 * archive's bytes are reused (they are what deflate would give again).
 */
export async function packageProject(
  options: PackageExecutorSchema,
  context: ExecutorContext,
  git: GitPort = createGit(context.root),
  log: (line: string) => void = (line) => console.log(line),
  listArtifacts: (dir: string) => Promise<string[]> = (dir) => readdir(dir).catch(() => [] as string[]),
  /** nx-biome.json as a batch already read it (read here when absent). */
  workspaceConfig?: WorkspaceConfig,
): Promise<PackageManifest> {
  const project = currentProject(context);
  validateProjectName(project.name);
  const kind = options.kind;
  const config = workspaceConfig ?? (await loadWorkspaceConfig(context.root));
  if (options.biome !== undefined) {
    // Passed by deploy: a bad biome or an AWS name over budget fails here, before anything is written.
    checkAwsNameBudget(config, parseBiomeName(String(options.biome), config), [{ name: project.name, kind }]);
  }
  const sha = await git.headSha();
  const dirtyFiles = await git.dirtyFiles(inputRootsOf(context.projectGraph, [project.name]));
  if (dirtyFiles.length > 0 && !options.allowDirty) throw dirtyTreeError(project.name, dirtyFiles);
  const allowUntracked = parseAllowUntracked(options.allowUntracked, project.name);
  const buildOutputPath = options.buildOutput ?? join('dist', project.root);
  const buildOutput = join(context.root, buildOutputPath);
  const format = archiveExtension(kind) === 'zip' ? 'zip' : 'tar.gz';
  const dir = artifactsDir(context.root);
  const previous = (await readJsonFile(manifestPath(context.root, project.name)).catch(() => undefined)) as
    { buildKey?: unknown; inputDigest?: unknown; archiveStamp?: unknown } | undefined;
  // The same build (by Nx's hash) as the archive on disk, which still has its stamp: its bytes stand, nothing is read.
  const buildKey = buildOutputKey(context.taskGraph, taskIdOf(context, project.name), format);
  const byBuild =
    buildKey && previous?.buildKey === buildKey && typeof previous.inputDigest === 'string'
      ? await reusableArchive(previous, dir, kind, previous.inputDigest, { stampOnly: true })
      : undefined;
  let input: Awaited<ReturnType<typeof collectFolder>> | undefined;
  let inputDigest: string;
  let reused = byBuild;
  if (byBuild) inputDigest = previous!.inputDigest as string;
  else {
    // The content policy applies to the final folder, after the build copied its assets.
    input = await collectFolder(buildOutput, buildOutputPath);
    await refuseUntrackedCopies({
      context,
      project,
      buildOutput: buildOutputPath,
      folder: input,
      git,
      acceptedDirty: dirtyFiles,
      allowUntracked,
    });
    inputDigest = await archiveInputDigest(input, format);
    reused = await reusableArchive(previous, dir, kind, inputDigest);
  }
  const made = reused ? undefined : await createArchive(input!, format, buildOutput);
  const sha256 = reused?.sha256 ?? made!.sha256;
  const size = reused?.size ?? made!.body.length;
  const dirty = dirtyFiles.length > 0;
  const file = artifactFileName(project.name, sha, kind, dirty, sha256);
  // inputDigest lets the next run reuse these bytes when the build output has not changed.
  const manifest: PackageManifest & { inputDigest: string; buildKey?: string; archiveStamp?: string } = {
    project: project.name,
    kind,
    file,
    sha256,
    size,
    gitSha: sha,
    dirty,
    dirtyFiles,
    settings: await settingsFromBuild(kind, buildOutput, options.settings ?? {}),
    inputDigest,
    ...(buildKey ? { buildKey } : {}),
  };
  // Older artifacts of this project are build leftovers: keep dist/ to the current one.
  const ours = new RegExp(`^${project.name}-[0-9a-f]{40}(-dirty-[0-9a-f]{12})?\\.(zip|tar\\.gz)(\\.sha256)?$`);
  // A reused archive is renamed (or left where it is), not read and written again.
  if (reused) await placeReusedArchive(dir, reused, file);
  const listed = await listArtifacts(dir);
  for (const old of listed) {
    if (ours.test(old) && old !== file && old !== `${file}.sha256`) await rm(join(dir, old), { force: true });
  }
  if (made) await writeFileAtomic(join(dir, file), made.body);
  // The archive left where it was, untouched since (same stamp), and the same manifest: nothing to write again
  // (a deploy with nothing changed rewrote two files per project for the same bytes).
  const stamp = typeof previous?.archiveStamp === 'string' ? previous.archiveStamp : undefined;
  manifest.archiveStamp = stamp;
  const same =
    !!reused &&
    !reused.body &&
    reused.file === file &&
    listed.includes(`${file}.sha256`) &&
    JSON.stringify(manifest) === JSON.stringify(previous) &&
    (await archiveStamp(join(dir, file))) === stamp;
  if (!same) {
    await writeFileAtomic(join(dir, `${file}.sha256`), `${sha256}  ${file}\n`);
    manifest.archiveStamp = await archiveStamp(join(dir, file));
    await writeFileAtomic(manifestPath(context.root, project.name), `${JSON.stringify(manifest, null, 2)}\n`);
  }
  const skipped = input?.skipped.length ? ` (left out: ${input.skipped.join(', ')})` : '';
  log(
    `packaged ${project.name}: ${file} ${formatBytes(size)} sha256 ${sha256.slice(0, 12)}${dirty ? ' DIRTY' : ''}${skipped}`,
  );
  return manifest;
}

export default async function packageExecutor(
  options: PackageExecutorSchema,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  return runExecutor(`package ${context.projectName}`, async () => {
    await packageProject(options, context);
  });
}
