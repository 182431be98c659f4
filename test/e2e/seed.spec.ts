import type { ExecutorContext } from '@nx/devkit';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3rver, S3Server } from '../support/s3rver';
import { copyWorkspace, execFileAsync, TempWorkspace, WORKSPACE_ROOT } from '../support/workspace';
import { openStore } from '../../tools/nx-biome/src/adapters/store/open-store';
import { artifactFileName, PackageManifest } from '../../tools/nx-biome/src/core/artifact';
import { WorkspaceConfig } from '../../tools/nx-biome/src/core/config';
import { ledgerKey, LedgerRecord } from '../../tools/nx-biome/src/core/ledger';
import { parseBiomeName } from '../../tools/nx-biome/src/core/names';
import { StorePort } from '../../tools/nx-biome/src/adapters/store/store';
import { loadWorkspaceConfig } from '../../tools/nx-biome/src/adapters/workspace';
import { Deps, realDeps } from '../../tools/nx-biome/src/operations/context';
import { deployProject } from '../../tools/nx-biome/src/operations/deploy';
import { readBiomeMeta, readLedger, readRecord } from '../../tools/nx-biome/src/operations/ledger-store';
import { biomeBaseWith } from '../../tools/nx-biome/src/executors/biome-base/executor';
import { biomeConfigWith } from '../../tools/nx-biome/src/executors/biome-config/executor';
import { biomeCreateWith } from '../../tools/nx-biome/src/executors/biome-create/executor';
import { biomeDestroyWith } from '../../tools/nx-biome/src/executors/biome-destroy/executor';
import { biomeShowWith } from '../../tools/nx-biome/src/executors/biome-show/executor';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const PROJECTS = ['assay-ingest', 'grade-predict', 'tailings-watch'];

/**
 * A real git repository: main has c1 (every project deployed to dev) and c2
 * (grade-predict changed and deployed to dev); the branch `mr` forks at c1 and
 * changes assay-ingest (m1), so it is behind dev.
 */
async function makeRepo(): Promise<{
  root: string;
  git: (...a: string[]) => string;
  c1: string;
  c2: string;
  m1: string;
}> {
  const root = await mkdtemp(join(tmpdir(), 'seed-'));
  await copyFile(join(WORKSPACE_ROOT, 'nx-biome.json'), join(root, 'nx-biome.json'));
  // Marks the workspace root for the nx-biome command line.
  await writeFile(join(root, 'nx.json'), '{}\n');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'amy@example.com');
  git('config', 'user.name', 'Amy');
  git('add', '-A');
  git('commit', '-qm', 'c1: every project');
  const c1 = git('rev-parse', 'HEAD');
  git('commit', '-q', '--allow-empty', '-m', 'c2: grade-predict faster');
  const c2 = git('rev-parse', 'HEAD');
  git('checkout', '-q', '-b', 'mr', c1);
  git('commit', '-q', '--allow-empty', '-m', 'm1: assay-ingest fix');
  const m1 = git('rev-parse', 'HEAD');
  return { root, git, c1, c2, m1 };
}

