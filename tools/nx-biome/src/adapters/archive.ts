import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { BiomeError } from '../core/errors';
import {
  ARCHIVE_DATE,
  archiveMode,
  assertPackagePolicy,
  contentRule,
  isOmitted,
  looksLikeGitDir,
  PackageEntry,
  PackageViolation,
  pathRule,
  planArchiveEntries,
} from '../core/package-files';

/** Fixed deflate level: part of the byte-for-byte contract. */
export const DEFLATE_LEVEL = 6;

export interface ArchiveInput {
  entries: PackageEntry[];
  read(path: string): Promise<Buffer>;
}

/**
 * Walks a folder that is to be packaged (or copied into a build output) and
 * applies the packaging content policy (core/package-files.ts) to every entry:
 * symlinks are refused, never followed; so are special files, git metadata,
 * credential files by name and files holding credentials. Every refused file
 * is named in one PACKAGE_INPUT_INVALID error. OS junk (.DS_Store) is left
 * out and listed in `skipped`.
 */
export async function collectFolder(root: string, label = root): Promise<ArchiveInput & { skipped: string[] }> {
  let rootReal: string;
  try {
    rootReal = await realpath(root);
  } catch {
    throw new BiomeError(
      'BUILD_OUTPUT_MISSING',
      `Build output ${root} does not exist.`,
      'Run the build target first (nx run <project>:build).',
    );
  }
  const entries: PackageEntry[] = [];
  const skipped: string[] = [];
  const violations: PackageViolation[] = [];
  async function symlinkDetail(full: string): Promise<string> {
    const real = await realpath(full).catch(() => undefined);
    if (!real || (real !== rootReal && !real.startsWith(rootReal + sep)))
      return `points outside the project (${real ?? 'broken link'})`;
    return `points to ${await readlink(full)} inside the folder`;
  }
  async function walk(dir: string, relDir: string): Promise<void> {
    const children = (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    if (looksLikeGitDir(children.map((c) => ({ name: c.name, dir: c.isDirectory() })))) {
      violations.push({ path: relDir || '.', rule: 'git-metadata', detail: 'a git directory (HEAD, objects/, refs/)' });
      return;
    }
    for (const child of children) {
      const full = join(dir, child.name);
      const rel = relDir ? `${relDir}/${child.name}` : child.name;
      const info = await lstat(full);
      if (info.isSymbolicLink()) violations.push({ path: rel, rule: 'symlink', detail: await symlinkDetail(full) });
      else if (info.isDirectory()) {
        const rule = pathRule(rel, 'dir');
        if (rule) violations.push({ path: rel, rule });
        else await walk(full, rel);
      } else if (info.isFile()) {
        if (isOmitted(rel)) {
          skipped.push(rel);
          continue;
        }
        const rule = pathRule(rel, 'file') ?? contentRule(await readFile(full));
        if (rule) violations.push({ path: rel, rule });
        else entries.push({ path: rel, executable: (info.mode & 0o111) !== 0, size: info.size });
      } else violations.push({ path: rel, rule: 'special-file' });
    }
  }
  await walk(rootReal, '');
  assertPackagePolicy(label, violations);
  return { entries, skipped, read: (p) => readFile(join(rootReal, ...p.split('/'))) };
}

/** Builds a reproducible archive in memory and returns it with its sha256. */
export async function createArchive(
  input: ArchiveInput,
  format: 'zip' | 'tar.gz',
  source: string,
): Promise<{ body: Buffer; sha256: string }> {
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
