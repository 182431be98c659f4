import { BiomeMeta, LedgerRecord } from './ledger';
import { BiomeSummary, describeCommit, formatTime } from './lifecycle';
import { dataSetRows } from './settings';
import { renderTable } from './table';

function projectsCell(projects: string[]): string {
  if (projects.length <= 3) return projects.join(', ') || '-';
  return `${projects.slice(0, 3).join(', ')} +${projects.length - 3} more`;
}

function expiresCell(s: BiomeSummary): string {
  if (!s.sandpit) return 'never (main)';
  if (!s.expires) return '-';
  return s.expired ? `EXPIRED ${formatTime(s.expires)}` : formatTime(s.expires);
}

/** The `list` table of one environment. */
export function renderBiomeList(summaries: BiomeSummary[]): string {
  return renderTable(
    ['biome', 'owner', 'projects', 'last commit', 'last deploy', 'expires', 'state'],
    summaries.map((s) => [s.biome, s.owner, projectsCell(s.projects), s.lastCommit ? describeCommit(s.lastCommit.sha, s.lastCommit.subject, 40) : '-', formatTime(s.lastDeployedAt), expiresCell(s), s.asleep ? 'asleep' : 'awake']),
  );
}

/** Where a record came from, for a person: `deploy`, `promote from dev-bob`, `seed from dev @1a2b3c4d`, `rollback`. */
export function describeOrigin(r: LedgerRecord): string {
  const action = r.origin?.action ?? 'deploy';
  if (action === 'seed' && r.origin?.from) return `seed from ${r.origin.from}${r.origin.commit ? ` @${r.origin.commit.slice(0, 8)}` : ''}`;
  return action === 'promote' && r.origin?.from ? `promote from ${r.origin.from}` : action;
}

/** The `show` report of one biome: a header, what runs (with commits), and the artifacts. */
export function renderBiomeShow(input: { biome: string; environment: string; sandpit: boolean; store: string; meta?: BiomeMeta; records: LedgerRecord[]; subjects: Map<string, string>; dataSetBucket?: string }): string {
  const { meta } = input;
  const header = [
    `biome ${input.biome} (${input.environment}, ${input.sandpit ? 'sandpit' : 'main biome'}) in ${input.store}`,
    `owner ${meta?.owner ?? 'unknown'} · created ${formatTime(meta?.created)} · expires ${input.sandpit ? formatTime(meta?.expires) : 'never'} · ${meta?.asleep ? 'asleep' : 'awake'} · last deploy ${formatTime(meta?.lastDeployedAt)}`,
  ];
  if (input.records.length === 0) return [...header, 'no project deployed yet'].join('\n');
  const runs = renderTable(
    ['project', 'kind', 'commit', 'deployed', 'by', 'origin', 'dirty'],
    input.records.map((r) => [r.project, r.kind, describeCommit(r.gitSha, input.subjects.get(r.gitSha)), formatTime(r.deployedAt), r.deployedBy, describeOrigin(r), r.dirty ? 'DIRTY' : 'no']),
  );
  const artifacts = renderTable(
    // The full git SHA is in the artifact key.
    ['project', 'artifact', 'sha256', 'CI job'],
    input.records.map((r) => [r.project, r.artifactKey, r.sha256, r.ciJobUrl ?? '-']),
  );
  return [...header, runs, artifacts, ...dataSetSection(input.records, input.dataSetBucket)].join('\n');
}

/** The shared data sets each project reads (read-only), as its record resolved them; nothing when none does. */
function dataSetSection(records: LedgerRecord[], bucket = '<data-set bucket>'): string[] {
  const entries = records.filter((r) => r.resolvedSettings).map((r) => ({ project: r.project, resolved: r.resolvedSettings! }));
  const rows = dataSetRows(entries, bucket);
  return rows.length ? [`data sets read (read-only):\n${renderTable(['project', 'data set', 'location'], rows)}`] : [];
}
