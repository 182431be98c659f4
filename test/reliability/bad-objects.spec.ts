import type { ExecutorContext } from '@nx/devkit';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startS3rver, S3Server } from '../support/s3rver';
import { WORKSPACE_ROOT } from '../support/workspace';
import { auditBiome } from '../faults/audit';
import { artifactFileName, PackageManifest } from '../../tools/nx-biome/src/core/artifact';
import { WorkspaceConfig } from '../../tools/nx-biome/src/core/config';
import { historyPrefix, parseLedgerRecord } from '../../tools/nx-biome/src/core/ledger';
import { parseBiomeName } from '../../tools/nx-biome/src/core/names';
import { StorePort } from '../../tools/nx-biome/src/adapters/store/store';
import { loadWorkspaceConfig } from '../../tools/nx-biome/src/adapters/workspace';
import { batchStore } from '../../tools/nx-biome/src/operations/batch-deps';
import { Deps, realDeps } from '../../tools/nx-biome/src/operations/context';
import { deployProject } from '../../tools/nx-biome/src/operations/deploy';
import { readBiomeMeta, readRecord } from '../../tools/nx-biome/src/operations/ledger-store';
import { sleepBiome } from '../../tools/nx-biome/src/operations/lifecycle';
import { destroyBiomes } from '../../tools/nx-biome/src/operations/destroy';
import { biomeListWith } from '../../tools/nx-biome/src/executors/biome-list/executor';
import { biomeReapWith } from '../../tools/nx-biome/src/executors/biome-reap/executor';
import { rollbackWith } from '../../tools/nx-biome/src/executors/rollback/executor';
import { biomeRepairWith } from '../../tools/nx-biome/src/executors/biome-repair/executor';

