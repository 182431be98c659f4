import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './workspace';

/** What the board keeps of one biome between builds (see operations/board.ts); opaque to this adapter. */
export interface BoardCacheEntry {
  schemaVersion: number;
}

/** Per store and biome, what the previous board build read; a cache only, so anything unreadable counts as absent. */
export interface BoardCachePort {
  read(storeUrl: string, biome: string): Promise<BoardCacheEntry | undefined>;
  write(storeUrl: string, biome: string, entry: BoardCacheEntry): Promise<void>;
  /** Removes the entries of a store's biomes other than `keep` (biomes destroyed since). */
  prune(storeUrl: string, keep: string[]): Promise<void>;
}

/**
 * The board's cache as JSON files: `<dir>/<hash of the store URL>/<biome>.json`,
 * each written through a rename, so a build stopped half-way leaves whole
 * files (of either build). A cache never changes what the board shows, only
 * what it reads.
 */
export function createBoardCache(dir: string): BoardCachePort {
  const folder = (url: string) => join(dir, createHash('sha256').update(url).digest('hex').slice(0, 16));
  return {
    async read(url, biome) {
      try {
        const entry = JSON.parse(await readFile(join(folder(url), `${biome}.json`), 'utf8')) as BoardCacheEntry;
        return entry && typeof entry === 'object' ? entry : undefined;
      } catch {
        return undefined;
      }
    },
    async write(url, biome, entry) {
      await writeFileAtomic(join(folder(url), `${biome}.json`), JSON.stringify(entry));
    },
    async prune(url, keep) {
      const names = await readdir(folder(url)).catch(() => [] as string[]);
      const wanted = new Set(keep.map((b) => `${b}.json`));
      await Promise.all(
        names
          .filter((n) => n.endsWith('.json') && !wanted.has(n))
          .map((n) => rm(join(folder(url), n), { force: true })),
      );
    },
  };
}