describe.each([
  ['embedded local store', false],
  ['S3 on s3rver', true],
])('seeded sandpits in process: %s', (_label, useS3) => {
  let repo: Awaited<ReturnType<typeof makeRepo>>;
  let config: WorkspaceConfig;
  let server: S3Server | undefined;
  let deps: Deps;
  let clock = Date.parse('2026-12-01T00:00:00.000Z');
  let lines: string[] = [];
  const savedEnv = { ...process.env };
  const context = () =>
    ({ root: repo.root, cwd: repo.root, projectName: 'infra', isVerbose: false }) as unknown as ExecutorContext;
  const dev = (): StorePort => deps.storeFor('dev');
  const keys = async (prefix = '') => (await dev().list(prefix)).map((o) => o.key);
  async function output(fn: () => Promise<unknown>): Promise<string> {
    lines = [];
    await fn();
    return lines.join('\n');
  }
  async function deploy(biomeName: string, project: string, gitSha: string) {
    const biome = parseBiomeName(biomeName, config);
    const body = Buffer.from(`${project}@${gitSha}\n`.repeat(40));
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
      store: dev(),
      config,
      biome,
      manifest,
      readBody: async () => body,
      now: new Date(clock),
      deployedBy: 'amy',
      allowDirty: false,
      dryRun: false,
    });
  }

  beforeAll(async () => {
    repo = await makeRepo();
    config = await loadWorkspaceConfig(repo.root);
    let storeEnv: Record<string, string> = {};
    if (useS3) {
      server = await startS3rver(['geo-dev']);
      Object.assign(process.env, server.env);
      storeEnv = { BIOME_STORE_DEV: 's3://geo-dev/seed' };
    }
    deps = {
      ...realDeps(repo.root, config, storeEnv),
      now: () => new Date((clock += 1000)),
      log: (line) => lines.push(line),
      env: { ...storeEnv, BIOME_DEPLOYED_BY: 'mia' },
    };
    for (const p of PROJECTS) await deploy('dev', p, repo.c1);
    await deploy('dev', 'grade-predict', repo.c2);
    // Another sandpit runs one of dev's artifacts too (destroy must keep it for both).
    await deploy('dev-bob', 'tailings-watch', repo.c1);
  });
  afterAll(async () => {
    process.env = savedEnv;
    await server?.stop();
    if (repo) await rm(repo.root, { recursive: true, force: true });
  });

  it("refuses a source that is not the main biome of the sandpit's environment, and seeding a main biome", async () => {
    const before = await keys();
    await expect(biomeCreateWith({ biome: 'dev-mr-7', from: 'dev-bob' }, context(), deps)).rejects.toMatchObject({
      code: 'SEED_INVALID',
      message: expect.stringContaining('only from dev'),
    });
    await expect(biomeCreateWith({ biome: 'dev-mr-7', from: 'staging' }, context(), deps)).rejects.toMatchObject({
      code: 'SEED_INVALID',
    });
    await expect(biomeCreateWith({ biome: 'dev', from: 'dev' }, context(), deps)).rejects.toMatchObject({
      code: 'SEED_INVALID',
      message: expect.stringContaining('only sandpits are seeded'),
    });
    await expect(biomeCreateWith({ biome: 'dev-mr-7', from: 'Dev' }, context(), deps)).rejects.toMatchObject({
      code: 'BIOME_NAME_INVALID',
    });
    expect(await keys()).toEqual(before);
  });

  it('--dry-run says what the seed would copy and writes nothing', async () => {
    const before = await keys();
    const out = await output(() => biomeCreateWith({ biome: 'dev-mr-7', from: 'dev', dryRun: true }, context(), deps));
    expect(out).toContain(
      `[dry-run] would have seeded dev-mr-7 from dev at ${repo.c2}: 3 records, same artifact keys, nothing uploaded.`,
    );
    expect(await keys()).toEqual(before);
  });

  it("copies every record of dev: same artifact keys, the commit the bytes were built from, origin seed; nothing uploaded; the sandpit's own settings layer", async () => {
    // The sandpit's own layer, set before it exists: the seed resolves with it, not with dev's.
    await biomeConfigWith({ biome: 'dev-mr-7', projects: 'assay-ingest', set: 'LOG_LEVEL=debug' }, context(), deps);
    const artifactsBefore = await keys('artifacts/');
    const out = await output(() => biomeCreateWith({ biome: 'dev-mr-7', from: 'dev' }, context(), deps));
    expect(out).toMatch(/created dev-mr-7 .*: owner mia, expires/);
    expect(out).toContain(`seeded dev-mr-7 from dev at ${repo.c2}: 3 records, same artifact keys, nothing uploaded.`);
    expect(await keys('artifacts/')).toEqual(artifactsBefore);

    const devRecords = await readLedger(dev(), 'dev');
    const seeded = await readLedger(dev(), 'dev-mr-7');
    expect(seeded.map((r) => r.project)).toEqual(PROJECTS);
    for (const r of seeded) {
      const d = devRecords.find((x) => x.project === r.project)!;
      expect({ key: r.artifactKey, sha256: r.sha256, gitSha: r.gitSha, size: r.size }).toEqual({
        key: d.artifactKey,
        sha256: d.sha256,
        gitSha: d.gitSha,
        size: d.size,
      });
      expect(r.origin).toEqual({ action: 'seed', from: 'dev', commit: repo.c2 });
      expect(r.biome).toBe('dev-mr-7');
      expect(r.deployedBy).toBe('mia');
    }
    // Traceability: grade-predict's bytes were built at c2, the others at c1.
    expect(Object.fromEntries(seeded.map((r) => [r.project, r.gitSha]))).toEqual({
      'assay-ingest': repo.c1,
      'grade-predict': repo.c2,
      'tailings-watch': repo.c1,
    });
    const env = (r: LedgerRecord | undefined) =>
      (r?.resolvedSettings as { environment?: Record<string, unknown> } | undefined)?.environment ?? {};
    expect(env(seeded.find((r) => r.project === 'assay-ingest'))).toMatchObject({ LOG_LEVEL: 'debug' });
    expect(env(devRecords.find((r) => r.project === 'assay-ingest'))).not.toHaveProperty('LOG_LEVEL');

    const meta = await readBiomeMeta(dev(), 'dev-mr-7');
    expect(meta?.seed).toMatchObject({ from: 'dev', commit: repo.c2 });
    const tfvars = JSON.parse(await readFile(join(repo.root, 'dist/terraform/dev-mr-7.tfvars.json'), 'utf8'));
    expect(Object.keys(tfvars.services).sort()).toEqual(PROJECTS);
    expect(tfvars.services['grade-predict'].git_sha).toBe(repo.c2);
    expect(await output(() => biomeShowWith({ biome: 'dev-mr-7' }, context(), deps))).toContain(
      `seed from dev @${repo.c2.slice(0, 8)}`,
    );
  });

  it("the sandpit's base is dev's commit, or its merge base with a branch that lacks it", async () => {
    repo.git('checkout', '-q', 'main');
    expect(await biomeBaseWith({ biome: 'dev-mr-7' }, context(), deps)).toBe(repo.c2);
    repo.git('checkout', '-q', 'mr');
    const out = await output(async () =>
      expect(await biomeBaseWith({ biome: 'dev-mr-7' }, context(), deps)).toBe(repo.c1),
    );
    expect(out).toContain(
      `dev-mr-7 was seeded from dev at ${repo.c2}, which this branch lacks: its merge base ${repo.c1}`,
    );
  });

  it("a second seed changes nothing; a deploy of the branch replaces one record, and the base stays the seed's until a complete run", async () => {
    const before = await keys('biomes/dev-mr-7/');
    expect(await output(() => biomeCreateWith({ biome: 'dev-mr-7', from: 'dev' }, context(), deps))).toContain(
      'not seeded: dev-mr-7 was seeded from dev at',
    );
    expect((await keys('biomes/dev-mr-7/')).filter((k) => !k.endsWith('biome.json'))).toEqual(
      before.filter((k) => !k.endsWith('biome.json')),
    );

    const result = await deploy('dev-mr-7', 'assay-ingest', repo.m1);
    expect(result.outcome).toBe('uploaded');
    // One project's deploy is no complete run (docs/configuration.md): the other projects are still at the seed.
    expect(await biomeBaseWith({ biome: 'dev-mr-7' }, context(), deps)).toBe(repo.c1);
    // Same bytes as dev runs: unchanged, the seed record stays.
    const again = await deploy('dev-mr-7', 'tailings-watch', repo.c1);
    expect(again.outcome).toBe('unchanged');
    expect((await readRecord(dev(), 'dev-mr-7', 'tailings-watch'))?.origin?.action).toBe('seed');
  });

  it('a sandpit that deployed on its own is not seeded over', async () => {
    const before = await keys('biomes/dev-bob/');
    expect(await output(() => biomeCreateWith({ biome: 'dev-bob', from: 'dev' }, context(), deps))).toContain(
      'not seeded: dev-bob already records 1 project of its own',
    );
    expect((await keys('biomes/dev-bob/')).filter((k) => !k.endsWith('biome.json'))).toEqual(
      before.filter((k) => !k.endsWith('biome.json')),
    );
  });

  it('a seed cut short is finished by running it again', async () => {
    // What a seed killed after its first record leaves: one seed record, no biome.json mark.
    const first = (await readLedger(dev(), 'dev-mr-7')).find((r) => r.project === 'grade-predict')!;
    await dev().put(
      ledgerKey('dev-mr-8', 'grade-predict'),
      Buffer.from(JSON.stringify({ ...first, biome: 'dev-mr-8' })),
    );
    const out = await output(() => biomeCreateWith({ biome: 'dev-mr-8', from: 'dev' }, context(), deps));
    expect(out).toContain('seeded dev-mr-8 from dev at');
    expect(out).toContain('2 records (1 already seeded)');
    expect((await readLedger(dev(), 'dev-mr-8')).map((r) => r.project)).toEqual(PROJECTS);
  });

  it('npx nx-biome seed does the same without Nx, and fails with the error and its fix on bad input', async () => {
    // Asynchronously: the S3 server of this test answers from this very process.
    const cli = async (...a: string[]) => {
      try {
        const { stderr } = await execFileAsync(
          process.execPath,
          [join(WORKSPACE_ROOT, 'tools/nx-biome/bin/nx-biome.js'), ...a],
          { cwd: repo.root, env: { ...process.env, ...deps.env } },
        );
        return { code: 0, err: String(stderr) };
      } catch (e) {
        return { code: (e as { code: number }).code, err: String((e as { stderr: string }).stderr) };
      }
    };
    const bad = await cli('seed', '--biome=dev-mr-9', '--from=dev-bob');
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('SEED_INVALID: dev-mr-9 can be seeded only from dev');
    expect(await cli('seed', '--biome=dev-mr-9', '--from=dev')).toEqual({
      code: 0,
      err: expect.stringContaining('seeded dev-mr-9 from dev'),
    });
    expect((await readLedger(dev(), 'dev-mr-9')).map((r) => r.project)).toEqual(PROJECTS);
  });

  it('destroying a seeded sandpit keeps every artifact dev (or another sandpit) still runs, and deletes what only it ran', async () => {
    const out = await output(() => biomeDestroyWith({ biome: 'dev-mr-7' }, context(), deps));
    expect(out).toContain(`keep   artifacts/tailings-watch/tailings-watch-${repo.c1}`);
    const after = await keys();
    for (const r of await readLedger(dev(), 'dev')) expect(after).toContain(r.artifactKey);
    expect(after.some((k) => k.startsWith('artifacts/assay-ingest/') && k.includes(repo.m1))).toBe(false);
    expect(after.filter((k) => k.startsWith('biomes/dev-mr-7/'))).toEqual([]);
  });

  it('refuses to seed from a dev whose artifact is missing or altered, names the projects, and writes no record', async () => {
    const records = await readLedger(dev(), 'dev');
    const gone = records.find((r) => r.project === 'assay-ingest')!;
    const altered = records.find((r) => r.project === 'grade-predict')!;
    await dev().delete([gone.artifactKey]);
    await dev().put(altered.artifactKey, Buffer.from('not the recorded bytes'));
    const error = await biomeCreateWith({ biome: 'dev-mr-10', from: 'dev' }, context(), deps).then(
      () => undefined,
      (e: { code?: string; message: string }) => `${e.code}: ${e.message}`,
    );
    expect(error).toContain('ARTIFACT_UNVERIFIED: ');
    expect(error).toContain(`assay-ingest: ${gone.artifactKey} is missing`);
    expect(error).toContain(`grade-predict: ${altered.artifactKey} holds other bytes`);
    expect(error).toContain('dev-mr-10 was not seeded (no record written)');
    expect(await keys('biomes/dev-mr-10/ledger/')).toEqual([]);
    expect(await keys('biomes/dev-mr-10/history/')).toEqual([]);
  });
});

