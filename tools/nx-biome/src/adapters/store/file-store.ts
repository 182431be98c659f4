import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { Dirent, readdirSync, Stats, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { diskError, WriteFs, writeFileAtomic } from '../workspace';
import { StoredObject, StorePort } from './store';

const META_DIR = '.meta';

/** The folder of a key prefix's folder part inside the store, or undefined when it would leave the store or enter `.meta`. */
function folderOf(base: string, folderKey: string): string | undefined {
  if (!folderKey) return base;
  const dir = resolve(base, folderKey);
  if (!dir.startsWith(base + sep) || folderKey.split('/')[0] === META_DIR) return undefined;
  return dir;
}

/**
 * Every file below a key prefix, sorted by key. The walk starts at the
 * deepest folder the prefix names and stats only the files it returns, with
 * synchronous calls: a listing is thousands of stats, which cost several
 * times the CPU through the thread pool, and it blocks for about a
 * millisecond per hundred files.
 */
function listFiles(base: string, prefix: string): StoredObject[] {
  const start = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
  const root = folderOf(base, start);
  if (!root) return [];
  const out: StoredObject[] = [];
  const walk = (dir: string, folderKey: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const key = folderKey ? `${folderKey}/${e.name}` : e.name;
      if (key === META_DIR || e.name.endsWith('.tmp')) continue;
      const full = join(dir, e.name);
      let isDir = e.isDirectory();
      let info: Stats | undefined;
      if (e.isSymbolicLink()) {
        info = statSync(full, { throwIfNoEntry: false });
        if (!info) continue;
        isDir = info.isDirectory();
      }
      if (isDir) {
        if ((key + '/').startsWith(prefix) || prefix.startsWith(key + '/')) walk(full, key);
      } else if (key.startsWith(prefix)) {
        info ??= statSync(full, { throwIfNoEntry: false });
        if (info?.isFile()) out.push({ key, size: info.size, modified: info.mtime.toISOString() });
      }
    }
  };
  walk(root, start);
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * The embedded local store: a folder with the S3 key layout. Writes go to a
 * temporary file first, then rename (or link, for write-once), so a reader
 * never sees half an object. Metadata lives under `.meta/<key>.json`. A full
 * or read-only disk is a DISK_FULL / DISK_READ_ONLY user error and leaves no
 * temporary file (`fs` is the file system that writes; tests inject faults).
 */
export function createFileStore(root: string, fs: WriteFs = fsp): StorePort {
  const base = resolve(root);
  const pathOf = (key: string) => {
    const p = resolve(base, key);
    if (!p.startsWith(base + sep) || key.split('/').includes(META_DIR))
      throw new Error(`key "${key}" escapes the store`);
    return p;
  };
  const metaOf = (key: string) => join(base, META_DIR, `${key}.json`);

  const where = `the store ${base}`;
  const writeAtomic = (path: string, body: Buffer | string, exclusive: boolean) =>
    writeFileAtomic(path, body, { exclusive, fs, where });

  return {
    url: pathToFileURL(base).href,
    async head(key, options = {}) {
      try {
        const info = await stat(pathOf(key));
        if (!info.isFile()) return undefined;
        const metadata = await readFile(metaOf(key), 'utf8').then(
          (t) => JSON.parse(t) as Record<string, string>,
          () => ({}),
        );
        // A local file is cheap to hash: the store vouches for its bytes, not for its metadata.
        if (options.checksum)
          return {
            key,
            size: info.size,
            metadata,
            sha256: createHash('sha256')
              .update(await readFile(pathOf(key)))
              .digest('hex'),
          };
        return { key, size: info.size, metadata };
      } catch {
        return undefined;
      }
    },
    async get(key) {
      try {
        return await readFile(pathOf(key));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'EISDIR')
          return undefined;
        throw e;
      }
    },
    async put(key, body, options = {}) {
      const path = pathOf(key);
      // Metadata first: an object is never visible without its metadata.
      if (options.metadata) await writeAtomic(metaOf(key), JSON.stringify(options.metadata), false);
      const written = await writeAtomic(path, body, !!options.ifAbsent);
      return written ? 'written' : 'exists';
    },
    async list(prefix) {
      return listFiles(base, prefix);
    },
    async listFolders(prefix) {
      if (prefix && !prefix.endsWith('/')) return [];
      const dir = folderOf(base, prefix.slice(0, -1));
      if (!dir) return [];
      try {
        return readdirSync(dir, { withFileTypes: true })
          .filter((e) => e.isDirectory() && !(prefix === '' && e.name === META_DIR))
          .map((e) => `${prefix}${e.name}/`)
          .sort();
      } catch {
        return [];
      }
    },
    async delete(keys) {
      for (const key of keys) {
        for (const path of [pathOf(key), metaOf(key)]) {
          await fs.rm(path, { force: true }).catch((e) => {
            throw diskError(e, path, where) ?? e;
          });
        }
      }
    },
  };
}
