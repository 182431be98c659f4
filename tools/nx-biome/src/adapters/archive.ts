import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { BiomeError } from '../core/errors';
import { ARCHIVE_DATE, archiveMode, isNeverPackaged, PackageEntry, planArchiveEntries } from '../core/package-files';

/** Fixed deflate level: part of the byte-for-byte contract. */
export const DEFLATE_LEVEL = 6;

export interface ArchiveInput {
  entries: PackageEntry[];
  read(path: string): Promise<Buffer>;
}

/**
 * Walks a build output folder. Secret-bearing files (.env, .npmrc, ...) are
 * skipped; a symlink is followed only when it stays inside the folder.
 */
export async function collectFolder(root: string): Promise<ArchiveInput & { skipped: string[] }> {
  let rootReal: string;
  try {
    rootReal = await realpath(root);
  } catch {
    throw new BiomeError('BUILD_OUTPUT_MISSING', `Build output ${root} does not exist.`, 'Run the build target first (nx run <project>:build).');
  }
  const entries: PackageEntry[] = [];
  const skipped: string[] = [];
  const files = new Map<string, string>();
  async function walk(dir: string): Promise<void> {
    for (const name of (await readdir(dir)).sort()) {
      const full = join(dir, name);
      const rel = relative(rootReal, full).split(sep).join('/');
      if (isNeverPackaged(name)) {
        skipped.push(rel);
        continue;
      }
      let info = await lstat(full);
      let target = full;
      if (info.isSymbolicLink()) {
        const real = await realpath(full).catch(() => undefined);
        if (!real || (real !== rootReal && !real.startsWith(rootReal + sep))) {
          throw new BiomeError('PACKAGE_INPUT_INVALID', `${root}: symlink "${rel}" points outside the project (${real ?? 'broken link'}).`, 'Replace the symlink with the file itself, or remove it.');
        }
        target = real;
        info = await stat(real);
      }
      if (info.isDirectory()) await walk(target === full ? full : target);
      else if (info.isFile()) {
        entries.push({ path: rel, executable: (info.mode & 0o111) !== 0 });
        files.set(rel, target);
      }
    }
  }
  await walk(rootReal);
  return { entries, skipped, read: (p) => readFile(files.get(p) ?? join(rootReal, p)) };
}

/** Builds a reproducible archive in memory and returns it with its sha256. */
export async function createArchive(input: ArchiveInput, format: 'zip' | 'tar.gz', source: string): Promise<{ body: Buffer; sha256: string }> {
  const entries = planArchiveEntries(input.entries, source);
  // archiver is ESM-only and heavy: load it only when something is packaged.
  const { ZipArchive, TarArchive } = await import('archiver');
  const archive =
    format === 'zip'
      ? new ZipArchive({ zlib: { level: DEFLATE_LEVEL }, forceLocalTime: false })
      : new TarArchive({ gzip: true, gzipOptions: { level: DEFLATE_LEVEL } });
  const chunks: Buffer[] = [];
  archive.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    archive.on('end', () => resolve());
    archive.on('error', reject);
  });
  for (const e of entries) {
    archive.append(await input.read(e.path), { name: e.path, date: ARCHIVE_DATE, mode: archiveMode(e) });
  }
  await archive.finalize();
  await done;
  const body = Buffer.concat(chunks);
  return { body, sha256: createHash('sha256').update(body).digest('hex') };
}

/** Hex sha256 of a buffer. */
export function sha256Hex(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}
