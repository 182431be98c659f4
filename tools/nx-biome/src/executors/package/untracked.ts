import type { ExecutorContext } from '@nx/devkit';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { assertPackagePolicy, untrackedCandidates, untrackedViolations } from '../../core/package-files';
import { ArchiveInput } from '../../adapters/archive';
import { GitPort } from '../../adapters/git';
import { inputRootsOf } from '../../operations/dirty-check';

/** Folders a build target copies files from (model-build's modelDir/codeDir, esbuild's assets), workspace-relative. */
export function buildSourceFolders(options: Record<string, unknown> | undefined): string[] {
  const folders: string[] = [];
  for (const key of ['modelDir', 'codeDir'])
    if (typeof options?.[key] === 'string') folders.push(options[key] as string);
  for (const asset of Array.isArray(options?.assets) ? options.assets : []) {
    const path = typeof asset === 'string' ? asset : typeof asset?.input === 'string' ? asset.input : undefined;
    // A string asset may be a glob: its folder is the one holding the first wildcard.
    const wildcard = path?.search(/[*?[{]/) ?? -1;
    const folder = (wildcard >= 0 ? path!.slice(0, path!.lastIndexOf('/', wildcard) + 1) : path)?.replace(/\/+$/, '');
    if (folder && folder !== '.' && !folder.startsWith('..')) folders.push(folder);
  }
  return folders;
}

/**
 * Refuses build output files that are byte-for-byte copies of source files
 * git does not track (ignored or never added), unless the project opts their
 * path in. Untracked files the dirty check already accepted (`--allow-dirty`,
 * listed in `acceptedDirty`, artifact labelled dirty) pass. Looks at the
 * project's input folders and the folders any of its targets copies from.
 */
export async function refuseUntrackedCopies(input: {
  context: ExecutorContext;
  project: { name: string; root: string };
  buildOutput: string;
  folder: ArchiveInput;
  git: GitPort;
  acceptedDirty: string[];
  allowUntracked: string[];
}): Promise<void> {
  const { context, project, folder } = input;
  const roots = [
    ...new Set([
      ...inputRootsOf(context.projectGraph, [project.name]),
      project.root,
      // Every target's, not only one called `build`: the build target's name is a plugin option, and looking
      // at more folders than the build copies from can only find more untracked copies, never fewer.
      ...Object.values(context.projectsConfigurations?.projects[project.name]?.targets ?? {}).flatMap((t) =>
        buildSourceFolders(t?.options),
      ),
    ]),
  ].sort();
  const output = input.buildOutput.replace(/\/+$/, '');
  const accepted = new Set(input.acceptedDirty);
  const untracked = (await input.git.untrackedFiles(roots)).filter(
    (f) => !accepted.has(f) && f !== output && !f.startsWith(`${output}/`),
  );
  if (untracked.length === 0) return;
  const sized = (
    await Promise.all(
      untracked.map(async (path) => ({
        path,
        size: (await stat(join(context.root, path)).catch(() => undefined))?.size ?? -1,
      })),
    )
  ).filter((f) => f.size >= 0);
  const copies = [];
  for (const c of untrackedCandidates(
    folder.entries.map((e) => ({ path: e.path, size: e.size ?? -1 })),
    sized,
  )) {
    if ((await folder.read(c.path)).equals(await readFile(join(context.root, c.source)))) copies.push(c);
  }
  assertPackagePolicy(input.buildOutput, untrackedViolations(copies, project.root, input.allowUntracked));
}
