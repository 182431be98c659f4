import { LedgerRecord } from './ledger';

/**
 * The run record of a biome: written at the end of a deploy run that brought
 * the whole biome up to date (every project changed since the previous
 * complete run deployed), never by a run that was cut short, failed, or
 * deployed only some projects. Its commit is the base of the next
 * `nx affected -t deploy` of the biome.
 */
export interface BiomeRunRecord {
  biome: string;
  /** The commit every project of the biome was brought up to. */
  gitSha: string;
  finishedAt: string;
  /** The projects this run deployed (or found unchanged). */
  projects: string[];
  /** The biome's incarnation the run deployed to: a record of an earlier incarnation (the biome was destroyed since) is no base. */
  incarnation: number;
}

/** Where the biome's last complete run is recorded. */
export const runRecordKey = (biome: string) => `biomes/${biome}/last-run.json`;

/**
 * Reads a run record; anything malformed counts as no record (the next
 * deploy then deploys every project, which is safe: unchanged ones are only
 * verified).
 */
export function parseRunRecord(text: string, biome: string): BiomeRunRecord | undefined {
  try {
    const r = JSON.parse(text) as Partial<BiomeRunRecord>;
    if (
      r.biome !== biome ||
      typeof r.gitSha !== 'string' ||
      !/^[0-9a-f]{40}$/.test(r.gitSha) ||
      typeof r.finishedAt !== 'string'
    )
      return undefined;
    const incarnation = r.incarnation === undefined ? 0 : r.incarnation;
    if (!Number.isInteger(incarnation) || incarnation < 0) return undefined;
    return {
      biome,
      gitSha: r.gitSha,
      finishedAt: r.finishedAt,
      projects: Array.isArray(r.projects) ? r.projects.filter((p): p is string => typeof p === 'string') : [],
      incarnation,
    };
  } catch {
    return undefined;
  }
}

/**
 * The commit a record says its biome was at: the commit its bytes were built
 * from, except for a seed record, whose biome started at the main biome's
 * commit (`origin.commit`): every project of the seed is what the main biome
 * ran at that commit, whatever older commit its bytes were built from.
 */
export function recordBiomeCommit(r: LedgerRecord): string {
  return r.origin?.action === 'seed' && r.origin.commit ? r.origin.commit : r.gitSha;
}

/**
 * The commit to use as `--base` of `nx affected` for a biome: the newest
 * deployed commit that the local repository has (clean records only), else
 * the fallback (e.g. the merge base for a new biome). `from: 'seed'` when
 * that commit is the one a seeded sandpit started at (`seedFrom` names its
 * main biome): the caller compares with its merge base with HEAD when the
 * branch lacks it, so only what the branch changed is deployed.
 */
export function chooseAffectedBase(
  records: LedgerRecord[],
  known: (sha: string) => boolean,
  fallback?: string,
): { base?: string; from: 'ledger' | 'seed' | 'fallback' | 'none'; seedFrom?: string } {
  const newest = [...records]
    .filter((r) => !r.dirty && known(recordBiomeCommit(r)))
    .sort((a, b) => Date.parse(b.deployedAt) - Date.parse(a.deployedAt))[0];
  if (newest?.origin?.action === 'seed' && newest.origin.commit)
    return {
      base: newest.origin.commit,
      from: 'seed',
      ...(newest.origin.from ? { seedFrom: newest.origin.from } : {}),
    };
  if (newest) return { base: newest.gitSha, from: 'ledger' };
  return fallback ? { base: fallback, from: 'fallback' } : { from: 'none' };
}

/** What a `nx affected -t deploy --biome=<b>` run without `--base` should do. */
export type DefaultBasePlan =
  { action: 'keep'; base: string; message: string } | { action: 'rerun'; argv: string[]; message: string };

/**
 * Without `--base`, `nx affected` compares with nx.json's `defaultBase`
 * (`main`), which on main itself is HEAD: nothing is affected and a new biome
 * stays empty. A deploy should instead bring the biome up to date: compare with
 * the biome's last deployed commit, or deploy everything to a biome that
 * records none. When that is not the base Nx already used, the command is run
 * again with the right one (`argv` without the node and script entries).
 */
export function planDefaultBase(input: {
  biome: string;
  argv: string[];
  biomeBase?: string;
  nxBaseSha?: string;
  seed?: { from?: string; commit: string; mergedWithHead?: boolean };
}): DefaultBasePlan {
  const { biome, argv } = input;
  if (!input.biomeBase) {
    const rerun = argv
      .map((a) => (a === 'affected' ? 'run-many' : a))
      .filter((a) => !/^--(head|uncommitted|untracked|files)(=|$)/.test(a));
    return {
      action: 'rerun',
      argv: rerun,
      message: `${biome} has no complete deploy run yet: deploying every project (nx ${rerun.join(' ')}).`,
    };
  }
  const short = input.biomeBase.slice(0, 8);
  const { seed } = input;
  const since = seed
    ? `${biome} was seeded from ${seed.from ?? 'its main biome'} at ${seed.commit.slice(0, 8)}${seed.mergedWithHead ? `, which this branch lacks: deploying what changed since their merge base ${short}` : ': deploying what changed since then'}`
    : `${biome} was last brought up to date at ${short}: deploying what changed since then`;
  if (input.biomeBase === input.nxBaseSha) return { action: 'keep', base: input.biomeBase, message: `${since}.` };
  return {
    action: 'rerun',
    argv: [...argv, `--base=${input.biomeBase}`],
    message: `${since} (--base=${input.biomeBase}; pass --base to choose another).`,
  };
}
