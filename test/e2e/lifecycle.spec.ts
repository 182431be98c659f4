import type { ExecutorContext } from '@nx/devkit';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3rver, S3Server } from '../support/s3rver';
import { copyWorkspace, TempWorkspace, WORKSPACE_ROOT } from '../support/workspace';
import { artifactFileName, PackageManifest } from '../../tools/nx-biome/src/core/artifact';
import { WorkspaceConfig } from '../../tools/nx-biome/src/core/config';
import { LedgerRecord } from '../../tools/nx-biome/src/core/ledger';
import { ProjectKind, parseBiomeName } from '../../tools/nx-biome/src/core/names';
import { openStore } from '../../tools/nx-biome/src/adapters/store/open-store';
import { StorePort } from '../../tools/nx-biome/src/adapters/store/store';
import { loadWorkspaceConfig } from '../../tools/nx-biome/src/adapters/workspace';
import { Deps, realDeps } from '../../tools/nx-biome/src/operations/context';
import { deployProject } from '../../tools/nx-biome/src/operations/deploy';
import { readBiomeMeta, readRecord, writeBiomeMeta } from '../../tools/nx-biome/src/operations/ledger-store';
import { biomeCreateWith } from '../../tools/nx-biome/src/executors/biome-create/executor';
import { biomeDestroyWith } from '../../tools/nx-biome/src/executors/biome-destroy/executor';
import { biomeListWith } from '../../tools/nx-biome/src/executors/biome-list/executor';
import { biomeReapWith } from '../../tools/nx-biome/src/executors/biome-reap/executor';
import { biomeShowWith } from '../../tools/nx-biome/src/executors/biome-show/executor';
import { biomeSleepWith } from '../../tools/nx-biome/src/executors/biome-sleep/executor';
import { infraDeployWith } from '../../tools/nx-biome/src/executors/infra-deploy/executor';
import { promoteWith } from '../../tools/nx-biome/src/executors/promote/executor';
import { rollbackWith } from '../../tools/nx-biome/src/executors/rollback/executor';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const JOB_URL = 'https://gitlab.example/geo/platform/-/jobs/42';

