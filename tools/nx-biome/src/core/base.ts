import { LedgerRecord } from './ledger';

/**
 * The commit to use as `--base` of `nx affected` for a biome: the newest
 * deployed commit that the local repository has (clean records only), else
 * the fallback (e.g. the merge base for a new biome).
 */
export function chooseAffectedBase(records: LedgerRecord[], known: (sha: string) => boolean, fallback?: string): { base?: string; from: 'ledger' | 'fallback' | 'none' } {
  const newest = [...records].filter((r) => !r.dirty && known(r.gitSha)).sort((a, b) => Date.parse(b.deployedAt) - Date.parse(a.deployedAt))[0];
  if (newest) return { base: newest.gitSha, from: 'ledger' };
  return fallback ? { base: fallback, from: 'fallback' } : { from: 'none' };
}
