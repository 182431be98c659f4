import { describe, expect, it } from 'vitest';
import { BiomeError } from './errors';
import { planDestroy, selectReferenceKeys } from './gc';
import { BiomeMeta, LedgerRecord } from './ledger';
import {
  biomesInKeys,
  nearBiomeNames,
  planBiomeCreate,
  planBiomeSleep,
  planNewBiome,
  planReap,
  summarizeBiome,
  validateTtlHours,
} from './lifecycle';
import { parseBiomeName } from './names';
import { planPromotion, resolvePromotionTarget } from './promotion';
import { lastChangeProjects, previousRecord, recordAtSha, rollbackRecord } from './rollback';
import { historyKey } from './ledger';
import { testConfig } from './test-config';

const config = testConfig();
const SHA = (c: string) => c.repeat(40);
const NOW = new Date('2026-11-26T12:00:00.000Z');

function record(project: string, gitSha: string, overrides: Partial<LedgerRecord> = {}): LedgerRecord {
  return {
    schemaVersion: 1,
    project,
    kind: 'service',
    biome: 'dev-bob',
    environment: 'dev',
    artifactKey: `artifacts/${project}/${project}-${gitSha}.zip`,
    sha256: gitSha.slice(0, 1).repeat(64),
    size: 10,
    gitSha,
    dirty: false,
    deployedAt: '2026-11-20T10:00:00.000Z',
    deployedBy: 'bob',
    settings: {},
    ...overrides,
  };
}
const meta = (biome: string, expires: string | null, asleep = false): BiomeMeta => ({
  schemaVersion: 1,
  biome,
  environment: 'dev',
  owner: 'bob',
  created: '2026-11-01T00:00:00.000Z',
  expires,
  asleep,
});

describe('biome lifecycle plans', () => {
  it('finds biome names in a key listing', () => {
    expect(
      biomesInKeys([
        'biomes/dev-bob/biome.json',
        'biomes/dev-bob/ledger/a.json',
        'biomes/dev/ledger/a.json',
        'artifacts/a/x.zip',
      ]),
    ).toEqual(['dev', 'dev-bob']);
  });

  it('create gives a sandpit the TTL and a main biome no expiry; extend keeps the owner unless one is given', () => {
    const sandpit = planBiomeCreate({
      biome: parseBiomeName('dev-bob', config),
      defaultOwner: 'bob',
      ttlHours: 24,
      now: NOW,
    });
    expect(sandpit).toMatchObject({
      action: 'created',
      meta: { owner: 'bob', expires: '2026-11-27T12:00:00.000Z', asleep: false },
    });
    expect(
      planBiomeCreate({ biome: parseBiomeName('staging', config), defaultOwner: 'ci', ttlHours: 24, now: NOW }).meta
        .expires,
    ).toBeNull();
    const extended = planBiomeCreate({
      existing: meta('dev-bob', '2026-11-26T13:00:00.000Z', true),
      biome: parseBiomeName('dev-bob', config),
      defaultOwner: 'alice',
      ttlHours: 48,
      now: NOW,
    });
    expect(extended).toMatchObject({
      action: 'extended',
      meta: { owner: 'bob', expires: '2026-11-28T12:00:00.000Z', asleep: true },
    });
  });

  it('a new owner without --ttl keeps the expiry; a TTL under an hour is refused', () => {
    const existing = { ...meta('dev-bob', '2026-11-26T13:00:00.000Z'), ttlHours: 24 };
    const handed = planBiomeCreate({
      existing,
      biome: parseBiomeName('dev-bob', config),
      owner: 'carol',
      defaultOwner: 'alice',
      ttlHours: 72,
      ttlGiven: false,
      now: NOW,
    });
    expect(handed.meta).toMatchObject({ owner: 'carol', expires: '2026-11-26T13:00:00.000Z', ttlHours: 24 });
    for (const ttl of [0.0003, 0.5, 0, -1])
      expect(() => validateTtlHours(ttl)).toThrow(expect.objectContaining({ code: 'OPTIONS_INVALID' }));
    expect(validateTtlHours(1)).toBe(1);
  });

  it('sleep refuses a main biome and an unknown one', () => {
    expect(() =>
      planBiomeSleep({ meta: meta('dev', null), biome: parseBiomeName('dev', config), asleep: true }),
    ).toThrow(expect.objectContaining({ code: 'BIOME_MAIN_PROTECTED' }));
    expect(() => planBiomeSleep({ biome: parseBiomeName('dev-x', config), asleep: true })).toThrow(
      expect.objectContaining({ code: 'BIOME_NOT_FOUND' }),
    );
    expect(
      planBiomeSleep({ meta: meta('dev-bob', null), biome: parseBiomeName('dev-bob', config), asleep: true }),
    ).toMatchObject({ changed: true, meta: { asleep: true } });
  });

  it('reap picks expired sandpits only, never a main biome', () => {
    const { expired, skipped } = planReap(
      [
        { biome: 'dev', sandpit: false, meta: meta('dev', '2020-01-01T00:00:00.000Z') },
        { biome: 'dev-old', sandpit: true, meta: meta('dev-old', '2026-11-26T11:59:59.000Z') },
        { biome: 'dev-new', sandpit: true, meta: meta('dev-new', '2026-11-26T12:00:01.000Z') },
        { biome: 'dev-bare', sandpit: true },
      ],
      NOW,
    );
    expect(expired.map((c) => c.biome)).toEqual(['dev-old']);
    expect(skipped.map((s) => s.biome)).toEqual(['dev-bare']);
  });

  it('reap dates a sandpit whose biome.json is unusable (expires "never") by its newest record, never skipping it forever', () => {
    const old = '2026-11-20T00:00:00.000Z';
    const { expired, skipped } = planReap(
      [
        { biome: 'dev-never', sandpit: true, invalid: 'invalid expires "never"', lastDeployedAt: old },
        {
          biome: 'dev-fresh',
          sandpit: true,
          invalid: 'invalid expires "never"',
          lastDeployedAt: '2026-11-26T11:00:00.000Z',
        },
        { biome: 'dev-empty', sandpit: true, invalid: 'invalid expires "never"' },
      ],
      NOW,
      72,
    );
    expect(expired.map((c) => c.biome)).toEqual(['dev-never']);
    expect(skipped).toEqual([
      {
        biome: 'dev-empty',
        why: expect.stringMatching(
          /invalid expires "never" and no valid ledger record.*biome-repair --biome=dev-empty/,
        ),
      },
    ]);
  });

  it('summarises the newest record with its commit subject', () => {
    const s = summarizeBiome({
      biome: parseBiomeName('dev-bob', config),
      meta: meta('dev-bob', '2026-11-26T11:00:00.000Z'),
      records: [record('a', SHA('a')), record('b', SHA('b'), { deployedAt: '2026-11-21T00:00:00.000Z' })],
      subjects: new Map([[SHA('b'), 'b: faster']]),
      now: NOW,
    });
    expect(s).toMatchObject({
      owner: 'bob',
      projects: ['a', 'b'],
      lastCommit: { sha: SHA('b'), subject: 'b: faster' },
      expired: true,
      asleep: false,
    });
  });
});

