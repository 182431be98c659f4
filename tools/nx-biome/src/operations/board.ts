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
import { LedgerRecord } from '../core/ledger';
import { mapLimited } from '../core/map-limited';
import { BiomeRef } from '../core/names';
import { CommitLogPort } from '../adapters/git-log';
import { StoredObject, StorePort } from '../adapters/store/store';
import { readBiomeMeta, readLedger, readRecordsAt } from './ledger-store';
import { biomesOfEnvironment } from './lifecycle';

/** The most commits one `git log` lists per direction (a long-lived sandpit can be far behind). */
const MAX_RANGE_COMMITS = 2000;

/**
 * History keys (`biomes/<b>/history/<project>/[s<sequence>-]<yyyymmddThhmmssZ>-<sha>.json`)
 * newest first across projects: by the time stamp, not the per-project sequence.
 */
function newestHistoryKeys(keys: string[], limit: number): string[] {
  const stamp = (k: string) => /(\d{8}T\d{6}Z)-[^/]*$/.exec(k)?.[1] ?? k.slice(k.lastIndexOf('/') + 1);
  return [...keys].sort((a, b) => (stamp(a) < stamp(b) ? 1 : stamp(a) > stamp(b) ? -1 : 0)).slice(0, limit);
}

/**
 * The store as of one listing of `biomes/`: list calls below it are answered
 * from that listing (indexed by biome), everything else goes to the store.
 * The board needs every biome, every ledger and every history key; one
 * listing instead of three per biome halves the work on a large store, and
 * the existing helpers (biomesOfEnvironment, readLedger) read through it as
 * they would read the store.
 */
async function withListingSnapshot(store: StorePort): Promise<StorePort> {
  const all = await store.list('biomes/');
  const byBiome = new Map<string, StoredObject[]>();
  for (const o of all) {
    const biome = o.key.split('/')[1];
    let list = byBiome.get(biome);
    if (!list) byBiome.set(biome, (list = []));
    list.push(o);
  }
  // Everything but list is the store's own (delegated through the prototype).
  return Object.assign(Object.create(store) as StorePort, {
    async list(prefix: string) {
      if (prefix === 'biomes/') return all;
      const m = /^biomes\/([^/]+)\//.exec(prefix);
      return m ? (byBiome.get(m[1]) ?? []).filter((o) => o.key.startsWith(prefix)) : store.list(prefix);
    },
  });
}

/** One biome as the board shows it: metadata, ledger, and its newest `historyLimit` history records. */
async function readBoardBiome(store: StorePort, biome: BiomeRef, historyLimit: number): Promise<BoardBiomeInput> {
  const [meta, records, historyObjects] = await Promise.all([
    readBiomeMeta(store, biome.name),
    readLedger(store, biome.name),
    store.list(`biomes/${biome.name}/history/`),
  ]);
  const keys = historyObjects.map((o) => o.key).filter((k) => k.endsWith('.json'));
  const history = await readRecordsAt(store, newestHistoryKeys(keys, historyLimit));
  return { biome, meta, records, history, historyTotal: keys.length };
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
}): Promise<{ model: BoardModel; unknown: string[] }> {
  const { config } = input;
  const biomes: BoardBiomeInput[] = [];
  const unknown: string[] = [];
  const stores: Record<string, string> = {};
  for (const environment of input.environments) {
    const store = await withListingSnapshot(input.storeFor(environment));
    stores[environment] = store.url;
    const found = await biomesOfEnvironment(store, config, environment);
    unknown.push(...found.unknown.filter((u) => !unknown.includes(u)));
    biomes.push(...(await mapLimited(found.biomes, 8, (b) => readBoardBiome(store, b, input.historyLimit))));
  }
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
  return { model, unknown };
}
