import { describe, expect, it } from 'vitest';
import { planDeployCommand } from './deploy-command';
import { failedRunError, FULL_TABLE_LIMIT, runCompletesBiome, summaryRows } from './deploy-run';
import { parseRunRecord } from './base';
import { deployTargetOf } from './inferred-targets';
import { selectRun } from './run-selection';

const sha = 'a'.repeat(40);

describe('the run record', () => {
  const finish = (
    over: Partial<{ succeeded: string[]; failed: string[]; skipped: string[]; dryRun: boolean }> = {},
  ) => ({ succeeded: ['a', 'b'], failed: [], skipped: [], dryRun: false, ...over });
  it("is written by a run that deployed every deployable, or an affected run from the biome's base, and nothing else", () => {
    expect(runCompletesBiome({ finish: finish(), deployables: ['a', 'b'], anyDirty: false })).toBe(true);
    expect(runCompletesBiome({ finish: finish({ succeeded: ['a'] }), deployables: ['a', 'b'], anyDirty: false })).toBe(
      false,
    );
    expect(
      runCompletesBiome({
        finish: finish({ succeeded: [] }),
        deployables: ['a', 'b'],
        anyDirty: false,
        affectedFromBiomeBase: true,
      }),
    ).toBe(true);
    expect(
      runCompletesBiome({
        finish: finish({ succeeded: ['a'] }),
        deployables: ['a', 'b'],
        anyDirty: false,
        affectedFromBiomeBase: false,
      }),
    ).toBe(false);
    expect(
      runCompletesBiome({
        finish: finish({ skipped: ['b'] }),
        deployables: ['a', 'b'],
        anyDirty: false,
        affectedFromBiomeBase: true,
      }),
    ).toBe(false);
    expect(runCompletesBiome({ finish: finish({ failed: ['b'] }), deployables: ['a', 'b'], anyDirty: false })).toBe(
      false,
    );
    expect(runCompletesBiome({ finish: finish({ dryRun: true }), deployables: ['a', 'b'], anyDirty: false })).toBe(
      false,
    );
    expect(runCompletesBiome({ finish: finish(), deployables: ['a', 'b'], anyDirty: true })).toBe(false);
  });

  it('parses; a malformed one is no record', () => {
    const run = parseRunRecord(
      JSON.stringify({ biome: 'dev-bob', gitSha: sha, finishedAt: '2026-12-01T00:00:00.000Z', projects: ['a'] }),
      'dev-bob',
    );
    expect(run).toMatchObject({ gitSha: sha, incarnation: 0, projects: ['a'] });
    expect(
      parseRunRecord(JSON.stringify({ biome: 'dev-other', gitSha: sha, finishedAt: 'x' }), 'dev-bob'),
    ).toBeUndefined();
    expect(parseRunRecord('{"biome":"dev-bob","gitSha":"HEAD","finishedAt":"x"}', 'dev-bob')).toBeUndefined();
    expect(parseRunRecord('not json', 'dev-bob')).toBeUndefined();
  });
});

describe('exit codes', () => {
  it("a failed task fails the run (exit 1); a stopped one is an interruption (Nx's 130 stands)", () => {
    expect(failedRunError([{ id: 'p:build', status: 'failure' }])?.code).toBe('RUN_FAILED');
    expect(failedRunError([{ id: 'p:build', status: 'failure' }])?.message).toMatch(/p:build/);
    expect(
      failedRunError([
        { id: 'p:build', status: 'failure' },
        { id: 'q:deploy', status: 'stopped' },
      ]),
    ).toBeUndefined();
    expect(
      failedRunError([
        { id: 'p:build', status: 'success' },
        { id: 'p:package', status: 'local-cache' },
      ]),
    ).toBeUndefined();
  });
});

describe('nx-biome deploy', () => {
  it('runs nx affected from the base, or run-many for a biome with no complete run, passing the rest through', () => {
    expect(
      planDeployCommand({ biome: 'dev-bob', base: sha, passThrough: ['--output-style=static', '--parallel', '2'] }),
    ).toEqual([
      'affected',
      '-t',
      'deploy',
      `--base=${sha}`,
      '--biome=dev-bob',
      '--output-style=static',
      '--parallel',
      '2',
    ]);
    expect(planDeployCommand({ biome: 'dev-bob', base: 'all', passThrough: [] })).toEqual([
      'run-many',
      '-t',
      'deploy',
      '--biome=dev-bob',
    ]);
  });
});

describe('the end-of-run table', () => {
  const projects = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      project: `svc-${String(i).padStart(4, '0')}`,
      kind: 'service',
      gitSha: sha,
      dirty: false,
      size: 1024,
      awsName: `geo-dev-bob--svc-${i}`,
    }));
  const deployed = (project: string) => ({
    project,
    kind: 'service' as const,
    biome: 'dev-bob',
    outcome: 'uploaded' as const,
    key: `artifacts/${project}/${project}-${sha}.zip`,
    size: 2048,
    gitSha: 'b'.repeat(40),
    dryRun: false,
  });
  const none = { failed: [], skipped: [] };
  const size = (n: number) => `${n} B`;

  it('lists every project of a small biome, touched or not', () => {
    const rows = summaryRows(projects(FULL_TABLE_LIMIT), [deployed('svc-0003')], none, size);
    expect(rows).toHaveLength(FULL_TABLE_LIMIT);
    expect(rows.filter((r) => r[2] === 'not in this run')).toHaveLength(FULL_TABLE_LIMIT - 1);
  });

  it("lists a large biome's run projects and folds the rest into one row", () => {
    const rows = summaryRows(
      projects(1000),
      [deployed('svc-0003')],
      { failed: ['svc-0500'], skipped: ['svc-0999'] },
      size,
    );
    expect(rows.map((r) => [r[0], r[2]])).toEqual([
      ['svc-0003', 'uploaded'],
      ['svc-0500', 'FAILED (record kept)'],
      ['svc-0999', 'skipped (record kept)'],
      ['… 997 more', 'not in this run'],
    ]);
  });

  it('lists the whole of a large biome when the run touched none of it (infra:deploy on its own)', () => {
    expect(summaryRows(projects(1000), [], none, size)).toHaveLength(1000);
  });
});

describe('a renamed deploy target (the plugin option deployTargetName)', () => {
  it('is read from the plugin entry of nx.json, and defaults to deploy', () => {
    expect(deployTargetOf(undefined)).toBe('deploy');
    expect(deployTargetOf(['@geo/nx-biome'])).toBe('deploy');
    expect(
      deployTargetOf([{ plugin: '@nx/js' }, { plugin: '@geo/nx-biome', options: { deployTargetName: 'ship' } }]),
    ).toBe('ship');
    // Not a target name: the plugin itself refuses it when Nx loads it; the hooks keep the default.
    expect(deployTargetOf([{ plugin: '@geo/nx-biome', options: { deployTargetName: '$(id)' } }])).toBe('deploy');
  });

  it('is what nx-biome deploy runs and what a command line is read for', () => {
    expect(planDeployCommand({ biome: 'dev-bob', base: 'all', passThrough: [], target: 'ship' })).toEqual([
      'run-many',
      '-t',
      'ship',
      '--biome=dev-bob',
    ]);
    const cmd = {
      command: 'run-many' as const,
      targets: ['ship'],
      projects: [],
      exclude: [],
      nxArgs: {},
      overrides: {},
    };
    expect(selectRun(cmd, 'ship').deploys).toBe(true);
    expect(selectRun(cmd).deploys).toBe(false);
  });
});