describe('destroy plan (garbage collection)', () => {
  it('deletes only artifacts no remaining biome refers to, and reads only keys that could refer to them', () => {
    const mine = [record('a', SHA('a')), record('b', SHA('b')), record('b', SHA('c'))];
    const keys = [
      'biomes/dev-bob/biome.json',
      'biomes/dev-bob/ledger/a.json',
      `biomes/dev-amy/ledger/a.json`,
      `biomes/dev-amy/ledger/z.json`,
      `biomes/dev-amy/history/b/20261120T100000Z-${SHA('c')}.json`,
      `biomes/dev-amy/history/b/20261120T100000Z-${SHA('d')}.json`,
    ];
    expect(selectReferenceKeys(keys, { excluded: new Set(['dev-bob']), candidates: mine })).toEqual([
      'biomes/dev-amy/ledger/a.json',
      `biomes/dev-amy/history/b/20261120T100000Z-${SHA('c')}.json`,
    ]);
    const plan = planDestroy({
      biomes: ['dev-bob'],
      biomeKeys: ['biomes/dev-bob/biome.json', 'biomes/dev-bob/ledger/a.json'],
      records: mine,
      references: [record('a', SHA('a'), { biome: 'dev-amy' }), record('b', SHA('c'), { biome: 'dev-amy' })],
    });
    expect(plan.deleteArtifacts).toEqual([`artifacts/b/b-${SHA('b')}.zip`]);
    expect(plan.keptArtifacts).toEqual([
      { key: `artifacts/a/a-${SHA('a')}.zip`, usedBy: ['dev-amy'] },
      { key: `artifacts/b/b-${SHA('c')}.zip`, usedBy: ['dev-amy'] },
    ]);
    expect(plan.biomeKeys.at(-1)).toBe('biomes/dev-bob/biome.json');
  });
});

