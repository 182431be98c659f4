import { BiomeError } from './errors';
import { canonicalJson, historyKey, LedgerRecord } from './ledger';

const SHA_PREFIX = /^[0-9a-f]{7,40}$/;

/** Checks a `--to` commit: 7 to 40 lowercase hex characters. */
export function parseShaPrefix(to: string): string {
  const sha = String(to).trim().toLowerCase();
  if (!SHA_PREFIX.test(sha))
    throw new BiomeError(
      'ROLLBACK_INVALID',
      `--to=${JSON.stringify(to)} is not a commit SHA.`,
      'Pass a commit SHA (at least 7 hex characters) that the biome deployed before, e.g. from nx run infra:biome-show.',
    );
  return sha;
}

const sameDeployment = (a: LedgerRecord, b: LedgerRecord) =>
  a.sha256 === b.sha256 && canonicalJson(a.settings) === canonicalJson(b.settings);

/**
 * The record a rollback of one project restores: the newest history record
 * before the current one that deployed other bytes or settings. When the
 * current record is itself a rollback, the walk starts from the record it
 * restored, so repeated rollbacks keep going back instead of toggling.
 */
export function previousRecord(current: LedgerRecord, history: LedgerRecord[]): LedgerRecord | undefined {
  const keys = history.map(historyKey);
  let at = current.origin?.action === 'rollback' && current.origin.from ? keys.indexOf(current.origin.from) : -1;
  if (at < 0) at = keys.lastIndexOf(historyKey(current));
  if (at < 0) at = history.length;
  for (let i = at - 1; i >= 0; i--) if (!sameDeployment(history[i], current)) return history[i];
  return undefined;
}

/** The newest history record of a commit (by SHA prefix); ROLLBACK_INVALID when the prefix is ambiguous. */
export function recordAtSha(history: LedgerRecord[], sha: string): LedgerRecord | undefined {
  const matches = history.filter((r) => r.gitSha.startsWith(sha) && !r.dirty);
  const commits = [...new Set(matches.map((r) => r.gitSha))];
  if (commits.length > 1)
    throw new BiomeError(
      'ROLLBACK_INVALID',
      `--to=${sha} matches several commits: ${commits.join(', ')}.`,
      'Give more characters of the SHA.',
    );
  return matches[matches.length - 1];
}

/** Clean artifact keys of a project at a commit (by SHA prefix), from a listing of `artifacts/<project>/`. */
export function artifactKeysAtSha(keys: string[], project: string, sha: string): string[] {
  const pattern = new RegExp(`^artifacts/${project}/${project}-(${sha}[0-9a-f]*)\\.(zip|tar\\.gz)$`);
  const matches = keys.filter((k) => pattern.test(k));
  const commits = [...new Set(matches.map((k) => pattern.exec(k)![1]))];
  if (commits.length > 1)
    throw new BiomeError(
      'ROLLBACK_INVALID',
      `--to=${sha} matches several commits of ${project}: ${commits.join(', ')}.`,
      'Give more characters of the SHA.',
    );
  return matches;
}

/**
 * The projects the biome's last change wrote: a deploy run writes every
 * changed project at one commit, while a promotion or rollback writes all its
 * records with one timestamp. Rolling back "the biome" undoes that change and
 * leaves projects it did not touch alone.
 */
export function lastChangeProjects(records: LedgerRecord[]): string[] {
  const group = (r: LedgerRecord) =>
    (r.origin?.action ?? 'deploy') === 'deploy' ? `deploy:${r.gitSha}` : `${r.origin!.action}:${r.deployedAt}`;
  const newest = [...records].sort((a, b) => Date.parse(b.deployedAt) - Date.parse(a.deployedAt))[0];
  if (!newest) return [];
  return records
    .filter((r) => group(r) === group(newest))
    .map((r) => r.project)
    .sort();
}

/** The record a rollback writes: the restored deployment, stamped with who and when. */
export function rollbackRecord(
  restored: LedgerRecord,
  input: { current: LedgerRecord; now: Date; deployedBy: string; ciJobUrl?: string; from: string },
): LedgerRecord {
  const { ciJobUrl: _ignored, ...rest } = restored;
  return {
    ...rest,
    biome: input.current.biome,
    environment: input.current.environment,
    deployedAt: input.now.toISOString(),
    deployedBy: input.deployedBy,
    ...(input.ciJobUrl ? { ciJobUrl: input.ciJobUrl } : {}),
    origin: { action: 'rollback', from: input.from },
  };
}
