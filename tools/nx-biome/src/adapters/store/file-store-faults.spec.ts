import { existsSync } from 'node:fs';
import * as realFs from 'node:fs/promises';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WriteFs, writeFileAtomic } from '../workspace';
import { createFileStore } from './file-store';

/*
 * A full disk and a read-only file system, injected through the adapters'
 * file-system parameter (root ignores file modes, and a real small or
 * read-only mount needs privileges CI does not have). The disk-full error is
 * the kernel's own: the failing write goes to /dev/full after the temporary
 * file was created and half written, which is what a write that runs out of
 * space leaves behind.
 */

/** ENOSPC from the kernel (a write to /dev/full), or the same error built by hand where /dev/full does not exist. */
async function enospc(): Promise<NodeJS.ErrnoException> {
  if (existsSync('/dev/full')) {
    const e = await realFs.writeFile('/dev/full', 'x').then(
      () => undefined,
      (err: NodeJS.ErrnoException) => err,
    );
    if (e?.code === 'ENOSPC') return e;
  }
  return Object.assign(new Error('ENOSPC: no space left on device, write'), {
    code: 'ENOSPC',
    errno: -28,
    syscall: 'write',
  });
}

const erofs = (path: string, syscall: string) =>
  Object.assign(new Error(`EROFS: read-only file system, ${syscall} '${path}'`), {
    code: 'EROFS',
    errno: -30,
    syscall,
    path,
  });

/** A disk that fills up: a write creates its file, writes half of the bytes, then fails with ENOSPC. */
function fullDisk(): WriteFs {
  return {
    ...realFs,
    async writeFile(path, body) {
      const bytes = Buffer.from(body as string | Buffer);
      await realFs.writeFile(path, bytes.subarray(0, bytes.length >> 1));
      throw await enospc();
    },
  };
}

/** A file system mounted read-only: every change fails with EROFS. */
function readOnly(): WriteFs {
  return {
    ...realFs,
    mkdir: async (path) => Promise.reject(erofs(String(path), 'mkdir')),
    writeFile: async (path) => Promise.reject(erofs(String(path), 'open')),
    rename: async (from) => Promise.reject(erofs(String(from), 'rename')),
    link: async (from) => Promise.reject(erofs(String(from), 'link')),
    unlink: async (path) => Promise.reject(erofs(String(path), 'unlink')),
    rm: async (path) => Promise.reject(erofs(String(path), 'rm')),
  };
}

async function allFiles(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'disk-faults-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('file store on a full disk', () => {
  it.each([
    ['a new write-once artifact', 'artifacts/a/a-1.zip', { ifAbsent: true, metadata: { sha256: 'x' } }],
    ['an overwritten ledger record', 'biomes/dev-x/ledger/a.json', {}],
  ])('%s: DISK_FULL naming the path and the fix, no temp file, the old object intact', async (_label, key, options) => {
    const dir = join(root, `full-${key.replace(/\W/g, '-')}`);
    await createFileStore(dir).put('biomes/dev-x/ledger/a.json', Buffer.from('{"v":1}'));
    const before = await allFiles(dir);
    const error = await createFileStore(dir, fullDisk())
      .put(key, Buffer.alloc(4096, 1), options)
      .then(
        () => undefined,
        (e) => e,
      );
    expect(error?.code, String(error?.stack)).toBe('DISK_FULL');
    // The object, or its metadata file .meta/<key>.json (written first).
    expect(error.message).toContain(dir);
    expect(error.message).toContain(key);
    expect(error.message).toContain('ENOSPC');
    expect(error.hint).toMatch(/free space/i);
    expect(error.hint).toContain('BIOME_STORE');
    expect(await allFiles(dir)).toEqual(before);
    expect(await readFile(join(dir, 'biomes/dev-x/ledger/a.json'), 'utf8')).toBe('{"v":1}');
  });

  it('writeFileAtomic in the workspace (dist/artifacts): DISK_FULL, no temp file, the previous file intact', async () => {
    const dir = join(root, 'dist-full');
    await writeFileAtomic(join(dir, 'x.zip'), 'old bytes');
    const error = await writeFileAtomic(join(dir, 'x.zip'), Buffer.alloc(4096, 2), { fs: fullDisk() }).then(
      () => undefined,
      (e) => e,
    );
    expect(error?.code).toBe('DISK_FULL');
    expect(error.message).toContain(join(dir, 'x.zip'));
    expect(error.hint).toMatch(/free space/i);
    expect(await allFiles(dir)).toEqual(['x.zip']);
    expect(await readFile(join(dir, 'x.zip'), 'utf8')).toBe('old bytes');
  });

  it('other errors keep their own code (a bug is not reported as a full disk)', async () => {
    const dir = join(root, 'other');
    const broken: WriteFs = {
      ...realFs,
      rename: async () => Promise.reject(Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' })),
    };
    const error = await writeFileAtomic(join(dir, 'f'), 'x', { fs: broken }).then(
      () => undefined,
      (e) => e,
    );
    expect(error?.code).toBe('EIO');
    expect(await allFiles(dir)).toEqual([]);
  });
});

describe('file store on a read-only file system', () => {
  it('put, in both modes, and delete: DISK_READ_ONLY naming the path and the fix', async () => {
    const dir = join(root, 'ro');
    await createFileStore(dir).put('biomes/dev-x/ledger/a.json', Buffer.from('{"v":1}'));
    const before = await allFiles(dir);
    const store = createFileStore(dir, readOnly());
    for (const write of [
      () => store.put('artifacts/a/a-1.zip', Buffer.from('z'), { ifAbsent: true }),
      () => store.put('biomes/dev-x/ledger/a.json', Buffer.from('{}')),
      () => store.delete(['biomes/dev-x/ledger/a.json']),
    ]) {
      const error = await write().then(
        () => undefined,
        (e) => e,
      );
      expect(error?.code, String(error?.stack)).toBe('DISK_READ_ONLY');
      expect(error.message).toMatch(/read-only file system \(EROFS\)/);
      expect(error.message).toContain(dir);
      expect(error.hint).toMatch(/read-write|BIOME_STORE/);
    }
    expect(await allFiles(dir)).toEqual(before);
    // Reading still works on a read-only store.
    expect((await store.get('biomes/dev-x/ledger/a.json'))?.toString()).toBe('{"v":1}');
  });
});