describe('promotion plan', () => {
  const staging = parseBiomeName('staging', config);
  it('goes only to the next environment', () => {
    expect(resolvePromotionTarget(config, parseBiomeName('dev-bob', config), 'staging').name).toBe('staging');
    for (const [from, to] of [
      ['dev-bob', 'prod'],
      ['staging', 'dev'],
      ['prod', 'staging'],
      ['dev', 'nowhere'],
    ]) {
      expect(() => resolvePromotionTarget(config, parseBiomeName(from, config), to)).toThrow(
        expect.objectContaining({ code: 'PROMOTION_INVALID' }),
      );
    }
  });

  it('refuses an empty source and dirty artifacts', () => {
    expect(() =>
      planPromotion({
        source: 'dev-bob',
        target: staging,
        records: [],
        targetRecords: [],
        contains: new Map(),
        allowRollback: false,
      }),
    ).toThrow(expect.objectContaining({ code: 'PROMOTION_INVALID' }));
    const dirty = record('a', SHA('a'), {
      dirty: true,
      artifactKey: `artifacts/a/a-${SHA('a')}-dirty-${'1'.repeat(12)}.zip`,
    });
    expect(() =>
      planPromotion({
        source: 'dev-bob',
        target: staging,
        records: [dirty],
        targetRecords: [],
        contains: new Map(),
        allowRollback: true,
      }),
    ).toThrow(expect.objectContaining({ code: 'ARTIFACT_DIRTY' }));
  });

  it('decides direction by git ancestry, else by deploy time; refuses backwards without the flag', () => {
    const target = [
      record('a', SHA('1'), { biome: 'staging' }),
      record('b', SHA('2'), { biome: 'staging', deployedAt: '2026-11-25T00:00:00.000Z' }),
      record('c', SHA('3'), { biome: 'staging' }),
    ];
    const source = [record('a', SHA('4')), record('b', SHA('5')), record('c', SHA('3')), record('d', SHA('6'))];
    const contains = new Map<string, boolean | undefined>([
      ['a', true],
      ['b', undefined],
    ]);
    const error = (() => {
      try {
        planPromotion({
          source: 'dev-bob',
          target: staging,
          records: source,
          targetRecords: target,
          contains,
          allowRollback: false,
        });
      } catch (e) {
        return e as BiomeError;
      }
    })();
    expect(error?.code).toBe('PROMOTION_INVALID');
    expect(error?.message).toMatch(/b: staging runs 22222222, dev-bob has 55555555 \(deployed earlier\)/);
    const steps = planPromotion({
      source: 'dev-bob',
      target: staging,
      records: source,
      targetRecords: target,
      contains,
      allowRollback: true,
    });
    expect(steps.map((s) => [s.project, s.action, s.direction, s.basis])).toEqual([
      ['a', 'copy', 'forward', 'git'],
      ['b', 'copy', 'backward', 'time'],
      ['c', 'unchanged', 'same', undefined],
      ['d', 'copy', 'new', undefined],
    ]);
  });

  it('leaves a project unchanged when the target already runs the same bytes and settings from another commit', () => {
    const bytes = 'e'.repeat(64);
    const target = [record('a', SHA('1'), { biome: 'staging', sha256: bytes })];
    const source = [record('a', SHA('2'), { sha256: bytes })];
    const steps = planPromotion({
      source: 'dev-bob',
      target: staging,
      records: source,
      targetRecords: target,
      contains: new Map([['a', true]]),
      allowRollback: false,
    });
    expect(steps.map((s) => [s.project, s.action, s.direction])).toEqual([['a', 'unchanged', 'same']]);
  });
});

