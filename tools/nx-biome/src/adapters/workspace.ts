import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { BiomeError } from '../core/errors';
import { parseWorkspaceConfig, WorkspaceConfig, WORKSPACE_CONFIG_FILE } from '../core/config';

/** Reads and validates `nx-biome.json` at the workspace root. */
export async function loadWorkspaceConfig(workspaceRoot: string): Promise<WorkspaceConfig> {
  const path = join(workspaceRoot, WORKSPACE_CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new BiomeError(
      'CONFIG_INVALID',
      `${WORKSPACE_CONFIG_FILE} not found at ${workspaceRoot}.`,
      'Create it (see docs/configuration.md) at the workspace root.',
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new BiomeError(
      'CONFIG_INVALID',
      `${WORKSPACE_CONFIG_FILE} is not valid JSON: ${(e as Error).message}`,
      'Fix the JSON syntax.',
    );
  }
  return parseWorkspaceConfig(raw);
}

/** The file-system calls that write: node:fs/promises by default, a faulty one in tests. */
export type WriteFs = Pick<typeof fsp, 'mkdir' | 'writeFile' | 'rename' | 'link' | 'unlink' | 'rm'>;

const SPACE = new Set(['ENOSPC', 'EDQUOT']);
const NOT_WRITABLE: Record<string, string> = {
  EROFS: 'is on a read-only file system',
  EACCES: 'is not writable (permission denied)',
  EPERM: 'is not writable (operation not permitted)',
};

/**
 * The user error for a write the file system refused for lack of space or of
 * write access (DISK_FULL, DISK_READ_ONLY), naming the path and the fix;
 * undefined for any other error, which stays an internal error.
 */
export function diskError(e: unknown, path: string, where = 'the workspace'): BiomeError | undefined {
  const code = (e as NodeJS.ErrnoException)?.code ?? '';
  const elsewhere =
    where === 'the workspace'
      ? ''
      : ', or point BIOME_STORE (or BIOME_STORE_<ENV>) at another folder or an s3:// bucket';
  if (SPACE.has(code)) {
    return new BiomeError(
      'DISK_FULL',
      `Cannot write ${path}: no space left on the device (${code}). Nothing was half-written: the temporary file was removed.`,
      `Free space on the volume holding ${where} (df -h ${dirname(path)})${elsewhere}, then re-run.`,
    );
  }
  if (NOT_WRITABLE[code]) {
    return new BiomeError(
      'DISK_READ_ONLY',
      `Cannot write ${path}: it ${NOT_WRITABLE[code]} (${code}).`,
      `Make ${where} writable (remount it read-write, or fix its owner)${elsewhere}, then re-run.`,
    );
  }
  return undefined;
}

/**
 * Writes a file through a temporary file and a rename: readers never see half
 * of it. With `exclusive`, the file is linked into place only when absent
 * (false when it exists). A failed write leaves no temporary file; a full or
 * read-only disk is a DISK_FULL / DISK_READ_ONLY user error.
 */
export async function writeFileAtomic(
  path: string,
  body: string | Buffer,
  options: { exclusive?: boolean; fs?: WriteFs; where?: string } = {},
): Promise<boolean> {
  const fs = options.fs ?? fsp;
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  let placed = false;
  try {
    await fs.mkdir(dirname(path), { recursive: true });
    await fs.writeFile(tmp, body);
    if (!options.exclusive) {
      await fs.rename(tmp, path);
      placed = true;
      return true;
    }
    try {
      await fs.link(tmp, path);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
  } catch (e) {
    throw diskError(e, path, options.where) ?? e;
  } finally {
    // After a link (or a failure) the temporary name is still there: remove it.
    if (!placed) await fs.unlink(tmp).catch(() => undefined);
  }
}

/**
 * Resolves an output file option against the workspace root; a path that
 * leaves the workspace is refused (CI scripts pass these from variables).
 */
export function workspaceOutputPath(workspaceRoot: string, option: string, value: string): string {
  const target = resolve(workspaceRoot, value);
  const inside = relative(workspaceRoot, target);
  if (!inside || inside.startsWith('..') || resolve(workspaceRoot, inside) !== target) {
    throw new BiomeError(
      'OPTIONS_INVALID',
      `--${option}=${value} is outside the workspace.`,
      `Give a path inside the workspace, e.g. --${option}=dist/ci/<file>.`,
    );
  }
  return target;
}

/** Reads a JSON file, or undefined when it does not exist. */
export async function readJsonFile<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

const SKIP_DIRS = new Set(['node_modules', 'dist', '.nx', '.git', 'coverage']);

/** Total bytes of the files below a project folder (what its build reads). */
export async function sourceBytes(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) total += await sourceBytes(join(dir, e.name));
    } else if (e.isFile()) total += (await stat(join(dir, e.name))).size;
  }
  return total;
}
