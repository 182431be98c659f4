import { describe, expect, it } from 'vitest';
import {
  ageClass,
  buildBoardModel,
  CommitChange,
  commitsTouching,
  formatAge,
  planBoardPairs,
  planCommitPairs,
} from './board';
import { parseColumnData, renderBoard } from './board-html';
import { judgeDrift, planDriftTargets } from './drift';
import { LedgerRecord } from './ledger';
import { parseBiomeName } from './names';
import { testConfig } from './test-config';

const config = testConfig();
const NOW = new Date('2026-11-30T12:00:00.000Z');
const sha = (c: string) => c.repeat(40);
const record = (biome: string, project: string, gitSha: string, bytes = gitSha): LedgerRecord => ({
  schemaVersion: 1,
  project,
  kind: 'service',
  biome,
  environment: biome.split('-')[0],
  artifactKey: `artifacts/${project}/${project}-${gitSha}.zip`,
  sha256: bytes.slice(0, 1).repeat(64),
  size: 1,
  gitSha,
  dirty: false,
  deployedAt: '2026-11-29T12:00:00.000Z',
  deployedBy: 'amy',
  settings: {},
});

describe('board view model', () => {
  it('ages are coarse and banded: a day, a week, a month', () => {
    expect([
      formatAge(30 * 60_000),
      formatAge(5 * 3_600_000),
      formatAge(3 * 86_400_000),
      formatAge(20 * 86_400_000),
      formatAge(90 * 86_400_000),
    ]).toEqual(['30m', '5h', '3d', '2w', '3mo']);
    expect([
      ageClass(3_600_000),
      ageClass(3 * 86_400_000),
      ageClass(10 * 86_400_000),
      ageClass(40 * 86_400_000),
    ]).toEqual(['a0', 'a1', 'a2', 'a3']);
  });

  it('compares each sandpit with its main biome and each main biome with the previous environment', () => {
    const refs = ['prod', 'dev-bob', 'dev', 'staging', 'dev-amy'].map((n) => parseBiomeName(n, config));
    expect(planBoardPairs(refs, config)).toEqual([
      { from: 'dev', to: 'dev-bob' },
      { from: 'dev', to: 'dev-amy' },
      { from: 'staging', to: 'dev' },
      { from: 'prod', to: 'staging' },
    ]);
    // No main biome of dev in the store: its sandpits get no diff page.
    expect(planBoardPairs([parseBiomeName('dev-bob', config)], config)).toEqual([]);
  });

  it('asks git once per distinct pair of commits, only for commits the clone has', () => {
    const ledgers = new Map([
      ['dev', [record('dev', 'a', sha('1')), record('dev', 'b', sha('1')), record('dev', 'c', sha('3'))]],
      [
        'dev-bob',
        [record('dev-bob', 'a', sha('2')), record('dev-bob', 'b', sha('2')), record('dev-bob', 'c', sha('4'))],
      ],
    ]);
    expect(
      planCommitPairs({
        pairs: [{ from: 'dev', to: 'dev-bob' }],
        ledgers,
        known: new Set([sha('1'), sha('2'), sha('3')]),
      }),
    ).toEqual([{ from: sha('1'), to: sha('2') }]);
  });

  it('keeps the commits that touch a project folder, not a folder that only starts the same way', () => {
    const c = (s: string, files: string[]): CommitChange => ({
      sha: sha(s),
      subject: s,
      author: 'amy',
      date: '',
      files,
    });
    const changes = {
      ahead: [
        c('1', ['apps/services/assay/main.ts']),
        c('2', ['apps/services/assay-ingest/main.ts']),
        c('3', ['libs/x.ts']),
      ],
      behind: [c('4', ['apps/services/assay/README.md'])],
      truncated: false,
    };
    const range = commitsTouching(changes, 'apps/services/assay', 30);
    expect(range.ahead.map((x) => x.subject)).toEqual(['1']);
    expect(range.behind.map((x) => x.subject)).toEqual(['4']);
    expect(commitsTouching(changes, 'apps/services/assay', 0).truncated).toBe(true);
  });

  it('marks a cell with the later environments whose main biome runs the same bytes', () => {
    const model = buildBoardModel({
      config,
      now: NOW,
      stores: {},
      biomes: [
        {
          biome: parseBiomeName('dev-bob', config),
          records: [record('dev-bob', 'a', sha('1')), record('dev-bob', 'b', sha('2'))],
          history: [],
          historyTotal: 0,
        },
      ],
      references: new Map([
        ['dev', [record('dev', 'a', sha('1'))]],
        ['staging', [record('staging', 'a', sha('1')), record('staging', 'b', sha('3'))]],
        ['prod', [record('prod', 'a', sha('1')), record('prod', 'b', sha('2'))]],
      ]),
      commits: new Map(),
      ranges: new Map(),
      projectRoots: {},
      pairs: [],
    });
    expect(model.projects.map((p) => [p.project, model.cells[0][p.project]?.sameAs])).toEqual([
      ['a', ['staging', 'prod']],
      ['b', ['prod']],
    ]);
    expect(model.cells[0].a).toMatchObject({ short: '11111111', age: '24h', ageClass: 'a1', who: 'amy' });
  });
});