describe('rollback plan', () => {
  const h = (sha: string, at: string, extra: Partial<LedgerRecord> = {}) =>
    record('a', sha, { deployedAt: at, ...extra });
  const A = h(SHA('a'), '2026-11-20T10:00:00.000Z');
  const B = h(SHA('b'), '2026-11-21T10:00:00.000Z');
  const B2 = h(SHA('b'), '2026-11-21T11:00:00.000Z'); // same bytes redeployed
  const C = h(SHA('c'), '2026-11-22T10:00:00.000Z');

  it('goes back to the previous different deployment, and keeps going back on repeat', () => {
    expect(previousRecord(C, [A, B, B2, C])).toBe(B2);
    const first = rollbackRecord(B2, { current: C, now: NOW, deployedBy: 'amy', from: historyKey(B2) });
    expect(first).toMatchObject({
      gitSha: SHA('b'),
      deployedAt: NOW.toISOString(),
      deployedBy: 'amy',
      origin: { action: 'rollback' },
    });
    expect(previousRecord(first, [A, B, B2, C, first])).toBe(A);
    expect(previousRecord(A, [A])).toBeUndefined();
  });

  it('finds a commit by SHA prefix and refuses an ambiguous one', () => {
    expect(recordAtSha([A, B, B2, C], 'bbbbbbb')).toBe(B2);
    expect(recordAtSha([A], 'ccccccc')).toBeUndefined();
    const ab = h(`abc1234${'0'.repeat(33)}`, A.deployedAt);
    const ab2 = h(`abc1234${'1'.repeat(33)}`, A.deployedAt);
    expect(() => recordAtSha([ab, ab2], 'abc1234')).toThrow(expect.objectContaining({ code: 'ROLLBACK_INVALID' }));
  });

  it('the last change of a biome is the newest deploy commit, or the newest promotion/rollback batch', () => {
    const records = [
      record('a', SHA('c'), { deployedAt: '2026-11-22T10:00:00.000Z' }),
      record('b', SHA('c'), { deployedAt: '2026-11-22T10:00:03.000Z' }),
      record('x', SHA('a')),
    ];
    expect(lastChangeProjects(records)).toEqual(['a', 'b']);
    const promoted = [
      record('a', SHA('1'), { deployedAt: NOW.toISOString(), origin: { action: 'promote', from: 'dev' } }),
      record('b', SHA('2'), { deployedAt: NOW.toISOString(), origin: { action: 'promote', from: 'dev' } }),
      record('x', SHA('1')),
    ];
    expect(lastChangeProjects(promoted)).toEqual(['a', 'b']);
  });
});

describe('a deploy to a biome that does not exist yet', () => {
  const ref = (name: string) => parseBiomeName(name, testConfig());
  const existing = ['dev', 'dev-alice', 'dev-bob', 'dev-mr-141', 'dev-u12'];

  it('finds the biomes a typing slip away: a swap, a missing or an extra letter; not other people or generated names', () => {
    expect(nearBiomeNames(ref('dev-bbo'), existing)).toEqual(['dev-bob']);
    expect(nearBiomeNames(ref('dev-bo'), existing)).toEqual([]);
    expect(nearBiomeNames(ref('dev-boob'), existing)).toEqual(['dev-bob']);
    expect(nearBiomeNames(ref('dev-alcie'), existing)).toEqual(['dev-alice']);
    expect(nearBiomeNames(ref('dev-amy'), existing)).toEqual([]);
    expect(nearBiomeNames(ref('dev-mr-142'), existing)).toEqual([]);
    expect(nearBiomeNames(ref('dev-u13'), existing)).toEqual([]);
  });

  it('outside a pipeline refuses a near name with "did you mean" and the biome-create fix; a far name is announced as new', () => {
    const e = (() => {
      try {
        planNewBiome({ biome: ref('dev-bbo'), existing, pipeline: false, store: 'file:///ws/.biome-store/dev' });
      } catch (error) {
        return error as BiomeError;
      }
      throw new Error('expected a refusal');
    })();
    expect(e.code).toBe('BIOME_NOT_FOUND');
    expect(e.message).toBe(
      'new biome dev-bbo: file:///ws/.biome-store/dev has no biome of that name, but has dev-bob (did you mean dev-bob?). Nothing was built or written.',
    );
    expect(e.hint).toBe(
      'Deploy to --biome=dev-bob, or create the new biome on purpose first: nx run infra:biome-create --biome=dev-bbo (then deploy again).',
    );
    expect(planNewBiome({ biome: ref('dev-carol'), existing, pipeline: false, store: 's3://b' }).message).toBe(
      'new biome dev-carol: deploying creates it in s3://b (existing in dev: dev, dev-alice, dev-bob, dev-mr-141, dev-u12).',
    );
    expect(planNewBiome({ biome: ref('dev-bob'), existing: [], pipeline: false, store: 's3://b' }).message).toBe(
      'new biome dev-bob: deploying creates it in s3://b.',
    );
  });

  it('in a pipeline (MR and personal biomes) creates it without asking, near name or not', () => {
    expect(planNewBiome({ biome: ref('dev-bbo'), existing, pipeline: true, store: 's3://b' }).message).toMatch(
      /^new biome dev-bbo: deploying creates it/,
    );
  });
});
