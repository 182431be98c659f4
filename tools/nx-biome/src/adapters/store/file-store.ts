import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { diskError, WriteFs, writeFileAtomic } from '../workspace';
import { StoredObject, StorePort } from './store';

const META_DIR = '.meta';

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
      const out: StoredObject[] = [];
      async function walk(dir: string): Promise<void> {
        let names: string[];
        try {
          names = await readdir(dir);
        } catch {
          return;
        }
        for (const name of names) {
          const full = join(dir, name);
          const key = relative(base, full).split(sep).join('/');
          if (key === META_DIR || name.endsWith('.tmp')) continue;
          const info = await stat(full).catch(() => undefined);
          if (!info) continue;
          if (info.isDirectory()) {
            if ((key + '/').startsWith(prefix) || prefix.startsWith(key + '/')) await walk(full);
          } else if (key.startsWith(prefix)) out.push({ key, size: info.size });
        }
      }
      await walk(base);
      return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
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
