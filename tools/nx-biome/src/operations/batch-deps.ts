import { BiomeMeta, biomeMetaKey, ledgerPrefix } from '../core/ledger';
import { biomeSettingsKey } from '../core/settings';
import { GitPort } from '../adapters/git';
import { StorePort } from '../adapters/store/store';
import { DeferredBiomeMeta, readLedgerEntries, updateBiomeMeta } from './ledger-store';
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
export function batchStore(
  store: StorePort,
  biome: string,
): StorePort & DeferredBiomeMeta & { flush(): Promise<void> } {
  const updates: ((meta: BiomeMeta | undefined) => BiomeMeta | undefined)[] = [];
  const metaKey = biomeMetaKey(biome);
  const settingsKey = biomeSettingsKey(biome);
  const recordPrefix = ledgerPrefix(biome);
  const once = new Map<string, Promise<Buffer | undefined>>();
  let ledger: Promise<Map<string, Buffer>> | undefined;
  let lease: Promise<Lease> | undefined;
  return {
    url: store.url,
    bucket: store.bucket,
    head: (key, options) => store.head(key, options),
    get(key) {
      // Each task checks biome.json and resolves the biome's settings layer before it writes: read them once per batch.
      if (key === metaKey || key === settingsKey) {
        if (!once.has(key)) once.set(key, store.get(key));
        return once.get(key)!;
      }
      // Each task reads its project's current record: the whole ledger is read once (one listing and the
      // ledger index, see readLedgerEntries) when the batch asks for the first one.
      if (key.startsWith(recordPrefix) && key.endsWith('.json') && !key.slice(recordPrefix.length).includes('/')) {
        const snapshot = (ledger ??= readLedgerEntries(store, biome).then(
          (entries) => new Map(entries.flatMap((e) => (e.body ? [[e.key, e.body] as const] : []))),
        ));
        // A failed read fails the tasks waiting for it; the next task reads again.
        return snapshot.then(
          (bodies) => bodies.get(key),
          (e) => {
            if (ledger === snapshot) ledger = undefined;
            throw e;
          },
        );
      }
      return store.get(key);
    },
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
      await updateBiomeMeta(store, biome, (meta) =>
        pending.reduce<BiomeMeta | undefined>((m, update) => update(m) ?? m, meta),
      );
    },
  };
}
