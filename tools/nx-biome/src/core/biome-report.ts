import { BiomeMeta, LedgerRecord } from './ledger';
import { BiomeSummary, describeCommit, formatTime } from './lifecycle';
import { dataSetRows } from './settings';
import { renderTable } from './table';

function expiresCell(s: BiomeSummary): string {
  if (!s.sandpit) return 'never (main)';
  if (!s.expires) return '-';
  return s.expired ? `EXPIRED ${formatTime(s.expires)}` : formatTime(s.expires);
}

/**
 * The `list` table of one environment, within 120 columns: the project
 * names and the full commit are in `--json` and in `show`; an asleep biome
 * says so beside its name.
 */
export function renderBiomeList(summaries: BiomeSummary[]): string {
  return renderTable(
    ['biome', 'owner', 'projects', 'last commit', 'last deploy', 'expires'],
    summaries.map((s) => [
      s.asleep ? `${s.biome} (asleep)` : s.biome,
      s.owner,
      s.projects.length,
      s.lastCommit ? describeCommit(s.lastCommit.sha, s.lastCommit.subject, 24) : '-',
      formatTime(s.lastDeployedAt),
      expiresCell(s),
    ]),
  );
}

/** The commit in an artifact's name (`<name>-<sha>[-dirty-<hash>].<ext>`), else the record's git SHA. */
function artifactCommit(r: LedgerRecord): string {
  const file = r.artifactKey.split('/').pop() ?? '';
  return file.startsWith(`${r.project}-`) ? file.slice(r.project.length + 1).replace(/\.(zip|tar\.gz)$/, '') : r.gitSha;
}

/** Where a record came from, for a person: `deploy`, `promote from dev-bob`, `seed from dev @1a2b3c4d`, `rollback`. */
export function describeOrigin(r: LedgerRecord): string {
  const action = r.origin?.action ?? 'deploy';
  if (action === 'seed' && r.origin?.from)
    return `seed from ${r.origin.from}${r.origin.commit ? ` @${r.origin.commit.slice(0, 8)}` : ''}`;
  return action === 'promote' && r.origin?.from ? `promote from ${r.origin.from}` : action;
}

/** The `show` report of one biome: a header, what runs (with commits), and the artifacts. */
export function renderBiomeShow(input: {
  biome: string;
  environment: string;
  sandpit: boolean;
  store: string;
  meta?: BiomeMeta;
  records: LedgerRecord[];
  subjects: Map<string, string>;
  dataSetBucket?: string;
}): string {
  const { meta } = input;
  const header = [
    `biome ${input.biome} (${input.environment}, ${input.sandpit ? 'sandpit' : 'main biome'}) in ${input.store}`,
    `owner ${meta?.owner ?? 'unknown'} · created ${formatTime(meta?.created)} · expires ${input.sandpit ? formatTime(meta?.expires) : 'never'} · ${meta?.asleep ? 'asleep' : 'awake'} · last deploy ${formatTime(meta?.lastDeployedAt)}`,
  ];
  if (input.records.length === 0) return [...header, 'no project deployed yet'].join('\n');
  const runs = renderTable(
    ['project', 'kind', 'commit', 'deployed', 'by', 'origin'],
    input.records.map((r) => [
      r.project,
      r.kind,
      `${describeCommit(r.gitSha, input.subjects.get(r.gitSha), 28)}${r.dirty ? ' DIRTY' : ''}`,
      formatTime(r.deployedAt),
      r.deployedBy,
      describeOrigin(r),
    ]),
  );
  // The full git SHA names the artifact (artifacts/<project>/<project>-<sha>.<ext>); the whole
  // sha256 and key are in --json: here they would push the table past 120 columns.
  const artifacts = renderTable(
    ['project', 'artifact commit', 'sha256'],
    input.records.map((r) => [r.project, artifactCommit(r), `${r.sha256.slice(0, 16)}…`]),
  );
  const jobs = input.records.filter((r) => r.ciJobUrl);
  const jobTable = jobs.length
    ? [
        renderTable(
          ['project', 'CI job'],
          jobs.map((r) => [r.project, r.ciJobUrl!]),
        ),
      ]
    : [];
  const more = `full records (keys, sha256, settings): npx nx-biome show --biome=${input.biome}`;
  return [...header, runs, artifacts, ...jobTable, ...dataSetSection(input.records, input.dataSetBucket), more].join(
    '\n',
  );
}

/** The shared data sets each project reads (read-only), as its record resolved them; nothing when none does. */
function dataSetSection(records: LedgerRecord[], bucket = '<data-set bucket>'): string[] {
  const entries = records
    .filter((r) => r.resolvedSettings)
    .map((r) => ({ project: r.project, resolved: r.resolvedSettings! }));
  const rows = dataSetRows(entries, bucket);
  return rows.length ? [`data sets read (read-only):\n${renderTable(['project', 'data set', 'location'], rows)}`] : [];
}
