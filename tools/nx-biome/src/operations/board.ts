import {
  BoardBiomeInput,
  BoardModel,
  buildBoardModel,
  CommitChanges,
  commitsTouching,
  CommitRange,
  planBoardPairs,
  planCommitPairs,
  rangeKey,
} from '../core/board';
import { WorkspaceConfig } from '../core/config';
import { mapLimited } from '../core/map-limited';
import { BiomeRef } from '../core/names';
import { CommitLogPort } from '../adapters/git-log';
import { StoredObject, StorePort } from '../adapters/store/store';
import { BoardCachePort } from '../adapters/board-cache';
import { BiomeMeta, biomeMetaKey, LedgerRecord, ledgerKey, ledgerPrefix } from '../core/ledger';
import { readBiomeMeta, readLedger, readRecordsAt } from './ledger-store';
import { biomesOfEnvironment } from './lifecycle';

/** The most commits one `git log` lists per direction (a long-lived sandpit can be far behind). */
const MAX_RANGE_COMMITS = 2000;

/**
 * History keys (`biomes/<b>/history/<project>/[s<sequence>-]<yyyymmddThhmmssZ>-<sha>.json`)
 * newest first across projects: by the time stamp, not the per-project sequence.
 */
function newestHistoryKeys(keys: string[], limit: number): string[] {
  // The stamp is taken once per key, not once per comparison (a biome's history can hold thousands).
  const stamped = keys.map((k) => ({ k, s: /(\d{8}T\d{6}Z)-[^/]*$/.exec(k)?.[1] ?? k.slice(k.lastIndexOf('/') + 1) }));
  stamped.sort((a, b) => (a.s < b.s ? 1 : a.s > b.s ? -1 : 0));
  return stamped.slice(0, limit).map((x) => x.k);
}

/** A store whose listing of `prefix` is answered from `listed` (already listed by the caller); everything else is the store's. */
function withListing(store: StorePort, prefix: string, listed: StoredObject[]): StorePort {
  return Object.assign(Object.create(store) as StorePort, {
    async list(p: string) {
      return p === prefix ? listed : store.list(p);
    },
  });
}

/** Version of a board cache entry: a cache of another version is ignored (read again). */
const CACHE_SCHEMA = 2;

/** A biome as the previous build read it (adapters/board-cache.ts keeps it between builds). */
interface BiomeCache {
  schemaVersion: typeof CACHE_SCHEMA;
  /** The listing stamps of biome.json and every ledger record: equal means nothing was deployed since. */
  stamp: string;
  /** Per key: the listing stamp it was read under, and what was read (records without settings). */
  objects: Record<string, [string, unknown]>;
  /** The keys of the history shown, newest first, of the `historyLimit` newest. */
  history: string[];
  historyLimit: number;
  historyTotal: number;
}

/**
 * What a listing says of an object that a cached copy of it must match:
 * only where the listing vouches for a rewrite (S3's ETag, the file store's
 * modification time); otherwise the object is always read.
 */
function listingStamp(o: StoredObject): string | undefined {
  return o.etag || o.modified ? `${o.size} ${o.etag ?? ''} ${o.modified ?? ''}` : undefined;
}

/** How many objects a board build took from its cache and how many it read from the stores. */
export interface BoardReadCounts {
  reused: number;
  read: number;
}

/** Ledger order, as readLedger gives it (not key order: `a-b.json` sorts before `a.json`). */
const byProject = (a: LedgerRecord, b: LedgerRecord) => (a.project < b.project ? -1 : a.project > b.project ? 1 : 0);

/** The board keeps no settings: they are never shown, and the cache stays small. */
const withoutSettings = (r: LedgerRecord): LedgerRecord => ({ ...r, settings: {} });

/**
 * One biome as the board shows it: metadata, ledger, and its newest
 * `historyLimit` history records; undefined when the store holds nothing of
 * it any more (an emptied folder of the file store).
 *
 * With a cache, the biome's ledger and biome.json are listed (not its
 * history, which only grows): when every stamp matches the previous build's,
 * nothing was recorded since (a deploy, promotion, rollback or repair writes
 * the ledger record after the history record, sleep and expiry biome.json),
 * and the biome is the cached one. Otherwise what changed is read: the
 * records whose stamp changed when they are a few, else the ledger as a whole
 * (on S3 two requests with the ledger index), and the history listed and read
 * one record per key the cache lacks (history keys are written once).
 */
