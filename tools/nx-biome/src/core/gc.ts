import { biomeMetaKey, LedgerRecord } from './ledger';

const LEDGER_KEY = /^biomes\/([^/]+)\/ledger\/([^/]+)\.json$/;
const HISTORY_KEY = /^biomes\/([^/]+)\/history\/([^/]+)\/[^/]*-([0-9a-f]{40})\.json$/;

/**
 * The ledger and history keys of OTHER biomes that could refer to one of the
 * candidate records' artifacts: same project, and for history the same commit
 * (the SHA is in the history key). Reading only these keeps a destroy cheap in
 * a bucket with a long history.
 */
export function selectReferenceKeys(
  keys: string[],
  input: { excluded: ReadonlySet<string>; candidates: LedgerRecord[] },
): string[] {
  const projects = new Set(input.candidates.map((r) => r.project));
  const commits = new Set(input.candidates.map((r) => `${r.project}@${r.gitSha}`));
  return keys.filter((key) => {
    const ledger = LEDGER_KEY.exec(key);
    if (ledger) return !input.excluded.has(ledger[1]) && projects.has(ledger[2]);
    const history = HISTORY_KEY.exec(key);
    return !!history && !input.excluded.has(history[1]) && commits.has(`${history[2]}@${history[3]}`);
  });
}

export interface DestroyPlan {
  /** Biomes being destroyed. */
  biomes: string[];
  /** Every key below `biomes/<b>/` of those biomes; each biome's `biome.json` comes last. */
  biomeKeys: string[];
  /** Artifacts only the destroyed biomes refer to. */
  deleteArtifacts: string[];
  /** Artifacts the destroyed biomes used that another biome still refers to. */
  keptArtifacts: { key: string; usedBy: string[] }[];
}

/**
 * Plans the removal of biomes: their keys, and the artifacts their ledgers and
 * histories refer to that no remaining biome's ledger or history record does.
 */
export function planDestroy(input: {
  biomes: string[];
  biomeKeys: string[];
  records: LedgerRecord[];
  references: LedgerRecord[];
  unreadable?: string[];
}): DestroyPlan {
  const destroyed = new Set(input.biomes);
  const usedBy = new Map<string, Set<string>>();
  const use = (key: string, by: string) => {
    if (!usedBy.has(key)) usedBy.set(key, new Set());
    usedBy.get(key)!.add(by);
  };
  for (const r of input.references) if (!destroyed.has(r.biome)) use(r.artifactKey, r.biome);
  const candidates = [...new Set(input.records.map((r) => r.artifactKey))].sort();
  // A record that cannot be read might name a candidate: keep whatever it could name (same project, and same commit for history).
  for (const key of input.unreadable ?? []) {
    const ledger = LEDGER_KEY.exec(key);
    const history = HISTORY_KEY.exec(key);
    const m = ledger ?? history;
    if (!m || destroyed.has(m[1])) continue;
    for (const c of input.records)
      if (c.project === m[2] && (!history || c.gitSha === history[3]))
        use(c.artifactKey, `${m[1]} (unreadable ${key})`);
  }
  const metaKeys = new Set(input.biomes.map(biomeMetaKey));
  // biome.json last: a destroy that stops half-way leaves the biome visible, and a re-run finishes it.
  const biomeKeys = [
    ...input.biomeKeys.filter((k) => !metaKeys.has(k)).sort(),
    ...input.biomeKeys.filter((k) => metaKeys.has(k)).sort(),
  ];
  return {
    biomes: [...input.biomes].sort(),
    biomeKeys,
    deleteArtifacts: candidates.filter((k) => !usedBy.has(k)),
    keptArtifacts: candidates
      .filter((k) => usedBy.has(k))
      .map((key) => ({ key, usedBy: [...usedBy.get(key)!].sort() })),
  };
}

/** The lines a person reads before (dry run) or while a destroy deletes: every key that goes, every artifact kept and why. */
export function describeDestroyPlan(plan: DestroyPlan, dryRun: boolean): string[] {
  const del = dryRun ? 'would delete' : 'delete';
  return [
    ...plan.deleteArtifacts.map((k) => `  ${del} ${k}`),
    ...plan.keptArtifacts.map((a) => `  keep   ${a.key} (still used by ${a.usedBy.join(', ')})`),
    ...plan.biomeKeys.map((k) => `  ${del} ${k}`),
  ];
}