/*
 * Hostile, malformed and skewed objects in the store: each is refused before
 * anything is written, or reported and skipped without failing the other
 * biomes. In process, against the folder store and s3rver.
 */

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe.each([
  ['folder store', false],
  ['S3 on s3rver', true],
])('bad objects: %s', (_label, useS3) => {
  let root: string;
  let commits: string[];
  let config: WorkspaceConfig;
  let server: S3Server | undefined;
  let deps: Deps;
  let lines: string[] = [];
  let clock = Date.parse('2026-11-26T00:00:00.000Z');
  const savedEnv = { ...process.env };
  const context = () => ({ root, cwd: root, projectName: 'infra', isVerbose: false }) as unknown as ExecutorContext;
  const dev = () => deps.storeFor('dev');
  const keys = async (store: StorePort, prefix = '') =>
    (await store.list(prefix)).map((o) => o.key).filter((k) => !k.startsWith('locks/'));
  const bodyOf = (project: string, sha: string) => Buffer.from(`${project}@${sha}\n`.repeat(40));
  const put = (key: string, value: unknown) =>
    dev().put(key, Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)));

  async function deploy(biomeName: string, project: string, gitSha: string, at?: number, store?: StorePort) {
    const biome = parseBiomeName(biomeName, config);
    const body = bodyOf(project, gitSha);
    const manifest: PackageManifest = {
      project,
      kind: 'service',
      file: artifactFileName(project, gitSha, 'service', false, sha256(body)),
      sha256: sha256(body),
      size: body.length,
      gitSha,
      dirty: false,
      dirtyFiles: [],
      settings: { memorySize: 256 },
    };
    clock += 60_000;
    return deployProject({
      store: store ?? dev(),
      config,
      biome,
      manifest,
      readBody: async () => body,
      now: new Date(at ?? clock),
      deployedBy: 'amy',
      allowDirty: false,
      dryRun: false,
    });
  }
  const meta = (biome: string, extra: Record<string, unknown> = {}) => ({
    schemaVersion: 1,
    biome,
    environment: 'dev',
    owner: 'amy',
    created: '2026-11-01T00:00:00.000Z',
    expires: '2026-11-04T00:00:00.000Z',
    asleep: false,
    ...extra,
  });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'bad-objects-'));
    await copyFile(join(WORKSPACE_ROOT, 'nx-biome.json'), join(root, 'nx-biome.json'));
    const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
    git('init', '-q', '-b', 'main');
    git('config', 'user.email', 'amy@example.com');
    git('config', 'user.name', 'Amy');
    commits = [];
    for (const subject of ['one', 'two', 'three']) {
      git('commit', '-q', '--allow-empty', '-m', subject);
      commits.push(git('rev-parse', 'HEAD'));
    }
    config = await loadWorkspaceConfig(root);
    let storeEnv: Record<string, string> = {};
    if (useS3) {
      server = await startS3rver(['geo-dev']);
      Object.assign(process.env, server.env);
      storeEnv = { BIOME_STORE_DEV: 's3://geo-dev' };
    }
    deps = {
      ...realDeps(root, config, storeEnv),
      now: () => new Date((clock += 1000)),
      log: (line) => lines.push(line),
      env: { ...storeEnv, BIOME_DEPLOYED_BY: 'amy' },
    };
  });
  afterAll(async () => {
    process.env = savedEnv;
    await server?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });
  beforeEach(() => {
    lines = [];
  });

  it('a biome.json that names another biome is refused: the deploy writes nothing, neither there nor under the other name', async () => {
    await put('biomes/dev-x/biome.json', meta('dev-victim'));
    const before = await keys(dev());
    const error = await deploy('dev-x', 'assay-ingest', commits[0]).catch((e) => e);
    expect(error.code).toBe('LEDGER_RECORD_INVALID');
    expect(error.message).toMatch(/biomes\/dev-x\/biome\.json names biome "dev-victim", not dev-x/);
    expect(await keys(dev())).toEqual(before);
    expect(await keys(dev(), 'biomes/dev-victim/')).toEqual([]);
  });

  it.each([
    ['ttlHours "soon"', { ttlHours: 'soon' }, /invalid ttlHours "soon"/],
    ['ttlHours 1e300', { ttlHours: 1e300 }, /invalid ttlHours 1e\+300/],
    ['ttlHours -5', { ttlHours: -5 }, /invalid ttlHours -5/],
    ['expires "never"', { expires: 'never' }, /invalid expires "never"/],
    ['created "yesterday"', { created: 'yesterday' }, /invalid created "yesterday"/],
    ['asleep "no"', { asleep: 'no' }, /invalid asleep "no"/],
  ])('biome.json with %s is refused before any record is written', async (_case, extra, message) => {
    const biome = `dev-odd${
      Math.abs(
        JSON.stringify(extra)
          .split('')
          .reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 7),
      ) % 1000
    }`;
    await put(`biomes/${biome}/biome.json`, meta(biome, extra));
    const before = await keys(dev());
    const error = await deploy(biome, 'assay-ingest', commits[0]).catch((e) => e);
    expect(error.code, String(error)).toBe('LEDGER_RECORD_INVALID');
    expect(error.message).toMatch(message);
    expect(await keys(dev())).toEqual(before);
  });

  it('a ledger size of 1e300, a fractional or negative size, or a bad time is refused', () => {
    const good = {
      schemaVersion: 1,
      project: 'a',
      kind: 'service',
      biome: 'dev-a',
      environment: 'dev',
      artifactKey: `artifacts/a/a-${commits[0]}.zip`,
      sha256: 'a'.repeat(64),
      size: 10,
      gitSha: commits[0],
      dirty: false,
      deployedAt: '2026-11-26T00:00:00.000Z',
      deployedBy: 'amy',
      settings: {},
    };
    expect(parseLedgerRecord(JSON.stringify(good), 'x').size).toBe(10);
    for (const size of [1e300, 1.5, -1, '10'])
      expect(() => parseLedgerRecord(JSON.stringify({ ...good, size }), 'x')).toThrow(/invalid size|missing fields/);
    expect(() => parseLedgerRecord(JSON.stringify({ ...good, deployedAt: '1' }), 'x')).toThrow(
      /invalid deployedAt "1"/,
    );
    expect(() => parseLedgerRecord(JSON.stringify({ ...good, sequence: 0 }), 'x')).toThrow(/invalid sequence 0/);
  });

  it('clock skew: v2 deployed from a clock 2 h behind v1 still rolls back to v1', async () => {
    const t = Date.parse('2026-11-27T12:00:00.000Z');
    await deploy('dev-skew', 'assay-ingest', commits[0], t);
    await deploy('dev-skew', 'assay-ingest', commits[1], t - 2 * 3600_000);
    expect((await readRecord(dev(), 'dev-skew', 'assay-ingest'))?.gitSha).toBe(commits[1]);
    await rollbackWith({ biome: 'dev-skew', projects: 'assay-ingest' }, context(), deps);
    expect((await readRecord(dev(), 'dev-skew', 'assay-ingest'))?.gitSha).toBe(commits[0]);
    // And once more: back past v1 is refused, not toggled to v2.
    await expect(rollbackWith({ biome: 'dev-skew', projects: 'assay-ingest' }, context(), deps)).rejects.toMatchObject({
      code: 'ROLLBACK_INVALID',
    });
  });

  it('history written before sequences existed is still read, and comes before the new records', async () => {
    const first = await deploy('dev-old', 'assay-ingest', commits[0]);
    // Rewrite that history record under the old, time-stamped key, as older versions wrote it.
    const [historyKey] = await keys(dev(), historyPrefix('dev-old', 'assay-ingest'));
    const old = JSON.parse((await dev().get(historyKey))!.toString('utf8'));
    delete old.sequence;
    await dev().delete([historyKey]);
    await put(`${historyPrefix('dev-old', 'assay-ingest')}20261126T000100Z-${commits[0]}.json`, old);
    await put('biomes/dev-old/ledger/assay-ingest.json', old);
    expect(first.gitSha).toBe(commits[0]);
    await deploy('dev-old', 'assay-ingest', commits[1], Date.parse('2020-01-01T00:00:00.000Z'));
    await rollbackWith({ biome: 'dev-old', projects: 'assay-ingest' }, context(), deps);
    expect((await readRecord(dev(), 'dev-old', 'assay-ingest'))?.gitSha).toBe(commits[0]);
  });

  it('a corrupt current record: deploy replaces it with a warning, rollback starts from the newest valid history record', async () => {
    await deploy('dev-bent', 'assay-ingest', commits[0]);
    await deploy('dev-bent', 'assay-ingest', commits[1]);
    await put('biomes/dev-bent/ledger/assay-ingest.json', '{"schemaVersion":1,"project":"assay-ingest",');
    await rollbackWith({ biome: 'dev-bent', projects: 'assay-ingest' }, context(), deps);
    expect(lines.join('\n')).toMatch(
      /warning: Ledger record .*biomes\/dev-bent\/ledger\/assay-ingest\.json is not valid JSON/,
    );
    expect((await readRecord(dev(), 'dev-bent', 'assay-ingest'))?.gitSha).toBe(commits[0]);

    await put('biomes/dev-bent/ledger/assay-ingest.json', 'garbage');
    const result = await deploy('dev-bent', 'assay-ingest', commits[2]);
    expect(result.outcome).toBe('uploaded');
    expect((await readRecord(dev(), 'dev-bent', 'assay-ingest'))?.gitSha).toBe(commits[2]);
  });

  it('list and reap report a malformed biome.json or record, skip it, and go on with every other biome', async () => {
    await deploy('dev-fine', 'assay-ingest', commits[0]);
    await deploy('dev-gone', 'assay-ingest', commits[0]);
    await put('biomes/dev-broken/biome.json', '{not json');
    await put('biomes/dev-broken/ledger/assay-ingest.json', 'also not json');
    await put('biomes/dev-never/biome.json', meta('dev-never', { expires: 'never' }));
    const listing = await biomeListWith({ environment: 'dev' }, context(), deps);
    const listed = listing[0].biomes.map((b) => b.biome);
    expect(listed).toEqual(expect.arrayContaining(['dev-fine', 'dev-gone', 'dev-broken', 'dev-never']));
    const out = lines.join('\n');
    expect(out).toMatch(/warning: skipped biomes\/dev-broken\/biome\.json: Biome metadata .* is not valid JSON/);
    expect(out).toMatch(/warning: skipped biomes\/dev-broken\/ledger\/assay-ingest\.json/);
    expect(out).toMatch(/warning: skipped biomes\/dev-never\/biome\.json: .*invalid expires "never"/);
    expect(out).toMatch(/fix: nx run infra:biome-repair --biome=dev-broken/);

    // Far in the future every sandpit has expired: the good ones are reaped; the broken ones that nothing
    // dates (no valid record either) are skipped with the reason, and the run fails so that someone repairs them.
    lines = [];
    const error = await biomeReapWith({ environment: 'dev', confirm: true }, context(), {
      ...deps,
      now: () => new Date('2027-06-01T00:00:00.000Z'),
    }).catch((e) => e);
    expect(error.code, String(error)).toBe('LEDGER_RECORD_INVALID');
    expect(error.message).toMatch(/reap could not date .*dev-broken.*dev-never/);
    expect(error.hint).toMatch(/biome-repair/);
    expect(lines.join('\n')).toMatch(/skipping dev-never: .*invalid expires "never".*biome-repair --biome=dev-never/);
    expect(await keys(dev(), 'biomes/dev-fine/')).toEqual([]);
    expect(await keys(dev(), 'biomes/dev-gone/')).toEqual([]);
    expect(await keys(dev(), 'biomes/dev-broken/')).toHaveLength(2);
  });

  it('a sandpit whose biome.json says expires "never" is reaped once its newest record is older than the sandpit TTL', async () => {
    await deploy('dev-forever', 'assay-ingest', commits[0]);
    await put('biomes/dev-forever/biome.json', meta('dev-forever', { expires: 'never' }));
    const soon = await biomeReapWith({ environment: 'dev', confirm: true }, context(), {
      ...deps,
      now: () => new Date(clock + 3600_000),
    }).catch(() => []);
    expect(soon).not.toContain('dev-forever');
    expect(await keys(dev(), 'biomes/dev-forever/')).not.toEqual([]);
    const later = await biomeReapWith({ environment: 'dev', confirm: true }, context(), {
      ...deps,
      now: () => new Date(clock + (config.sandpitTtlHours + 1) * 3600_000),
    }).catch((e) => e);
    expect(lines.join('\n')).toMatch(
      /dev-forever has an unusable biome\.json \(.*invalid expires "never".*\); it is dated by its newest record/,
    );
    expect(await keys(dev(), 'biomes/dev-forever/'), String(later)).toEqual([]);
  });

  it('reap decides again under the biome lease: a sandpit deployed after reap listed it as expired is kept', async () => {
    const T = clock + 1000 * 3600_000;
    await deploy('dev-late', 'assay-ingest', commits[0], T - 100 * 3600_000);
    // A deploy of dev-late starts, and waits in its upload until reap has listed dev-late as expired.
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const body = bodyOf('assay-ingest', commits[1]);
    const manifest: PackageManifest = {
      project: 'assay-ingest',
      kind: 'service',
      file: artifactFileName('assay-ingest', commits[1], 'service', false, sha256(body)),
      sha256: sha256(body),
      size: body.length,
      gitSha: commits[1],
      dirty: false,
      dirtyFiles: [],
      settings: { memorySize: 256 },
    };
    const deploying = deployProject({
      store: dev(),
      config,
      biome: parseBiomeName('dev-late', config),
      manifest,
      readBody: async () => (await gate, body),
      now: new Date(T),
      deployedBy: 'amy',
      allowDirty: false,
      dryRun: false,
    });
    const reapLines: string[] = [];
    const reaping = biomeReapWith({ environment: 'dev', confirm: true }, context(), {
      ...deps,
      now: () => new Date(T),
      log: (line) => {
        reapLines.push(line);
        if (/dev-late/.test(line) && /expired sandpit/.test(reapLines.join('\n'))) openGate();
      },
    }).catch(() => [] as string[]);
    await deploying;
    const reaped = await reaping;
    expect(reapLines.join('\n')).toMatch(/dev-late/);
    expect(reaped).not.toContain('dev-late');
    expect(reapLines.join('\n')).toMatch(/dev-late changed since it was listed .* kept/);
    expect((await readRecord(dev(), 'dev-late', 'assay-ingest'))?.gitSha).toBe(commits[1]);
    expect((await auditBiome(dev(), 'dev-late')).dangling).toEqual([]);
  }, 120_000);

  it('a biome destroyed and created again is a new incarnation: every record and history key of it carries the incarnation', async () => {
    const destroy = () =>
      destroyBiomes({
        store: dev(),
        config,
        biomes: [parseBiomeName('dev-again', config)],
        workspaceRoot: root,
        dryRun: false,
        terraform: false,
        deps,
      });
    await deploy('dev-again', 'assay-ingest', commits[0]);
    expect((await readRecord(dev(), 'dev-again', 'assay-ingest'))!.incarnation).toBeUndefined();
    for (const incarnation of [1, 2]) {
      await destroy();
      await deploy('dev-again', 'assay-ingest', commits[incarnation]);
      expect(await readRecord(dev(), 'dev-again', 'assay-ingest')).toMatchObject({
        gitSha: commits[incarnation],
        sequence: 1,
        incarnation,
      });
      expect(await keys(dev(), historyPrefix('dev-again', 'assay-ingest'))).toEqual([
        expect.stringMatching(
          new RegExp(`/s000000000001-\\d{8}T\\d{6}Z-${commits[incarnation]}-i${incarnation}\\.json$`),
        ),
      ]);
    }
  });

  it('a corrupt record of a project with one history record names the fix that works (biome-repair, not rollback)', async () => {
    await deploy('dev-one', 'assay-ingest', commits[0]);
    await put('biomes/dev-one/ledger/assay-ingest.json', '{"schemaVersion": 1, "project": "assay-ingest"');
    const error = await readRecord(dev(), 'dev-one', 'assay-ingest').catch((e) => e);
    expect(error.code).toBe('LEDGER_RECORD_INVALID');
    expect(error.hint).toMatch(/nx run infra:biome-repair --biome=dev-one/);
    expect(error.hint).not.toMatch(/rollback/);
    // Rollback cannot (one history record); the named fix can.
    await expect(rollbackWith({ biome: 'dev-one', projects: 'assay-ingest' }, context(), deps)).rejects.toMatchObject({
      code: 'ROLLBACK_INVALID',
    });
    await biomeRepairWith({ biome: 'dev-one' }, context(), deps);
    expect((await readRecord(dev(), 'dev-one', 'assay-ingest'))?.gitSha).toBe(commits[0]);
  });

  it('a sandpit left with records but no biome.json is reaped once its newest record is older than the sandpit TTL', async () => {
    await deploy('dev-orphan', 'assay-ingest', commits[0]);
    await dev().delete(['biomes/dev-orphan/biome.json']);
    // (Other biomes of this store that nothing dates make reap fail at its end, after it reaped the rest.)
    await biomeReapWith({ environment: 'dev', confirm: true }, context(), {
      ...deps,
      now: () => new Date(clock + 3600_000),
    }).catch(() => undefined);
    expect(await keys(dev(), 'biomes/dev-orphan/')).not.toEqual([]);
    await biomeReapWith({ environment: 'dev', confirm: true }, context(), {
      ...deps,
      now: () => new Date(clock + (config.sandpitTtlHours + 1) * 3600_000),
    }).catch(() => undefined);
    expect(await keys(dev(), 'biomes/dev-orphan/')).toEqual([]);
  });

  it("a sleep during a batched deploy is not undone by the deploy's end-of-run biome.json write", async () => {
    await deploy('dev-nap', 'assay-ingest', commits[0]);
    const batch = batchStore(dev(), 'dev-nap');
    await deploy('dev-nap', 'assay-ingest', commits[1], undefined, batch);
    const biome = parseBiomeName('dev-nap', config);
    // The sleep comes while the run is still going (it now waits for the run's lease; before, it
    // went through at once and the run's end-of-run write put asleep back to false).
    const sleeping = sleepBiome({ store: dev(), config, biome, asleep: true, workspaceRoot: root, dryRun: false });
    await Promise.race([sleeping, new Promise((resolve) => setTimeout(resolve, 2000))]);
    await batch.flush();
    await sleeping;
    expect((await readBiomeMeta(dev(), 'dev-nap'))?.asleep).toBe(true);
    expect((await readBiomeMeta(dev(), 'dev-nap'))?.lastDeployedAt).toBeDefined();
  });

  it('biome-repair: --dry-run lists and writes nothing; then the newest valid history record is current again, a bad history record and a record with no history are removed, biome.json is rebuilt under its own name', async () => {
    await deploy('dev-fix', 'assay-ingest', commits[0]);
    await deploy('dev-fix', 'assay-ingest', commits[1]);
    await deploy('dev-fix', 'grade-predict', commits[0]);
    await dev().delete([...(await keys(dev(), historyPrefix('dev-fix', 'grade-predict')))]);
    await put('biomes/dev-fix/ledger/assay-ingest.json', '{"schemaVersion":1,"project":"assay-ingest","size":1e300}');
    await put('biomes/dev-fix/ledger/grade-predict.json', 'not json');
    await put(
      `${historyPrefix('dev-fix', 'assay-ingest')}s000000000009-20261126T000000Z-${commits[2]}.json`,
      '{"half":',
    );
    await put(
      'biomes/dev-fix/biome.json',
      JSON.stringify(meta('dev-victim', { owner: 'amy', ttlHours: 'soon', asleep: true })),
    );

    const before = await Promise.all(
      (await keys(dev(), 'biomes/dev-fix/')).map(async (k) => [k, (await dev().get(k))!.toString('utf8')]),
    );
    const planned = await biomeRepairWith({ biome: 'dev-fix', dryRun: true }, context(), deps);
    expect(planned.map((a) => [a.kind, a.key])).toEqual([
      ['restore', 'biomes/dev-fix/ledger/assay-ingest.json'],
      ['remove', 'biomes/dev-fix/ledger/grade-predict.json'],
      ['remove', `${historyPrefix('dev-fix', 'assay-ingest')}s000000000009-20261126T000000Z-${commits[2]}.json`],
      ['rewrite-meta', 'biomes/dev-fix/biome.json'],
    ]);
    expect(lines.join('\n')).toMatch(/\[dry-run\] would repair 4 object\(s\) of dev-fix/);
    expect(
      await Promise.all(
        (await keys(dev(), 'biomes/dev-fix/')).map(async (k) => [k, (await dev().get(k))!.toString('utf8')]),
      ),
    ).toEqual(before);

    await biomeRepairWith({ biome: 'dev-fix' }, context(), deps);
    expect((await readRecord(dev(), 'dev-fix', 'assay-ingest'))?.gitSha).toBe(commits[1]);
    expect(await readRecord(dev(), 'dev-fix', 'grade-predict')).toBeUndefined();
    expect(await readBiomeMeta(dev(), 'dev-fix')).toMatchObject({
      biome: 'dev-fix',
      environment: 'dev',
      owner: 'amy',
      asleep: true,
      expires: '2026-11-04T00:00:00.000Z',
    });
    expect(await keys(dev(), 'biomes/dev-victim/')).toEqual([]);
    lines = [];
    await biomeListWith({ environment: 'dev' }, context(), deps);
    expect(lines.join('\n')).not.toMatch(/skipped biomes\/dev-fix\//);
    expect(await biomeRepairWith({ biome: 'dev-fix' }, context(), deps)).toEqual([]);
  });
});