async function readBoardBiome(
  store: StorePort,
  biome: BiomeRef,
  historyLimit: number,
  cache: BoardCachePort | undefined,
  counts: BoardReadCounts,
): Promise<BoardBiomeInput | undefined> {
  const name = biome.name;
  const metaKey = biomeMetaKey(name);
  const [ledgerListed, metaListed] = await Promise.all([
    store.list(ledgerPrefix(name)),
    store.list(metaKey).then((l) => l.filter((o) => o.key === metaKey)),
  ]);
  if (ledgerListed.length + metaListed.length === 0 && (await store.list(`biomes/${name}/`)).length === 0)
    return undefined;
  const ledgerObjects = ledgerListed.filter((o) => o.key.endsWith('.json'));
  const stamps = new Map([...ledgerObjects, ...metaListed].map((o) => [o.key, listingStamp(o)]));
  const stamp = [...stamps].every(([, s]) => s) ? [...stamps].map(([k, s]) => `${k} ${s}`).join('\n') : undefined;
  const old = cache ? ((await cache.read(store.url, name)) as BiomeCache | undefined) : undefined;
  const prior = old?.schemaVersion === CACHE_SCHEMA ? old : undefined;
  const objects: Record<string, [string, unknown]> = {};
  const cached = <T>(key: string, keyStamp = stamps.get(key)): T | undefined => {
    const entry = prior?.objects[key];
    if (!keyStamp || !entry || entry[0] !== keyStamp) return undefined;
    objects[key] = entry;
    return entry[1] as T;
  };
  const keep = (key: string, keyStamp: string | undefined, value: unknown) => {
    if (keyStamp && value !== undefined) objects[key] = [keyStamp, value];
  };

  if (prior && stamp && prior.stamp === stamp && prior.historyLimit === historyLimit) {
    const meta = cached<BiomeMeta>(metaKey);
    const records = ledgerObjects.map((o) => cached<LedgerRecord>(o.key));
    const history = prior.history.map((k) => prior.objects[k]?.[1] as LedgerRecord | undefined);
    if (records.every((r) => r) && history.every((r) => r) && (meta || !metaListed.length)) {
      counts.reused += records.length + history.length + (meta ? 1 : 0);
      return {
        biome,
        meta,
        records: (records as LedgerRecord[]).sort(byProject),
        history: history as LedgerRecord[],
        historyTotal: prior.historyTotal,
      };
    }
  }

  let meta = cached<BiomeMeta>(metaKey);
  if (meta) counts.reused++;
  else {
    counts.read++;
    keep(metaKey, stamps.get(metaKey), (meta = await readBiomeMeta(store, name)));
  }

  const fromCache = ledgerObjects.map((o) => cached<LedgerRecord>(o.key));
  const missing = ledgerObjects.filter((_, i) => !fromCache[i]).map((o) => o.key);
  let records: LedgerRecord[];
  if (prior && missing.length <= Math.max(8, ledgerObjects.length / 10)) {
    // A few records changed since the last build (a deploy of some projects): read just those.
    counts.reused += ledgerObjects.length - missing.length;
    counts.read += missing.length;
    const read = new Map(
      (await readRecordsAt(store, missing)).map((r) => [ledgerKey(name, r.project), withoutSettings(r)]),
    );
    for (const [key, r] of read) keep(key, stamps.get(key), r);
    records = ledgerObjects
      .map((o, i) => fromCache[i] ?? read.get(o.key))
      .filter((r): r is LedgerRecord => !!r)
      .sort(byProject);
  } else {
    // One GET of the ledger index on S3 (with the listing above), one per record on the folder store.
    records = (await readLedger(withListing(store, ledgerPrefix(name), ledgerListed), name)).map(withoutSettings);
    counts.read += records.length;
    for (const r of records) keep(ledgerKey(name, r.project), stamps.get(ledgerKey(name, r.project)), r);
  }

  const historyListed = (await store.list(`biomes/${name}/history/`)).filter((o) => o.key.endsWith('.json'));
  const historyStamps = new Map(historyListed.map((o) => [o.key, listingStamp(o)]));
  const newest = newestHistoryKeys([...historyStamps.keys()], historyLimit);
  const history = await mapLimited(newest, 16, async (key) => {
    const hit = cached<LedgerRecord>(key, historyStamps.get(key));
    if (hit) {
      counts.reused++;
      return { key, record: hit };
    }
    counts.read++;
    const [record] = await readRecordsAt(store, [key]);
    keep(key, historyStamps.get(key), record && withoutSettings(record));
    return { key, record };
  });
  const shown = history.filter((h): h is { key: string; record: LedgerRecord } => !!h.record);
  if (cache && stamp) {
    const entry: BiomeCache = {
      schemaVersion: CACHE_SCHEMA,
      stamp,
      objects,
      history: shown.map((h) => h.key),
      historyLimit,
      historyTotal: historyListed.length,
    };
    await cache.write(store.url, name, entry);
  }
  return { biome, meta, records, history: shown.map((h) => h.record), historyTotal: historyListed.length };
}