describe('a merge-request biome seeded from dev, with the real Nx CLI on S3 (s3rver)', () => {
  let ws: TempWorkspace;
  let server: S3Server;
  let env: Record<string, string>;
  const STORE = 's3://geo-artifacts-dev/seed';
  const artifactKeys = async () => {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      return (await openStore(STORE, ws.root).list('artifacts/'))
        .map((o) => o.key)
        .filter((k) => !k.endsWith('.sha256'));
    } finally {
      process.env = saved;
    }
  };
  const changeService = async (name: string, line: string) => {
    const main = join(ws.root, `apps/services/${name}/src/main.ts`);
    await writeFile(main, `${await readFile(main, 'utf8')}\n${line}\n`);
  };

  beforeAll(async () => {
    ws = await copyWorkspace('e2e-seed-');
    server = await startS3rver(['geo-artifacts-dev']);
    env = { ...server.env, BIOME_STORE: STORE, BIOME_DEPLOYED_BY: 'ci' };
  });
  afterAll(async () => {
    await ws?.cleanup();
    await server?.stop();
  });

  it('uploads only the service the MR changed (the branch is behind dev), and its tfvars name every project', async () => {
    const c1 = ws.git('rev-parse', 'HEAD').trim();
    let run = await ws.nx(['run-many', '-t', 'deploy', '--biome=dev', '--output-style=static'], env);
    expect(run.code, run.output).toBe(0);
    // The MR branch forks here and changes assay-ingest; main moves on with a grade-predict change deployed to dev.
    ws.git('checkout', '-q', '-b', 'mr-7');
    await changeService('assay-ingest', 'export const mrFix = 7;');
    ws.git('commit', '-qam', 'assay-ingest: MR fix');
    const m1 = ws.git('rev-parse', 'HEAD').trim();
    ws.git('checkout', '-q', 'main');
    await changeService('grade-predict', 'export const faster = true;');
    ws.git('commit', '-qam', 'grade-predict: faster');
    const c2 = ws.git('rev-parse', 'HEAD').trim();
    run = await ws.nx(['affected', '-t', 'deploy', '--biome=dev', '--output-style=static'], env);
    expect(run.code, run.output).toBe(0);

    ws.git('checkout', '-q', 'mr-7');
    const before = await artifactKeys();
    run = await ws.nx(['run', 'infra:biome-create', '--biome=dev-mr-7', '--from=dev', '--output-style=static'], env);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain(`seeded dev-mr-7 from dev at ${c2}: 4 records, same artifact keys, nothing uploaded.`);
    expect(await artifactKeys()).toEqual(before);

    run = await ws.nx(['affected', '-t', 'deploy', '--biome=dev-mr-7', '--output-style=static'], env);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain(
      `dev-mr-7 was seeded from dev at ${c2.slice(0, 8)}, which this branch lacks: deploying what changed since their merge base ${c1.slice(0, 8)}`,
    );
    const uploaded = (await artifactKeys()).filter((k) => !before.includes(k));
    expect(uploaded).toEqual([`artifacts/assay-ingest/assay-ingest-${m1}.zip`]);

    const tfvars = JSON.parse(await readFile(join(ws.root, 'dist/terraform/dev-mr-7.tfvars.json'), 'utf8'));
    expect(Object.keys(tfvars.services).sort()).toEqual(['assay-ingest', 'grade-predict']);
    expect(Object.keys(tfvars.workflows)).toEqual(['plant-feed']);
    expect(Object.keys(tfvars.models)).toEqual(['ore-grade']);
    // Every project names the commit its bytes were built from: the MR's change, dev's newer grade-predict, the rest from c1.
    expect(tfvars.services['assay-ingest'].git_sha).toBe(m1);
    expect(tfvars.services['grade-predict'].git_sha).toBe(c2);
    expect(tfvars.models['ore-grade'].git_sha).toBe(c1);
  });
});
