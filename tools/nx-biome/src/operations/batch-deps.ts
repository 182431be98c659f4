import { BiomeMeta, biomeMetaKey } from '../core/ledger';
import { GitPort } from '../adapters/git';
import { StorePort } from '../adapters/store/store';
import { DeferredBiomeMeta, updateBiomeMeta } from './ledger-store';
import { acquireLease, biomeScope, Lease } from './store-lock';

/**
 * A git port for a batch of tasks on one commit: HEAD, the user name and the
 * working-tree status are asked of git once (for the union of every task's
 * input folders) instead of once per task. Answers are the same as the
 * underlying port's for any subset of `allRoots`.
 */
export function batchGit(git: GitPort, allRoots: string[]): GitPort {
  let head: Promise<string> | undefined;
  let dirty: Promise<string[]> | undefined;
  let user: Promise<string | undefined> | undefined;
  const covered = new Set(allRoots);
  return {
    // Every other question goes to git as it is.
    ...git,
    headSha: () => (head ??= git.headSha()),
    async dirtyFiles(paths) {
      if (paths.some((p) => !covered.has(p))) return git.dirtyFiles(paths);
      const all = await (dirty ??= git.dirtyFiles(allRoots));
      return all.filter((f) => paths.some((p) => f === p || f.startsWith(`${p}/`)));
    },
    userName: () => (user ??= git.userName()),
  };
}

/**
 * A store for the deploy tasks of one batch, all to one biome: biome.json is
 * read once, and the tasks' updates of it are collected and applied by `flush()` in one
 * read-modify-write under the biome's lease (on biome.json as it is then),
 * instead of a locked read and write per project. Everything else goes to
 * the store unchanged.
 */
export function batchStore(store: StorePort, biome: string): StorePort & DeferredBiomeMeta & { flush(): Promise<void> } {
  const updates: ((meta: BiomeMeta | undefined) => BiomeMeta | undefined)[] = [];
  const metaKey = biomeMetaKey(biome);
  let meta: Promise<Buffer | undefined> | undefined;
  let lease: Promise<Lease> | undefined;
  return {
    url: store.url,
    bucket: store.bucket,
    head: (key, options) => store.head(key, options),
    // Each task checks biome.json before it writes: read it once per batch.
    get: (key) => (key === metaKey ? (meta ??= store.get(key)) : store.get(key)),
    put: (key, body, options) => store.put(key, body, options),
    list: (prefix) => store.list(prefix),
    delete: (keys) => store.delete(keys),
    async holdBiome(name) {
      if (name !== biome) return undefined;
      // One shared lease for the whole batch: a promote, sleep or destroy of the biome waits for the run, not just for one record.
      return (lease ??= acquireLease(store, biomeScope(biome), 'shared', { purpose: `deploy to ${biome}` }));
    },
    deferBiomeMetaUpdate(name, update) {
      if (name !== biome) return false;
      updates.push(update);
      return true;
    },
    async flush() {
      const held = lease;
      lease = undefined;
      if (held) await (await held).release();
      if (updates.length === 0) return;
      const pending = updates.splice(0);
      await updateBiomeMeta(store, biome, (meta) => pending.reduce<BiomeMeta | undefined>((m, update) => update(m) ?? m, meta));
    },
  };
}
