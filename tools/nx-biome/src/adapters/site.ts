import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/**
 * Writes a static site (relative path → content) into `dir`: first into a
 * sibling folder, then swapped in by renames, so `dir` never holds half of
 * the old site and half of the new one.
 */
export async function writeSite(dir: string, files: Map<string, string>): Promise<void> {
  const target = resolve(dir);
  const staging = `${target}.${process.pid}.tmp`;
  const old = `${target}.${process.pid}.old`;
  await rm(staging, { recursive: true, force: true });
  const folders = new Set([...files.keys()].map((p) => dirname(join(staging, p))));
  for (const folder of folders) await mkdir(folder, { recursive: true });
  // A few writes at a time: thousands of pages must not exhaust file handles.
  const entries = [...files];
  for (let i = 0; i < entries.length; i += 64) {
    await Promise.all(entries.slice(i, i + 64).map(([path, body]) => writeFile(join(staging, path), body)));
  }
  await mkdir(dirname(target), { recursive: true });
  await rm(old, { recursive: true, force: true });
  await rename(target, old).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
  await rename(staging, target);
  await rm(old, { recursive: true, force: true });
}
