import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BiomeError } from '../core/errors';
import { parseWorkspaceConfig, WorkspaceConfig, WORKSPACE_CONFIG_FILE } from '../core/config';

/** Reads and validates `nx-biome.json` at the workspace root. */
export async function loadWorkspaceConfig(workspaceRoot: string): Promise<WorkspaceConfig> {
  const path = join(workspaceRoot, WORKSPACE_CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new BiomeError('CONFIG_INVALID', `${WORKSPACE_CONFIG_FILE} not found at ${workspaceRoot}.`, 'Create it (see docs/configuration.md) at the workspace root.');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new BiomeError('CONFIG_INVALID', `${WORKSPACE_CONFIG_FILE} is not valid JSON: ${(e as Error).message}`, 'Fix the JSON syntax.');
  }
  return parseWorkspaceConfig(raw);
}

/** Writes a file through a temporary file and a rename: readers never see half of it. */
export async function writeFileAtomic(path: string, body: string | Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, body);
  await rename(tmp, path);
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
