import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StoredObject, StorePort } from './store';

const META_DIR = '.meta';

/**
 * The embedded local store: a folder with the S3 key layout. Writes go to a
 * temporary file first, then rename (or link, for write-once), so a reader
 * never sees half an object. Metadata lives under `.meta/<key>.json`.
 */
export function createFileStore(root: string): StorePort {
  const base = resolve(root);
  const pathOf = (key: string) => {
    const p = resolve(base, key);
    if (!p.startsWith(base + sep) || key.split('/').includes(META_DIR)) throw new Error(`key "${key}" escapes the store`);
    return p;
  };
  const metaOf = (key: string) => join(base, META_DIR, `${key}.json`);

  async function writeAtomic(path: string, body: Buffer | string, exclusive: boolean): Promise<boolean> {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, body);
    try {
      if (!exclusive) {
        await rename(tmp, path);
        return true;
      }
      try {
        await link(tmp, path);
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw e;
      }
    } finally {
      if (exclusive) await unlink(tmp).catch(() => undefined);
    }
  }

  return {
    url: pathToFileURL(base).href,
    async head(key, options = {}) {
      try {
        const info = await stat(pathOf(key));
        if (!info.isFile()) return undefined;
        const metadata = await readFile(metaOf(key), 'utf8').then((t) => JSON.parse(t) as Record<string, string>, () => ({}));
        // A local file is cheap to hash: the store vouches for its bytes, not for its metadata.
        if (options.checksum) return { key, size: info.size, metadata, sha256: createHash('sha256').update(await readFile(pathOf(key))).digest('hex') };
        return { key, size: info.size, metadata };
      } catch {
        return undefined;
      }
    },
    async get(key) {
      try {
        return await readFile(pathOf(key));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'EISDIR') return undefined;
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
        await rm(pathOf(key), { force: true });
        await rm(metaOf(key), { force: true });
      }
    },
  };
}
