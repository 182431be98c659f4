import { describeOrigin } from './biome-report';
import { WorkspaceConfig } from './config';
import { BiomeMeta, LedgerRecord } from './ledger';
import { formatTime, isExpired } from './lifecycle';
import { BiomeRef } from './names';

/** A commit as `git log` knows it. */
export interface CommitInfo {
  sha: string;
  subject: string;
  author: string;
  /** Committer date, ISO 8601. */
  date: string;
}

/** Everything the board knows of one biome, read from its store. */
export interface BoardBiomeInput {
  biome: BiomeRef;
  meta?: BiomeMeta;
  records: LedgerRecord[];
  /** The newest history records (every project), newest first; at most the board's history limit. */
  history: LedgerRecord[];
  /** How many history records the store holds for the biome in all. */
  historyTotal: number;
}

/** Two biomes the board compares on a diff page: `from` is the older side (a sandpit's main biome, or the previous environment). */
export interface BoardPair {
  from: string;
  to: string;
}

/** The commits between two SHAs below one project's folder; `undefined` when the clone lacks either commit. */
export interface CommitRange {
  /** In `to`, not in `from` (newest first). */
  ahead: CommitInfo[];
  /** In `from`, not in `to` (newest first). */
  behind: CommitInfo[];
  truncated: boolean;
}

/** Key of a commit range in the `ranges` map. */
export const rangeKey = (from: string, to: string, root: string) => `${from}..${to}:${root}`;

export type AgeClass = 'a0' | 'a1' | 'a2' | 'a3';

export interface BoardCell {
  short: string;
  sha: string;
  subject?: string;
  who: string;
  deployedAt: string;
  /** Age of the commit (its date when the clone has it, else of the deploy), e.g. `3d`. */
  age: string;
  ageClass: AgeClass;
  /** Later environments whose main biome runs exactly these bytes (e.g. `['staging', 'prod']`). */
  sameAs: string[];
  dirty: boolean;
  origin: string;
}

export interface BoardColumn {
  biome: string;
  environment: string;
  sandpit: boolean;
  owner: string;
  expires: string;
  expired: boolean;
  asleep: boolean;
  projects: number;
  lastDeploy: string;
  page: string;
  /** The script file holding the column's cells (`data/<biome>.js`), loaded by the index on demand. */
  data: string;
}

/** A row of the matrix: one project of any biome. */
export interface BoardProject {
  project: string;
  kind: string;
}

export interface BoardHistoryEntry {
  time: string;
  project: string;
  action: string;
  short: string;
  subject?: string;
  who: string;
  ciJobUrl?: string;
  current: boolean;
}

export interface BoardBiomePage {
  column: BoardColumn;
  created: string;
  records: { project: string; kind: string; cell: BoardCell; artifactKey: string; sha256: string }[];
  history: BoardHistoryEntry[];
  historyTotal: number;
  diffs: { label: string; page: string }[];
}

export type DiffStatus = 'same' | 'differs' | 'only-from' | 'only-to';

export interface BoardDiffRow {
  project: string;
  status: DiffStatus;
  from?: BoardCell;
  to?: BoardCell;
  /** What git says between the two commits; `note` when it cannot say. */
  ahead: CommitInfo[];
  behind: CommitInfo[];
  truncated: boolean;
  note?: string;
}

export interface BoardDiffPage {
  from: string;
  to: string;
  page: string;
  rows: BoardDiffRow[];
  counts: Record<DiffStatus, number>;
}

/** The view model of the whole board: what every page shows, already formatted. */
export interface BoardModel {
  generatedAt: string;
  environments: { name: string; store: string; biomes: number }[];
  references: string[];
  columns: BoardColumn[];
  /** Every project of any biome, sorted: the matrix's rows. */
  projects: BoardProject[];
  /** Per column (same order as `columns`), the cell of each project the biome runs. */
  cells: Record<string, BoardCell>[];
  biomePages: BoardBiomePage[];
  diffPages: BoardDiffPage[];
}