describe('drift judgement', () => {
  const biome = parseBiomeName('staging', config);
  const [target] = planDriftTargets({
    config,
    biome,
    records: [{ ...record('staging', 'assay-ingest', sha('1')), sha256: 'ab'.repeat(32) }],
  });

  it('names the function as the tfvars do and expects the base64 CodeSha256 of the ledger sha256', () => {
    expect(target.lambda).toEqual({
      functionName: 'geo-staging--assay-ingest',
      codeSha256: Buffer.from('ab'.repeat(32), 'hex').toString('base64'),
    });
  });

  it('a throttled call is unchecked, never drift; a different CodeSha256 is drift', () => {
    expect(
      judgeDrift(target, { failure: 'throttled', message: 'Lambda GetFunction answered TooManyRequestsException' })
        .status,
    ).toBe('unchecked');
    expect(
      judgeDrift(target, { found: true, codeSha256: target.lambda!.codeSha256, version: '$LATEST', tags: {} }).status,
    ).toBe('ok');
    expect(
      judgeDrift(target, { found: true, codeSha256: 'AAAA', version: '$LATEST', tags: { 'biome:git-sha': sha('9') } }),
    ).toMatchObject({ status: 'drift', running: sha('9') });
    expect(judgeDrift(target, { found: false }).status).toBe('missing');
  });
});

describe('board pages: the index stays small as biomes grow', () => {
  const projects = Array.from({ length: 200 }, (_, i) => `svc-${String(i).padStart(3, '0')}`);
  const boardOf = (sandpits: number) => {
    const names = ['dev', 'staging', 'prod', ...Array.from({ length: sandpits }, (_, i) => `dev-s${i}`)];
    const model = buildBoardModel({
      config,
      now: NOW,
      stores: {},
      biomes: names.map((name, b) => ({
        biome: parseBiomeName(name, config),
        records: projects.map((p, i) => record(name, p, sha(String((i + b) % 10)))),
        history: [],
        historyTotal: 0,
      })),
      references: new Map(),
      commits: new Map(),
      ranges: new Map(),
      projectRoots: {},
      pairs: [],
    });
    return renderBoard(model);
  };

  it('a sandpit adds a row to the biome table, not a column of cells: its cells are in data/<biome>.js', () => {
    const small = boardOf(0);
    const large = boardOf(27);
    const bytes = (files: Map<string, string>) => Buffer.byteLength(files.get('index.html')!);
    // 27 more biomes of 200 projects: inline cells would add ~1.3 MB; the index grows by its biome table only.
    expect(bytes(large)).toBeLessThan(2 * bytes(small));
    expect(bytes(large) - bytes(small)).toBeLessThan(27 * 1024);
    expect(bytes(large)).toBeLessThan(100 * 1024);
    // The index loads the main biomes' columns, and names no sandpit's data file (those load when picked).
    const index = large.get('index.html')!;
    expect(index).toContain('<script src="data/dev.js"></script>');
    expect(index).toContain('<script src="data/prod.js"></script>');
    expect(index).not.toContain('data/dev-s3.js');
    const column = parseColumnData(large.get('data/dev-s3.js')!);
    expect(column.biome).toBe('dev-s3');
    expect(Object.keys(column.cells)).toHaveLength(200);
    const [commit, age, , who] = column.cells['svc-001'];
    expect([column.commits[commit][0], age, who]).toEqual([sha(String((1 + 6) % 10)), '24h', 'amy']);
  });
});
