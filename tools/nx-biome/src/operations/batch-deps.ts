import { biomeMetaKey } from '../core/ledger';
import { GitPort } from '../adapters/git';
import { StorePort } from '../adapters/store/store';

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
 * A store for the deploy tasks of one batch, all to one biome: the biome's
 * `biome.json` is read once and written once, by `flush()`, with the last
 * value the tasks wrote (every task of a batch refreshes it with the same
 * owner and time), instead of a read and a write per project. Everything
 * else goes to the store unchanged.
 */
export function batchStore(store: StorePort, biome: string): StorePort & { flush(): Promise<void> } {
  const metaKey = biomeMetaKey(biome);
  let meta: Promise<Buffer | undefined> | undefined;
  let pending: { body: Buffer; options?: Parameters<StorePort['put']>[2] } | undefined;
  return {
    url: store.url,
    bucket: store.bucket,
    head: (key, options) => store.head(key, options),
    get: (key) => (key === metaKey ? (pending ? Promise.resolve(pending.body) : (meta ??= store.get(key))) : store.get(key)),
    async put(key, body, options) {
      if (key !== metaKey) return store.put(key, body, options);
      pending = { body, options };
      return 'written';
    },
    list: (prefix) => store.list(prefix),
    delete: (keys) => store.delete(keys),
    async flush() {
      if (pending) await store.put(metaKey, pending.body, pending.options);
      pending = undefined;
    },
  };
}
