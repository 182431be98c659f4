import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
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
 * The archive the previous `package` run wrote for this project, when it was
 * made from the same inputs (same digest, same kind) and its file still holds
 * the bytes its manifest names. Re-running deflate would give these very
 * bytes: this is what keeps an unchanged project's package step cheap when a
 * new commit touches other projects.
 */
export async function reusableArchive(previous: unknown, artifactsFolder: string, kind: ProjectKind, inputDigest: string): Promise<{ body: Buffer; sha256: string } | undefined> {
  const m = previous as { kind?: unknown; file?: unknown; sha256?: unknown; inputDigest?: unknown } | undefined;
  if (!m || m.kind !== kind || m.inputDigest !== inputDigest || typeof m.file !== 'string' || typeof m.sha256 !== 'string' || m.file.includes('/')) return undefined;
  const body = await readFile(join(artifactsFolder, m.file)).catch(() => undefined);
  if (!body || sha256Hex(body) !== m.sha256) return undefined;
  return { body, sha256: m.sha256 };
}