/** A real git repository with the workspace config and three commits; the commits are what gets "deployed". */
async function makeRepo(): Promise<{ root: string; commits: string[] }> {
  const root = await mkdtemp(join(tmpdir(), 'lifecycle-'));
  await copyFile(join(WORKSPACE_ROOT, 'nx-biome.json'), join(root, 'nx-biome.json'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'amy@example.com');
  git('config', 'user.name', 'Amy');
  git('add', '-A');
  const commits: string[] = [];
  for (const subject of ['assay: first cut', 'grade: faster model', 'grade: fix rounding']) {
    git('commit', '-q', '--allow-empty', '-m', subject);
    commits.push(git('rev-parse', 'HEAD'));
  }
  return { root, commits };
}

describe.each([
  ['embedded local store (one folder per environment)', false],
  ['S3 on s3rver, one bucket per environment (BIOME_STORE_DEV / BIOME_STORE_STAGING)', true],
])('biome lifecycle in process: %s', (_label, useS3) => {
  let root: string;
  let c1: string, c2: string, c3: string;
  let config: WorkspaceConfig;
  let server: S3Server | undefined;
  let deps: Deps;
  let clock = Date.parse('2026-11-26T00:00:00.000Z');
  let lines: string[] = [];
  const savedEnv = { ...process.env };
  const context = () => ({ root, cwd: root, projectName: 'infra', isVerbose: false }) as unknown as ExecutorContext;
  const dev = () => deps.storeFor('dev');
  const staging = () => deps.storeFor('staging');
  const tfvars = async (biome: string) =>
    JSON.parse(await readFile(join(root, `dist/terraform/${biome}.tfvars.json`), 'utf8'));
  const keys = async (store: StorePort, prefix = '') => (await store.list(prefix)).map((o) => o.key);
  const key = (project: string, sha: string, ext = 'zip') => `artifacts/${project}/${project}-${sha}.${ext}`;
  /** Runs a command in process and returns what it printed. */
  async function output(fn: () => Promise<unknown>): Promise<string> {
    lines = [];
    await fn();
    return lines.join('\n');
  }
  const bodyOf = (project: string, sha: string, dirty = false) =>
    Buffer.from(`${project}@${sha}${dirty ? ' with local edits' : ''}\n`.repeat(40));

  async function deploy(
    biomeName: string,
    project: string,
    gitSha: string,
    opts: { kind?: ProjectKind; dirty?: boolean; by?: string; ciJobUrl?: string } = {},
  ) {
    const biome = parseBiomeName(biomeName, config);
    const kind = opts.kind ?? 'service';
    const dirty = !!opts.dirty;
    const body = bodyOf(project, gitSha, dirty);
    const manifest: PackageManifest = {
      project,
      kind,
      file: artifactFileName(project, gitSha, kind, dirty, sha256(body)),
      sha256: sha256(body),
      size: body.length,
      gitSha,
      dirty,
      dirtyFiles: dirty ? ['src/main.ts'] : [],
      settings: { memorySize: 256 },
    };
    clock += 60_000;
    return deployProject({
      store: deps.storeFor(biome.environment.name),
      config,
      biome,
      manifest,
      readBody: async () => body,
      now: new Date(clock),
      deployedBy: opts.by ?? 'amy',
      ciJobUrl: opts.ciJobUrl,
      allowDirty: dirty,
      dryRun: false,
    });
  }

  beforeAll(async () => {
    ({
      root,
      commits: [c1, c2, c3],
    } = await makeRepo());
    config = await loadWorkspaceConfig(root);
    let storeEnv: Record<string, string> = {};
    if (useS3) {
      server = await startS3rver(['geo-dev', 'geo-staging']);
      Object.assign(process.env, server.env);
      storeEnv = { BIOME_STORE_DEV: 's3://geo-dev', BIOME_STORE_STAGING: 's3://geo-staging/promoted' };
    }
    // Every reading of the clock moves it one second on, as real time would between two commands.
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

  it('list and show tell what runs where, from which commit (with its subject), which bytes, who and when', async () => {
    await deploy('dev-amy', 'assay-ingest', c1, { ciJobUrl: JOB_URL });
    await deploy('dev-amy', 'grade-predict', c1);
    await deploy('dev-amy', 'ore-grade', c1, { kind: 'model' });
    await deploy('dev-bob', 'assay-ingest', c1, { by: 'bob' });
    await deploy('dev-bob', 'grade-predict', c1, { by: 'bob' });
    await deploy('dev-bob', 'grade-predict', c2, { by: 'bob' });

    const listed = await output(() => biomeListWith({}, context(), deps));
    expect(listed).toMatch(/dev \(.*\): 2 biome\(s\)/);
    expect(listed).toMatch(
      new RegExp(
        `│ dev-amy +│ amy +│ 3 +│ ${c1.slice(0, 8)} assay: first cut +│ 2026-11-26 00:03Z +│ 2026-11-29 00:03Z +│`,
      ),
    );
    expect(listed).toMatch(
      new RegExp(`│ dev-bob +│ bob +│ 2 +│ ${c2.slice(0, 8)} grade: faster model +│ 2026-11-26 00:06Z`),
    );
    for (const line of listed.split('\n')) expect([...line].length).toBeLessThanOrEqual(120);
    expect(listed).toMatch(/staging \(.*\): 0 biome\(s\)/);
    const json = JSON.parse(await output(() => biomeListWith({ json: true, environment: 'dev' }, context(), deps)));
    expect(json.environments).toHaveLength(1);
    expect(
      json.environments[0].biomes.map((b: { biome: string; projects: string[] }) => [b.biome, b.projects]),
    ).toEqual([
      ['dev-amy', ['assay-ingest', 'grade-predict', 'ore-grade']],
      ['dev-bob', ['assay-ingest', 'grade-predict']],
    ]);
    expect(json.environments[0].biomes[1].lastCommit).toEqual({ sha: c2, subject: 'grade: faster model' });

    const shown = await output(() => biomeShowWith({ biome: 'dev-amy' }, context(), deps));
    expect(shown).toContain('biome dev-amy (dev, sandpit)');
    expect(shown).toMatch(new RegExp(`│ ore-grade +│ model +│ ${c1.slice(0, 8)} assay: first cut`));
    expect(shown).toMatch(new RegExp(`│ ore-grade +│ ${c1} +│ ${sha256(bodyOf('ore-grade', c1)).slice(0, 16)}… │`));
    expect(shown).toMatch(new RegExp(`│ assay-ingest +│ ${JOB_URL.replace(/[.?/]/g, '\\$&')} +│`));
    expect(shown).toMatch(/│ assay-ingest +│ service +│ .* │ amy +│ deploy +│/);
    for (const line of shown.split('\n')) expect([...line].length).toBeLessThanOrEqual(120);
    const showJson = JSON.parse(await output(() => biomeShowWith({ biome: 'dev-bob', json: true }, context(), deps)));
    expect(showJson.records.find((r: LedgerRecord) => r.project === 'grade-predict')).toMatchObject({
      gitSha: c2,
      subject: 'grade: faster model',
      deployedBy: 'bob',
      dirty: false,
      artifactKey: key('grade-predict', c2),
    });
    await expect(biomeShowWith({ biome: 'dev-zed' }, context(), deps)).rejects.toMatchObject({
      code: 'BIOME_NOT_FOUND',
    });
  });

  it('create registers with owner and TTL, extend moves the expiry; sleep shows in the tfvars and a deploy does not wake the biome', async () => {
    expect(await output(() => biomeCreateWith({ biome: 'dev-cat', owner: 'cat', ttl: 1 }, context(), deps))).toMatch(
      /created dev-cat .*: owner cat, expires 2026-11-26 01:06Z \(1 h from now\)/,
    );
    expect(await readBiomeMeta(dev(), 'dev-cat')).toMatchObject({
      owner: 'cat',
      expires: expect.stringMatching(/^2026-11-26T01:06:/),
      asleep: false,
    });
    expect(await output(() => biomeCreateWith({ biome: 'dev-bob', ttl: 240 }, context(), deps))).toMatch(
      /extended dev-bob: owner bob, expires 2026-11-29 00:06Z → 2026-12-06 00:06Z/,
    );
    await biomeCreateWith({ biome: 'dev', owner: 'platform' }, context(), deps);
    expect((await readBiomeMeta(dev(), 'dev'))?.expires).toBeNull();
    await expect(biomeCreateWith({ biome: 'dev-x', ttl: -3 }, context(), deps)).rejects.toMatchObject({
      code: 'OPTIONS_INVALID',
    });

    expect(await output(() => biomeSleepWith({ biome: 'dev-bob', asleep: true }, context(), deps))).toMatch(
      /dev-bob is now asleep; rendered dist\/terraform\/dev-bob\.tfvars\.json/,
    );
    expect(await tfvars('dev-bob')).toMatchObject({ asleep: true, sandpit: true });
    expect(Object.keys((await tfvars('dev-bob')).services)).toEqual(['assay-ingest', 'grade-predict']);
    await deploy('dev-bob', 'grade-predict', c3, { by: 'bob' });
    await infraDeployWith({ biome: 'dev-bob' }, context(), deps);
    expect(await tfvars('dev-bob')).toMatchObject({ asleep: true, services: { 'grade-predict': { git_sha: c3 } } });
    await biomeSleepWith({ biome: 'dev-bob', asleep: false }, context(), deps);
    expect((await tfvars('dev-bob')).asleep).toBe(false);
    await expect(biomeSleepWith({ biome: 'dev', asleep: true }, context(), deps)).rejects.toMatchObject({
      code: 'BIOME_MAIN_PROTECTED',
    });
    expect((await readBiomeMeta(dev(), 'dev'))?.asleep).toBe(false);
  });

  it('rollback restores the previous key in the ledger and the tfvars, keeps going back on repeat, and checks the artifact first', async () => {
    const out = await output(() => rollbackWith({ biome: 'dev-bob', projects: 'grade-predict' }, context(), deps));
    expect(out).toMatch(new RegExp(`│ grade-predict │ ${c3.slice(0, 8)} │ ${c2.slice(0, 8)} `));
    expect(await readRecord(dev(), 'dev-bob', 'grade-predict')).toMatchObject({
      artifactKey: key('grade-predict', c2),
      gitSha: c2,
      origin: { action: 'rollback' },
      deployedBy: 'amy',
    });
    expect((await tfvars('dev-bob')).services['grade-predict']).toMatchObject({
      s3_key: key('grade-predict', c2),
      git_sha: c2,
    });
    expect((await tfvars('dev-bob')).services['assay-ingest'].s3_key).toBe(key('assay-ingest', c1));

    await rollbackWith({ biome: 'dev-bob', projects: 'grade-predict' }, context(), deps);
    expect((await readRecord(dev(), 'dev-bob', 'grade-predict'))?.artifactKey).toBe(key('grade-predict', c1));
    await expect(rollbackWith({ biome: 'dev-bob', projects: 'grade-predict' }, context(), deps)).rejects.toMatchObject({
      code: 'ROLLBACK_INVALID',
    });

    await rollbackWith({ biome: 'dev-bob', projects: 'grade-predict', to: c3.slice(0, 10) }, context(), deps);
    expect((await tfvars('dev-bob')).services['grade-predict'].s3_key).toBe(key('grade-predict', c3));
    // No project named: the biome's last change (that rollback to c3) is undone, back to what preceded c3; assay-ingest is left alone.
    await rollbackWith({ biome: 'dev-bob' }, context(), deps);
    expect((await tfvars('dev-bob')).services['grade-predict'].s3_key).toBe(key('grade-predict', c2));
    expect((await tfvars('dev-bob')).services['assay-ingest'].s3_key).toBe(key('assay-ingest', c1));
    await expect(
      rollbackWith({ biome: 'dev-bob', projects: 'grade-predict', to: c2 }, context(), deps),
    ).rejects.toThrow(/already at/);

    // A commit this biome never ran, but the store holds (dev-amy deployed it).
    await deploy('dev-amy', 'assay-ingest', c2);
    await rollbackWith({ biome: 'dev-bob', projects: 'assay-ingest', to: c2.slice(0, 7) }, context(), deps);
    expect(await readRecord(dev(), 'dev-bob', 'assay-ingest')).toMatchObject({
      artifactKey: key('assay-ingest', c2),
      sha256: sha256(bodyOf('assay-ingest', c2)),
      origin: { action: 'rollback', from: key('assay-ingest', c2) },
    });
    await expect(
      rollbackWith({ biome: 'dev-bob', projects: 'assay-ingest', to: 'deadbeef' }, context(), deps),
    ).rejects.toMatchObject({ code: 'ROLLBACK_INVALID' });
    await expect(rollbackWith({ biome: 'dev-bob', projects: 'nope' }, context(), deps)).rejects.toMatchObject({
      code: 'ROLLBACK_INVALID',
    });

    // A corrupt artifact is refused before the ledger changes.
    await dev().put(key('grade-predict', c3), Buffer.from('truncated'));
    await expect(
      rollbackWith({ biome: 'dev-bob', projects: 'grade-predict', to: c3 }, context(), deps),
    ).rejects.toMatchObject({ code: 'ARTIFACT_CORRUPT' });
    expect((await readRecord(dev(), 'dev-bob', 'grade-predict'))?.gitSha).toBe(c2);
    await dev().put(key('grade-predict', c3), bodyOf('grade-predict', c3));
  });

  it('promote copies identical bytes to the next environment’s store, verifies them, records and renders; refuses dirty, unknown and backwards', async () => {
    expect(staging().url).not.toBe(dev().url);
    await expect(promoteWith({ from: 'dev-bob', to: 'staging', dryRun: true }, context(), deps)).resolves.toBeDefined();
    expect(await keys(staging())).toEqual([]);

    const out = await output(() => promoteWith({ from: 'dev-bob', to: 'staging' }, context(), deps));
    expect(out).toMatch(
      /promoted 2 project\(s\) from dev-bob to staging; rendered dist\/terraform\/staging\.tfvars\.json/,
    );
    for (const [project, sha] of [
      ['assay-ingest', c2],
      ['grade-predict', c2],
    ]) {
      const stored = await staging().get(key(project, sha));
      expect(sha256(stored!)).toBe(sha256(bodyOf(project, sha)));
      expect(stored!.equals((await dev().get(key(project, sha)))!)).toBe(true);
      expect(await readRecord(staging(), 'staging', project)).toMatchObject({
        biome: 'staging',
        environment: 'staging',
        gitSha: sha,
        sha256: sha256(stored!),
        origin: { action: 'promote', from: 'dev-bob' },
      });
    }
    expect((await tfvars('staging')).services['grade-predict']).toMatchObject({
      s3_key: key('grade-predict', c2),
      git_sha: c2,
      function_name: 'geo-staging--grade-predict',
    });
    expect(await readBiomeMeta(staging(), 'staging')).toMatchObject({ expires: null });

    await deploy('dev-dirty', 'assay-ingest', c3, { dirty: true });
    const before = await keys(staging());
    await expect(promoteWith({ from: 'dev-dirty', to: 'staging' }, context(), deps)).rejects.toMatchObject({
      code: 'ARTIFACT_DIRTY',
    });
    await expect(promoteWith({ from: 'dev-nobody', to: 'staging' }, context(), deps)).rejects.toMatchObject({
      code: 'BIOME_NOT_FOUND',
    });
    await expect(promoteWith({ from: 'dev-bob', to: 'prod' }, context(), deps)).rejects.toMatchObject({
      code: 'PROMOTION_INVALID',
    });
    expect(await keys(staging())).toEqual(before);

    // dev-amy still runs grade-predict at c1, an ancestor of the c2 that staging runs.
    const backwards = await promoteWith({ from: 'dev-amy', to: 'staging' }, context(), deps).catch((e) => e);
    expect(backwards).toMatchObject({ code: 'PROMOTION_INVALID' });
    expect(backwards.message).toMatch(
      new RegExp(`grade-predict: staging runs ${c2.slice(0, 8)}, dev-amy has ${c1.slice(0, 8)}`),
    );
    expect(await keys(staging())).toEqual(before);
    await promoteWith({ from: 'dev-amy', to: 'staging', allowRollback: true }, context(), deps);
    expect((await tfvars('staging')).services['grade-predict'].s3_key).toBe(key('grade-predict', c1));
    expect((await tfvars('staging')).models['ore-grade'].s3_key).toBe(key('ore-grade', c1, 'tar.gz'));
    expect(sha256((await staging().get(key('ore-grade', c1, 'tar.gz')))!)).toBe(sha256(bodyOf('ore-grade', c1)));
  });

  it('destroy refuses main biomes and removes only what no other biome uses', async () => {
    await expect(biomeDestroyWith({ biome: 'dev' }, context(), deps)).rejects.toMatchObject({
      code: 'BIOME_MAIN_PROTECTED',
    });
    await expect(biomeDestroyWith({ biome: 'staging' }, context(), deps)).rejects.toMatchObject({
      code: 'BIOME_MAIN_PROTECTED',
    });
    await expect(biomeDestroyWith({ biome: 'dev-zed' }, context(), deps)).rejects.toMatchObject({
      code: 'BIOME_NOT_FOUND',
    });

    const all = await keys(dev());
    const dry = await output(() => biomeDestroyWith({ biome: 'dev-amy', dryRun: true }, context(), deps));
    expect(await keys(dev())).toEqual(all);
    expect(dry).toContain(`would delete ${key('ore-grade', c1, 'tar.gz')}`);
    expect(dry).toContain(`keep   ${key('assay-ingest', c1)} (still used by dev-bob)`);
    expect(dry).toContain(`keep   ${key('assay-ingest', c2)} (still used by dev-bob)`);
    expect(dry).toContain(`keep   ${key('grade-predict', c1)} (still used by dev-bob)`);
    const amyKeys = all.filter((k) => k.startsWith('biomes/dev-amy/'));
    for (const k of amyKeys) expect(dry).toContain(`would delete ${k}`);

    await biomeDestroyWith({ biome: 'dev-amy' }, context(), deps);
    const after = await keys(dev());
    expect(after.filter((k) => k.startsWith('biomes/dev-amy/'))).toEqual([]);
    expect(after).not.toContain(key('ore-grade', c1, 'tar.gz'));
    expect(after).toEqual(
      expect.arrayContaining([
        key('assay-ingest', c1),
        key('assay-ingest', c2),
        key('grade-predict', c1),
        'biomes/dev-bob/biome.json',
      ]),
    );
    // The promoted copies live in staging's own store and stay.
    expect(await keys(staging(), 'artifacts/ore-grade/')).toEqual([key('ore-grade', c1, 'tar.gz')]);
  });

  it('reap destroys expired sandpits only, dry run by default; main biomes are never reaped', async () => {
    await deploy('dev', 'assay-ingest', c1);
    await deploy('dev-cat', 'ore-grade', c2, { kind: 'model', by: 'cat' });
    // Even a main biome whose metadata claims an expiry is never reaped.
    await writeBiomeMeta(dev(), { ...(await readBiomeMeta(dev(), 'dev'))!, expires: '2026-01-01T00:00:00.000Z' });
    clock += 100 * 3600_000;
    const all = await keys(dev());
    const dry = await output(() => biomeReapWith({}, context(), deps));
    expect(dry).toMatch(/dev \(.*\): 2 expired sandpit biome\(s\)/);
    expect(dry).toMatch(/│ dev-cat +│ cat +│/);
    expect(dry).toMatch(/│ dev-dirty +│ amy +│/);
    expect(dry).toContain(`would delete ${key('ore-grade', c2, 'tar.gz')}`);
    expect(dry).toContain('dry run: nothing was deleted; pass --confirm to reap.');
    expect(await keys(dev())).toEqual(all);

    expect(await biomeReapWith({ confirm: true }, context(), deps)).toEqual(['dev-cat', 'dev-dirty']);
    const after = await keys(dev());
    expect(after.some((k) => k.startsWith('biomes/dev-cat/') || k.startsWith('biomes/dev-dirty/'))).toBe(false);
    expect(after).not.toContain(key('ore-grade', c2, 'tar.gz'));
    expect(after).toEqual(
      expect.arrayContaining(['biomes/dev/biome.json', 'biomes/dev-bob/biome.json', key('assay-ingest', c1)]),
    );
    expect(await biomeReapWith({ confirm: true }, context(), deps)).toEqual([]);
  });
});

describe('biome lifecycle through the real Nx CLI (S3 on s3rver, one bucket per environment)', () => {
  let ws: TempWorkspace;
  let server: S3Server;
  let env: Record<string, string>;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    ws = await copyWorkspace('e2e-lifecycle-');
    server = await startS3rver(['geo-dev', 'geo-staging']);
    env = { ...server.env, BIOME_STORE_DEV: 's3://geo-dev', BIOME_STORE_STAGING: 's3://geo-staging' };
    Object.assign(process.env, server.env);
  });
  afterAll(async () => {
    process.env = savedEnv;
    await ws?.cleanup();
    await server?.stop();
  });

  it('deploy two biomes, then list, show, sleep, wake, promote and destroy as nx run infra:<target>', async () => {
    const head = ws.git('rev-parse', 'HEAD').trim();
    const nx = async (...args: string[]) => {
      const r = await ws.nx([...args, '--output-style=static'], env);
      return r;
    };
    let r = await nx('run-many', '-t', 'deploy', '--biome=dev-a');
    expect(r.code, r.output).toBe(0);
    // Several processes load the AWS SDK in this run (batches, the end-of-run step): its Node.js notice appears once, on a Node.js it will drop.
    expect((r.output.match(/AWS SDK for JavaScript/g) ?? []).length, r.output).toBe(
      Number(process.versions.node.split('.')[0]) < 22 ? 1 : 0,
    );
    // A run that sets the SDK's own switch decides alone.
    const quiet = await ws.nx(['run', 'assay-ingest:deploy', '--biome=dev-a', '--output-style=static'], {
      ...env,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    expect(quiet.code, quiet.output).toBe(0);
    expect(quiet.output).not.toMatch(/AWS SDK for JavaScript/);
    r = await nx('run', 'assay-ingest:deploy', '--biome=dev-b');
    expect(r.code, r.output).toBe(0);

    r = await nx('run', 'infra:biome-list', '--environment=dev');
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/dev \(s3:\/\/geo-dev\): 2 biome\(s\)/);
    expect(r.output).toMatch(new RegExp(`│ dev-b +│ test@example.com │ 1 +│ ${head.slice(0, 8)} initial workspace`));

    r = await nx('run', 'infra:biome-show', '--biome=dev-a');
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(new RegExp(`│ grade-predict +│ ${head} +│ [0-9a-f]{16}… │`));

    r = await nx('run', 'infra:biome-sleep', '--biome=dev-a');
    expect(r.code, r.output).toBe(0);
    expect(JSON.parse(await readFile(join(ws.root, 'dist/terraform/dev-a.tfvars.json'), 'utf8')).asleep).toBe(true);
    r = await nx('run', 'infra:biome-wake', '--biome=dev-a');
    expect(r.code, r.output).toBe(0);
    expect(JSON.parse(await readFile(join(ws.root, 'dist/terraform/dev-a.tfvars.json'), 'utf8')).asleep).toBe(false);

    r = await nx('run', 'infra:promote', '--from=dev-a', '--to=staging');
    expect(r.code, r.output).toBe(0);
    const stagingStore = openStore('s3://geo-staging', ws.root);
    const devStore = openStore('s3://geo-dev', ws.root);
    const artifact = `artifacts/assay-ingest/assay-ingest-${head}.zip`;
    expect(sha256((await stagingStore.get(artifact))!)).toBe(sha256((await devStore.get(artifact))!));
    expect(
      JSON.parse(await readFile(join(ws.root, 'dist/terraform/staging.tfvars.json'), 'utf8')).services['assay-ingest']
        .s3_key,
    ).toBe(artifact);

    r = await nx('run', 'infra:biome-destroy', '--biome=staging');
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/BIOME_MAIN_PROTECTED: staging is the main biome of staging/);

    r = await nx('run', 'infra:biome-destroy', '--biome=dev-b');
    expect(r.code, r.output).toBe(0);
    const left = (await devStore.list('')).map((o) => o.key);
    expect(left.some((k) => k.startsWith('biomes/dev-b/'))).toBe(false);
    expect(left).toContain(artifact); // dev-a still runs it
    expect(existsSync(join(ws.root, 'dist/terraform/dev-b.tfvars.json'))).toBe(false);
  });
});