/** `45m`, `7h`, `3d`, `5w`, `4mo`: coarse on purpose, a board is read at a glance. */
export function formatAge(ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (days < 14) return `${days}d`;
  if (days < 60) return `${Math.floor(days / 7)}w`;
  return `${Math.floor(days / 30)}mo`;
}

/** Colour band of an age: under a day, a week, a month, older. */
export function ageClass(ms: number): AgeClass {
  const day = 86_400_000;
  return ms < day ? 'a0' : ms < 7 * day ? 'a1' : ms < 30 * day ? 'a2' : 'a3';
}

/** File of a biome's page, relative to the board's root. */
export const biomePagePath = (biome: string) => `biomes/${biome}.html`;
/** File of a biome's column data (a script the index loads on demand), relative to the board's root. */
export const columnDataPath = (biome: string) => `data/${biome}.js`;
/** File of a diff page, relative to the board's root. */
export const diffPagePath = (pair: BoardPair) => `diff/${pair.from}..${pair.to}.html`;

/** Biomes in board order: environments in promotion order (others after), the main biome first, then sandpits by name. */
export function orderBiomes<T extends { biome: BiomeRef }>(biomes: T[], config: WorkspaceConfig): T[] {
  const envOrder = [...new Set([...config.promotionOrder, ...Object.keys(config.environments).sort()])];
  const rank = (b: BiomeRef) => envOrder.indexOf(b.environment.name);
  return [...biomes].sort(
    (x, y) =>
      rank(x.biome) - rank(y.biome) ||
      Number(x.biome.sandpit) - Number(y.biome.sandpit) ||
      (x.biome.name < y.biome.name ? -1 : x.biome.name > y.biome.name ? 1 : 0),
  );
}

/**
 * The pairs the board pre-renders a diff page for: every sandpit against its
 * environment's main biome, and each main biome against the next
 * environment's in promotion order (what a promotion would change).
 */
export function planBoardPairs(biomes: BiomeRef[], config: WorkspaceConfig): BoardPair[] {
  const names = new Set(biomes.map((b) => b.name));
  const pairs: BoardPair[] = [];
  for (const b of biomes) {
    if (b.sandpit && names.has(b.environment.name)) pairs.push({ from: b.environment.name, to: b.name });
  }
  const mains = config.promotionOrder.filter((env) => names.has(env));
  for (let i = 1; i < mains.length; i++) pairs.push({ from: mains[i], to: mains[i - 1] });
  return pairs;
}

/** A commit with the files it touched (`git log --name-only`). */
export interface CommitChange extends CommitInfo {
  files: string[];
}

/** Both directions between two commits, for the whole repository. */
export interface CommitChanges {
  ahead: CommitChange[];
  behind: CommitChange[];
  /** git stopped listing at its limit: older commits are left out. */
  truncated: boolean;
}

/**
 * The commit pairs the diff pages need from git: per pair of biomes and
 * project, the two recorded commits when they differ and the clone knows
 * both. One `git log` per distinct pair of commits serves every project.
 */
export function planCommitPairs(input: {
  pairs: BoardPair[];
  ledgers: Map<string, LedgerRecord[]>;
  known: Set<string>;
}): { from: string; to: string }[] {
  const seen = new Map<string, { from: string; to: string }>();
  for (const pair of input.pairs) {
    const from = new Map((input.ledgers.get(pair.from) ?? []).map((r) => [r.project, r]));
    for (const to of input.ledgers.get(pair.to) ?? []) {
      const old = from.get(to.project);
      if (!old || old.gitSha === to.gitSha || !input.known.has(old.gitSha) || !input.known.has(to.gitSha)) continue;
      seen.set(`${old.gitSha}..${to.gitSha}`, { from: old.gitSha, to: to.gitSha });
    }
  }
  return [...seen.values()];
}

/** The commits of `changes` that touch a project's folder (`.` means any), at most `limit` per direction. */
export function commitsTouching(changes: CommitChanges, root: string, limit: number): CommitRange {
  const prefix = root === '.' || root === '' ? '' : `${root.replace(/\/+$/, '')}/`;
  const touches = (c: CommitChange) => !prefix || c.files.some((f) => f.startsWith(prefix));
  const strip = ({ sha, subject, author, date }: CommitChange): CommitInfo => ({ sha, subject, author, date });
  const ahead = changes.ahead.filter(touches);
  const behind = changes.behind.filter(touches);
  return {
    ahead: ahead.slice(0, limit).map(strip),
    behind: behind.slice(0, limit).map(strip),
    truncated: changes.truncated || ahead.length > limit || behind.length > limit,
  };
}

