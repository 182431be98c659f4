import { createHash } from 'node:crypto';
import { readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFLATE_LEVEL, ArchiveInput, sha256Hex } from '../adapters/archive';
import { archiveMode } from '../core/package-files';
import { ProjectKind } from '../core/names';

/**
 * Digest of everything an archive's bytes depend on: format, deflate level,
 * and each entry's path, mode and content. Two inputs with the same digest
 * give the same archive bytes (archives are reproducible), whatever the commit.
 */
export async function archiveInputDigest(input: ArchiveInput, format: 'zip' | 'tar.gz'): Promise<string> {
  const h = createHash('sha256').update(`nx-biome-archive-v1\0${format}\0${DEFLATE_LEVEL}\0`);
  const entries = [...input.entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const e of entries) {
    const body = await input.read(e.path);
    h.update(`${e.path}\0${archiveMode(e).toString(8)}\0${body.length}\0`).update(body);
  }
  return h.digest('hex');
}

/**
 * A key for the archive of a project's build output that needs no reading of
 * it: the Nx hashes of the tasks the package task depends on (its build),
 * with the archive format and deflate level. Nx restores a cached build's
 * outputs from the cache entry of that hash, so the same key means the same
 * build output (Nx's own cache contract; our builds are reproducible, so a
 * build that ran again gives these bytes too). Undefined when Nx gave no
 * hash for a dependency (outside a task graph): the caller then reads and
 * hashes the output (archiveInputDigest).
 */
export function buildOutputKey(
  taskGraph: { tasks: Record<string, { hash?: string }>; dependencies: Record<string, string[]> } | undefined,
  taskId: string,
  format: 'zip' | 'tar.gz',
): string | undefined {
  const deps = taskGraph?.dependencies?.[taskId];
  if (!deps || deps.length === 0) return undefined;
  const parts: string[] = [];
  for (const id of [...deps].sort()) {
    const hash = taskGraph!.tasks[id]?.hash;
    if (!hash) return undefined;
    parts.push(`${id}=${hash}`);
  }
  return createHash('sha256')
    .update(`nx-biome-build-key-v1\0${format}\0${DEFLATE_LEVEL}\0${parts.join('\0')}`)
    .digest('hex');
}

/**
 * The file-system identity of an archive file as `package` left it (size,
 * modification time, inode). A file that still has it was not rewritten
 * since: `package` trusts its recorded sha256 without reading it again.
 * Renaming keeps it. If another program rewrote the file with the same size
 * within the same clock tick, the archive's bytes are still checked against
 * the manifest's sha256 by `deploy` before anything is uploaded.
 */
export type ArchiveStamp = string;

export async function archiveStamp(path: string): Promise<ArchiveStamp | undefined> {
  const s = await stat(path, { bigint: true }).catch(() => undefined);
  return s?.isFile() ? `${s.size}:${s.mtimeNs}:${s.ino}` : undefined;
}

/** A previous archive that stands for this run's: its file in the artifacts folder, sha256 and size. */
export interface ReusableArchive {
  file: string;
  sha256: string;
  size: number;
  /** The bytes, when they had to be read to be checked (no matching stamp). */
  body?: Buffer;
}

/**
 * The archive the previous `package` run wrote for this project, when it was
 * made from the same inputs (same digest, same kind) and its file still holds
 * the bytes its manifest names: known without reading it when the file still
 * has the stamp the manifest recorded, else read and its sha256 checked.
 * Re-running deflate would give these very bytes: this is what keeps an
 * unchanged project's package step cheap when a new commit touches other
 * projects.
 */
export async function reusableArchive(
  previous: unknown,
  artifactsFolder: string,
  kind: ProjectKind,
  inputDigest: string,
  options: { stampOnly?: boolean } = {},
): Promise<ReusableArchive | undefined> {
  const m = previous as
    | {
        kind?: unknown;
        file?: unknown;
        sha256?: unknown;
        size?: unknown;
        inputDigest?: unknown;
        archiveStamp?: unknown;
      }
    | undefined;
  if (
    !m ||
    m.kind !== kind ||
    m.inputDigest !== inputDigest ||
    typeof m.file !== 'string' ||
    typeof m.sha256 !== 'string' ||
    m.file.includes('/')
  )
    return undefined;
  const path = join(artifactsFolder, m.file);
  if (
    typeof m.archiveStamp === 'string' &&
    typeof m.size === 'number' &&
    m.archiveStamp.startsWith(`${m.size}:`) &&
    (await archiveStamp(path)) === m.archiveStamp
  ) {
    return { file: m.file, sha256: m.sha256, size: m.size };
  }
  if (options.stampOnly) return undefined;
  const body = await readFile(path).catch(() => undefined);
  if (!body || sha256Hex(body) !== m.sha256) return undefined;
  return { file: m.file, sha256: m.sha256, size: body.length, body };
}

/**
 * Puts a reused archive under this run's file name: nothing to do when the
 * name is the same (same commit), else a rename (the bytes are not read or
 * written again). Its `.sha256` file is written by the caller.
 */
export async function placeReusedArchive(
  artifactsFolder: string,
  reused: ReusableArchive,
  file: string,
): Promise<void> {
  if (reused.file === file) return;
  await rename(join(artifactsFolder, reused.file), join(artifactsFolder, file));
  await rm(join(artifactsFolder, `${reused.file}.sha256`), { force: true });
}

/**
 * Lists the artifacts folder once for a batch of package tasks, instead of
 * once per project (a listing of 3 files per project, per project, grows with
 * the square of the workspace). The names a task removes or writes are its
 * own project's, which no other task of the batch touches.
 */
export function batchArtifactListing(): (dir: string) => Promise<string[]> {
  const listings = new Map<string, Promise<string[]>>();
  return (dir) => {
    let listing = listings.get(dir);
    if (!listing) listings.set(dir, (listing = readdir(dir).catch(() => [] as string[])));
    return listing;
  };
}