/**
 * Reads what the board shows from the stores and asks git about the commits:
 * the biomes of `environments`, plus the main biomes of the promotion order
 * (for "same as staging/prod"), then builds the view model.
 */
export async function collectBoard(input: {
  config: WorkspaceConfig;
  environments: string[];
  storeFor: (environment: string) => StorePort;
  commitLog: CommitLogPort;
  projectRoots: Record<string, string>;
  now: Date;
  historyLimit: number;
  commitLimit: number;
  /** The previous build's reads, reused where the listing shows an object unchanged; none: read everything. */
  cache?: BoardCachePort;
  /** Told which store is being read (a cold build of a large store takes a while). */
  progress?: (line: string) => void;
}): Promise<{ model: BoardModel; unknown: string[]; counts: BoardReadCounts }> {
  const { config } = input;
  const biomes: BoardBiomeInput[] = [];
  const unknown: string[] = [];
  const stores: Record<string, string> = {};
  const counts: BoardReadCounts = { reused: 0, read: 0 };
  // Per store (environments may share one), the biomes it holds: the cache forgets the others.
  const seen = new Map<string, string[]>();
  for (const environment of input.environments) {
    const store = input.storeFor(environment);
    stores[environment] = store.url;
    // The folders below biomes/ where the store can tell (not every key of every history).
    const names = store.listFolders
      ? (await store.listFolders('biomes/')).map((p) => p.slice('biomes/'.length, -1))
      : undefined;
    const found = await biomesOfEnvironment(store, config, environment, names);
    input.progress?.(`biome board: reading ${found.biomes.length} biome(s) of ${environment} from ${store.url}`);
    unknown.push(...found.unknown.filter((u) => !unknown.includes(u)));
    const read = await mapLimited(found.biomes, 8, (b) =>
      readBoardBiome(store, b, input.historyLimit, input.cache, counts),
    );
    biomes.push(...read.filter((b): b is BoardBiomeInput => !!b));
    seen.set(store.url, [...(seen.get(store.url) ?? []), ...found.biomes.map((b) => b.name)]);
  }
  for (const [url, names] of seen) await input.cache?.prune(url, names);
  const references = new Map<string, LedgerRecord[]>();
  for (const env of config.promotionOrder) {
    const shown = biomes.find((b) => b.biome.name === env);
    references.set(env, shown ? shown.records : await readLedger(input.storeFor(env), env));
  }
  const shas = biomes.flatMap((b) => [...b.records, ...b.history].map((r) => r.gitSha));
  const commits = await input.commitLog.commits(shas);
  const pairs = planBoardPairs(
    biomes.map((b) => b.biome),
    config,
  );
  const ledgers = new Map(biomes.map((b) => [b.biome.name, b.records]));
  const known = new Set(commits.keys());
  const changes = new Map<string, CommitChanges | undefined>();
  await mapLimited(planCommitPairs({ pairs, ledgers, known }), 4, async (w) =>
    changes.set(`${w.from}..${w.to}`, await input.commitLog.changes(w.from, w.to, MAX_RANGE_COMMITS)),
  );
  // Per project, the commits of its pair that touch its folder.
  const ranges = new Map<string, CommitRange | undefined>();
  for (const pair of pairs) {
    const from = new Map((ledgers.get(pair.from) ?? []).map((r) => [r.project, r.gitSha]));
    for (const r of ledgers.get(pair.to) ?? []) {
      const old = from.get(r.project);
      const c = old ? changes.get(`${old}..${r.gitSha}`) : undefined;
      const root = input.projectRoots[r.project] ?? '.';
      if (c) ranges.set(rangeKey(old!, r.gitSha, root), commitsTouching(c, root, input.commitLimit));
    }
  }
  const model = buildBoardModel({
    config,
    now: input.now,
    stores,
    biomes,
    references,
    commits,
    ranges,
    projectRoots: input.projectRoots,
    pairs,
  });
  return { model, unknown, counts };
}