/**
 * Builds the board's view model: the projects × biomes matrix (per column, so
 * the index can load a biome's column on its own), a page per
 * biome with its history, and the diff pages of `pairs`. Pure: every fact
 * (records, commits, ranges, the time) comes in as a value.
 */
export function buildBoardModel(input: {
  config: WorkspaceConfig;
  now: Date;
  stores: Record<string, string>;
  biomes: BoardBiomeInput[];
  /** Ledgers of the main biomes of the promotion order, by environment (for "same as staging/prod"). */
  references: Map<string, LedgerRecord[]>;
  commits: Map<string, CommitInfo>;
  ranges: Map<string, CommitRange | undefined>;
  projectRoots: Record<string, string>;
  pairs: BoardPair[];
}): BoardModel {
  const { config, now } = input;
  const biomes = orderBiomes(input.biomes, config);
  const order = config.promotionOrder;
  const refSha = new Map<string, Map<string, string>>();
  for (const [env, records] of input.references) refSha.set(env, new Map(records.map((r) => [r.project, r.sha256])));

  const cellOf = (r: LedgerRecord): BoardCell => {
    const commit = input.commits.get(r.gitSha);
    const when = Date.parse(commit?.date ?? r.deployedAt);
    const ms = now.getTime() - when;
    const later = order.slice(order.indexOf(r.environment) + 1);
    const sameAs = (order.includes(r.environment) ? later : order).filter(
      (env) => env !== r.biome && refSha.get(env)?.get(r.project) === r.sha256,
    );
    return {
      short: r.gitSha.slice(0, 8),
      sha: r.gitSha,
      ...(commit ? { subject: commit.subject } : {}),
      who: r.deployedBy,
      deployedAt: formatTime(r.deployedAt),
      age: formatAge(ms),
      ageClass: ageClass(ms),
      sameAs,
      dirty: r.dirty,
      origin: describeOrigin(r),
    };
  };

  const pairsOf = new Map<string, BoardPair[]>();
  for (const p of input.pairs) for (const b of [p.from, p.to]) pairsOf.set(b, [...(pairsOf.get(b) ?? []), p]);

  const columns: BoardColumn[] = biomes.map((b) => {
    const newest = b.records.reduce<string | undefined>(
      (acc, r) => (!acc || r.deployedAt > acc ? r.deployedAt : acc),
      undefined,
    );
    return {
      biome: b.biome.name,
      environment: b.biome.environment.name,
      sandpit: b.biome.sandpit,
      owner: b.meta?.owner ?? 'unknown',
      expires: b.biome.sandpit ? formatTime(b.meta?.expires) : 'never',
      expired: b.biome.sandpit && isExpired(b.meta, now),
      asleep: b.meta?.asleep ?? false,
      projects: b.records.length,
      lastDeploy: formatTime(b.meta?.lastDeployedAt ?? newest),
      page: biomePagePath(b.biome.name),
      data: columnDataPath(b.biome.name),
    };
  });

  const kinds = new Map<string, string>();
  for (const b of biomes) for (const r of b.records) kinds.set(r.project, r.kind);
  const projects = [...kinds.keys()].sort().map((project) => ({ project, kind: kinds.get(project)! }));
  const cellCache = new Map<LedgerRecord, BoardCell>();
  const cached = (r: LedgerRecord) => {
    let c = cellCache.get(r);
    if (!c) cellCache.set(r, (c = cellOf(r)));
    return c;
  };
  const cells = biomes.map((b) => Object.fromEntries(b.records.map((r) => [r.project, cached(r)])));

  const biomePages: BoardBiomePage[] = biomes.map((b, i) => {
    const currentKeys = new Set(b.records.map((r) => `${r.project}@${r.deployedAt}`));
    return {
      column: columns[i],
      created: formatTime(b.meta?.created),
      records: b.records.map((r) => ({
        project: r.project,
        kind: r.kind,
        cell: cached(r),
        artifactKey: r.artifactKey,
        sha256: r.sha256,
      })),
      history: b.history.map((r) => ({
        time: formatTime(r.deployedAt),
        project: r.project,
        action: describeOrigin(r),
        short: r.gitSha.slice(0, 8),
        ...(input.commits.has(r.gitSha) ? { subject: input.commits.get(r.gitSha)!.subject } : {}),
        who: r.deployedBy,
        ...(r.ciJobUrl ? { ciJobUrl: r.ciJobUrl } : {}),
        current: currentKeys.has(`${r.project}@${r.deployedAt}`),
      })),
      historyTotal: b.historyTotal,
      diffs: (pairsOf.get(b.biome.name) ?? []).map((p) => ({ label: `${p.from} → ${p.to}`, page: diffPagePath(p) })),
    };
  });

  const ledgers = new Map(biomes.map((b) => [b.biome.name, b.records]));
  const diffPages = input.pairs.map((pair) =>
    buildDiffPage({
      pair,
      from: ledgers.get(pair.from) ?? [],
      to: ledgers.get(pair.to) ?? [],
      cellOf: cached,
      ranges: input.ranges,
      commits: input.commits,
      projectRoots: input.projectRoots,
    }),
  );

  const envNames = [...new Set(biomes.map((b) => b.biome.environment.name))];
  return {
    generatedAt: formatTime(now.toISOString()),
    environments: envNames.map((name) => ({
      name,
      store: input.stores[name] ?? '',
      biomes: biomes.filter((b) => b.biome.environment.name === name).length,
    })),
    references: [...input.references.keys()],
    columns,
    projects,
    cells,
    biomePages,
    diffPages,
  };
}

