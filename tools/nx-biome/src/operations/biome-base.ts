import { chooseAffectedBase, recordBiomeCommit } from '../core/base';
import { LedgerRecord } from '../core/ledger';
import { GitPort } from '../adapters/git';
import { StorePort } from '../adapters/store/store';
import { readLedger } from './ledger-store';
import { readRunRecord } from './run-record';

/** A biome's `nx affected` base, and where it came from. */
export interface BiomeBase {
  /** The commit to compare with (or the fallback as given); undefined when neither exists. */
  base?: string;
  /** run: its last complete deploy run; seed: the main biome's commit a seeded sandpit started at; fallback; none. */
  from: 'run' | 'ledger' | 'seed' | 'fallback' | 'none';
  /** For a seed: the main biome it was seeded from and the commit recorded there. */
  seed?: { from?: string; commit: string };
  /** For a seed the branch lacks: the merge base with HEAD that `base` is instead. */
  mergedWithHead?: boolean;
  records: LedgerRecord[];
}

/**
 * The one answer to "since which commit does this biome need deploying?"
 * (`nx-biome base`, `infra:biome-base`, the pre-run check of `nx affected`
 * without `--base`, `infra:deploy-plan`, `nx-biome deploy`): the commit of the
 * biome's last complete deploy run (its run record) this clone has, never the
 * newest record (a run cut short leaves the others behind). With no complete
 * run, a seeded sandpit answers the main
 * biome's commit it started at, or, when the branch is behind it (HEAD lacks
 * it), their merge base: the branch's own changes are what gets deployed, and
 * what the main biome changed since stays as the seed copied it.
 */
export async function findBiomeBase(input: {
  store: StorePort;
  biome: string;
  git: GitPort;
  fallback?: string;
  records?: LedgerRecord[];
}): Promise<BiomeBase> {
  const [records, run] = await Promise.all([
    input.records ?? readLedger(input.store, input.biome),
    readRunRecord(input.store, input.biome),
  ]);
  if (run && (await input.git.commitSubjects([run.gitSha])).has(run.gitSha))
    return { base: run.gitSha, from: 'run', records };
  // No complete run: only the seed is a base (every project was at the main biome's commit it copied).
  const seeds = records.filter((r) => r.origin?.action === 'seed');
  const known = await input.git.commitSubjects(seeds.map(recordBiomeCommit));
  const chosen =
    seeds.length > 0
      ? chooseAffectedBase(seeds, (sha) => known.has(sha), input.fallback)
      : input.fallback
        ? { base: input.fallback, from: 'fallback' as const }
        : { from: 'none' as const };
  if (chosen.from !== 'seed' || !chosen.base) return { base: chosen.base, from: chosen.from, records };
  const seed = { ...(chosen.seedFrom ? { from: chosen.seedFrom } : {}), commit: chosen.base };
  const head = await input.git.headSha();
  if ((await input.git.isAncestor(chosen.base, head)) !== false)
    return { base: chosen.base, from: 'seed', seed, records };
  const merged = await input.git.mergeBase(chosen.base, head);
  // No common history at all: the seed commit itself (Nx then compares the two trees).
  return merged
    ? { base: merged, from: 'seed', seed, mergedWithHead: true, records }
    : { base: chosen.base, from: 'seed', seed, records };
}

/** One line saying which base a biome's deploy starts from, for logs. */
export function describeBiomeBase(biome: string, found: BiomeBase): string {
  if (found.from === 'seed') {
    const at = `seeded from ${found.seed?.from ?? 'its main biome'} at ${found.seed!.commit}`;
    return found.mergedWithHead
      ? `${biome} was ${at}, which this branch lacks: its merge base ${found.base}`
      : `${biome} was ${at}: ${found.base}`;
  }
  return `${found.from === 'run' || found.from === 'ledger' ? 'last complete deploy run of' : 'no complete deploy run in'} ${biome}: ${found.base}`;
}
