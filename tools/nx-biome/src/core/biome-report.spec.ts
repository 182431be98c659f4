import { describe, expect, it } from 'vitest';
import { renderBiomeList, renderBiomeShow } from './biome-report';
import { LedgerRecord } from './ledger';
import { BiomeSummary } from './lifecycle';
import { MAX_TABLE_WIDTH, renderTable } from './table';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const widest = (text: string) => Math.max(...text.split('\n').map((l) => [...l].length));

function record(project: string, extra: Partial<LedgerRecord> = {}): LedgerRecord {
  return {
    schemaVersion: 1,
    project,
    kind: 'service',
    biome: 'dev-a-rather-long-sandpit',
    environment: 'dev',
    artifactKey: `artifacts/${project}/${project}-${SHA}.zip`,
    sha256: 'f0'.repeat(32),
    size: 1,
    gitSha: SHA,
    dirty: false,
    deployedAt: '2026-11-20T10:00:00.000Z',
    deployedBy: 'someone.with.a.long.name@example.com',
    ciJobUrl: 'https://gitlab.example.com/geo/platform/delivery/-/jobs/12345678901',
    origin: { action: 'promote', from: 'dev-another-long-sandpit' },
    settings: {},
    ...extra,
  } as LedgerRecord;
}

describe('biome tables fit 120 columns', () => {
  it('list: long names, owners and subjects stay within 120 columns; names of an asleep biome say so', () => {
    const summaries: BiomeSummary[] = ['dev-a-rather-long-sandpit', 'dev-bob'].map((biome, i) => ({
      biome,
      environment: 'dev',
      sandpit: true,
      owner: 'someone.with.a.long.name@example.com',
      projects: ['assay-ingest', 'grade-predict', 'ore-grade', 'plant-feed'],
      lastCommit: { sha: SHA, subject: 'a very long commit subject that goes on and on about what changed' },
      lastDeployedAt: '2026-11-20T10:00:00.000Z',
      expires: '2026-11-23T10:00:00.000Z',
      expired: i === 0,
      asleep: i === 1,
    }));
    const text = renderBiomeList(summaries);
    expect(widest(text)).toBeLessThanOrEqual(MAX_TABLE_WIDTH);
    expect(text).toContain('dev-bob (asleep)');
    expect(text).toMatch(/│ 4 +│ 01234567 a very/);
  });

  it("show: the artifact's full git SHA, a sha256 prefix and the whole CI job URL within 120 columns, and where the full records are", () => {
    const records = [
      record('assay-ingest'),
      record('grade-predict', { dirty: true }),
      record('plant-feed-with-a-long-name'),
    ];
    const text = renderBiomeShow({
      biome: 'dev-a-rather-long-sandpit',
      environment: 'dev',
      sandpit: true,
      store: 's3://geo-artifacts-dev-111111111111/some/prefix',
      records,
      subjects: new Map([[SHA, 'a very long commit subject that goes on and on']]),
    });
    for (const line of text.split('\n'))
      if (line.startsWith('│') || line.startsWith('┌'))
        expect([...line].length, line).toBeLessThanOrEqual(MAX_TABLE_WIDTH);
    expect(text).toMatch(new RegExp(`│ assay-ingest +│ ${SHA} │ f0f0f0f0f0f0f0f0… │`));
    expect(text).toContain(
      '│ plant-feed-with-a-long-name │ https://gitlab.example.com/geo/platform/delivery/-/jobs/12345678901 │',
    );
    expect(text).toMatch(/DIRTY/);
    expect(text).toContain(
      'full records (keys, sha256, settings): npx nx-biome show --biome=dev-a-rather-long-sandpit',
    );
  });

  it('any table: wide cells wrap at word boundaries, a word wider than its column is cut with …, narrow tables are untouched', () => {
    const wide = renderTable(['a', 'b'], [['x'.repeat(200), 'many short words '.repeat(20)]]);
    expect(widest(wide)).toBeLessThanOrEqual(MAX_TABLE_WIDTH);
    expect(wide).toContain('…');
    expect(wide.split('\n').length).toBeGreaterThan(5);
    expect(renderTable(['a'], [['short']])).toBe('┌───────┐\n│ a     │\n├───────┤\n│ short │\n└───────┘');
  });
});