function buildDiffPage(input: {
  pair: BoardPair;
  from: LedgerRecord[];
  to: LedgerRecord[];
  cellOf: (r: LedgerRecord) => BoardCell;
  ranges: Map<string, CommitRange | undefined>;
  commits: Map<string, CommitInfo>;
  projectRoots: Record<string, string>;
}): BoardDiffPage {
  const from = new Map(input.from.map((r) => [r.project, r]));
  const to = new Map(input.to.map((r) => [r.project, r]));
  const projects = [...new Set([...from.keys(), ...to.keys()])].sort();
  const counts: Record<DiffStatus, number> = { same: 0, differs: 0, 'only-from': 0, 'only-to': 0 };
  const rows = projects.map((project): BoardDiffRow => {
    const a = from.get(project);
    const b = to.get(project);
    const status: DiffStatus = !a ? 'only-to' : !b ? 'only-from' : a.sha256 === b.sha256 ? 'same' : 'differs';
    counts[status]++;
    const row: BoardDiffRow = {
      project,
      status,
      ...(a ? { from: input.cellOf(a) } : {}),
      ...(b ? { to: input.cellOf(b) } : {}),
      ahead: [],
      behind: [],
      truncated: false,
    };
    if (status !== 'differs') return row;
    if (a!.gitSha === b!.gitSha) return { ...row, note: 'same commit, different bytes (settings or a dirty build)' };
    const range = input.ranges.get(rangeKey(a!.gitSha, b!.gitSha, input.projectRoots[project] ?? '.'));
    if (!range) {
      const missing = [a!, b!].filter((r) => !input.commits.has(r.gitSha)).map((r) => r.gitSha.slice(0, 8));
      return {
        ...row,
        note: missing.length
          ? `this clone lacks ${missing.join(' and ')}: fetch to see the commits`
          : 'commits not compared',
      };
    }
    return {
      ...row,
      ahead: range.ahead,
      behind: range.behind,
      truncated: range.truncated,
      ...(range.ahead.length + range.behind.length === 0 ? { note: 'no commit touches the project between them' } : {}),
    };
  });
  return { from: input.pair.from, to: input.pair.to, page: diffPagePath(input.pair), rows, counts };
}
