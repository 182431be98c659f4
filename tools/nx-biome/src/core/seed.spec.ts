import { describe, expect, it } from 'vitest';
import { chooseAffectedBase, planDefaultBase } from './base';
import { LedgerRecord } from './ledger';
import { parseBiomeName } from './names';
import { planSeed, resolveSeedSource } from './seed';
import { testConfig } from './test-config';

const config = testConfig();
const SHA = (c: string) => c.repeat(40);
const NOW = new Date('2026-12-01T12:00:00.000Z');
const dev = parseBiomeName('dev', config);
const mr = parseBiomeName('dev-mr-7', config);

function record(project: string, gitSha: string, overrides: Partial<LedgerRecord> = {}): LedgerRecord {
  return {
    schemaVersion: 1,
    project,
    kind: 'service',
    biome: 'dev',
    environment: 'dev',
    artifactKey: `artifacts/${project}/${project}-${gitSha}.zip`,
    sha256: 'e'.repeat(64),
    size: 10,
    gitSha,
    dirty: false,
    deployedAt: '2026-11-20T10:00:00.000Z',
    deployedBy: 'ci',
    ciJobUrl: 'https://ci/1',
    sequence: 4,
    settings: { memorySize: 256 },
    ...overrides,
  };
}

describe('seeding a sandpit from its main biome', () => {
  it('only a sandpit, and only from the main biome of its own environment', () => {
    expect(resolveSeedSource(config, mr, 'dev').name).toBe('dev');
    expect(() => resolveSeedSource(config, mr, 'staging')).toThrow(expect.objectContaining({ code: 'SEED_INVALID' }));
    expect(() => resolveSeedSource(config, mr, 'dev-bob')).toThrow(/can be seeded only from dev/);
    expect(() => resolveSeedSource(config, dev, 'dev')).toThrow(/only sandpits are seeded/);
    expect(() => resolveSeedSource(config, mr, '')).toThrow(/--from was given without a value/);
  });

  it("copies every record: same key, sha256, size and commit; the sandpit's biome, time, author and settings; origin seed", () => {
    const plan = planSeed({
      source: dev,
      target: mr,
      sourceRecords: [record('a', SHA('1')), record('b', SHA('2'))],
      targetRecords: [],
      commit: SHA('2'),
      now: NOW,
      deployedBy: 'mia',
      resolve: (r) => ({ environment: { FROM: r.project } }) as never,
    });
    expect(plan.action).toBe('seed');
    if (plan.action !== 'seed') return;
    expect(plan.records[0]).toEqual({
      schemaVersion: 1,
      project: 'a',
      kind: 'service',
      biome: 'dev-mr-7',
      environment: 'dev',
      artifactKey: `artifacts/a/a-${SHA('1')}.zip`,
      sha256: 'e'.repeat(64),
      size: 10,
      gitSha: SHA('1'),
      dirty: false,
      deployedAt: NOW.toISOString(),
      deployedBy: 'mia',
      settings: { memorySize: 256 },
      origin: { action: 'seed', from: 'dev', commit: SHA('2') },
      resolvedSettings: { environment: { FROM: 'a' } },
    });
  });

  it('is done once: not over a seeded sandpit, nor one that deployed on its own; a seed cut short copies what is missing', () => {
    const input = {
      source: dev,
      target: mr,
      sourceRecords: [record('a', SHA('1')), record('b', SHA('1'))],
      commit: SHA('1'),
      now: NOW,
      deployedBy: 'mia',
      resolve: () => ({}) as never,
    };
    expect(
      planSeed({
        ...input,
        targetRecords: [],
        targetMeta: {
          schemaVersion: 1,
          biome: 'dev-mr-7',
          environment: 'dev',
          owner: 'mia',
          created: NOW.toISOString(),
          expires: null,
          asleep: false,
          seed: { from: 'dev', commit: SHA('1'), at: NOW.toISOString() },
        },
      }),
    ).toMatchObject({ action: 'skip', reason: expect.stringContaining('was seeded from dev') });
    expect(
      planSeed({
        ...input,
        targetRecords: [record('a', SHA('3'), { biome: 'dev-mr-7', origin: { action: 'deploy' } })],
      }),
    ).toMatchObject({ action: 'skip', reason: expect.stringContaining('1 project of its own') });
    expect(planSeed({ ...input, sourceRecords: [], targetRecords: [] })).toMatchObject({
      action: 'skip',
      reason: expect.stringContaining('dev records no deployed project yet'),
    });
    const half = planSeed({
      ...input,
      targetRecords: [
        record('a', SHA('1'), { biome: 'dev-mr-7', origin: { action: 'seed', from: 'dev', commit: SHA('1') } }),
      ],
    });
    expect(half).toMatchObject({ action: 'seed', kept: ['a'] });
    expect(half.action === 'seed' && half.records.map((r) => r.project)).toEqual(['b']);
  });

  it("the base of a seeded sandpit is the seed's commit until it deploys on its own, and the deploy says so", () => {
    const seeded = [
      record('a', SHA('1'), {
        biome: 'dev-mr-7',
        deployedAt: NOW.toISOString(),
        origin: { action: 'seed', from: 'dev', commit: SHA('2') },
      }),
    ];
    // Known checks the seed's commit, not the (older) commit the bytes were built from.
    expect(chooseAffectedBase(seeded, (s) => s === SHA('2'))).toEqual({
      base: SHA('2'),
      from: 'seed',
      seedFrom: 'dev',
    });
    expect(chooseAffectedBase(seeded, (s) => s === SHA('1'))).toEqual({ from: 'none' });
    const deployed = [
      ...seeded,
      record('b', SHA('3'), {
        biome: 'dev-mr-7',
        deployedAt: '2026-12-01T13:00:00.000Z',
        origin: { action: 'deploy' },
      }),
    ];
    expect(chooseAffectedBase(deployed, () => true)).toEqual({ base: SHA('3'), from: 'ledger' });
    const plan = planDefaultBase({
      biome: 'dev-mr-7',
      argv: ['affected', '-t', 'deploy'],
      biomeBase: SHA('9'),
      nxBaseSha: SHA('9'),
      seed: { from: 'dev', commit: SHA('2'), mergedWithHead: true },
    });
    expect(plan).toEqual({
      action: 'keep',
      base: SHA('9'),
      message: `dev-mr-7 was seeded from dev at ${SHA('2').slice(0, 8)}, which this branch lacks: deploying what changed since their merge base ${SHA('9').slice(0, 8)}.`,
    });
  });
});
