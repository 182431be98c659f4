import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3rver, S3Server } from '../support/s3rver';
import { copyWorkspace, NX_BIN, nxEnv, TempWorkspace } from '../support/workspace';
import { openStore } from '../../tools/nx-biome/src/adapters/store/open-store';

const BIOME = 'dev-e2e';

async function readJson(path: string) {
  return JSON.parse(await readFile(path, 'utf8'));
}

async function listFiles(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) out.push(join(e.parentPath, e.name).slice(dir.length + 1));
  return out.sort();
}

async function changeService(ws: TempWorkspace, name: string, line: string) {
  const main = join(ws.root, `apps/services/${name}/src/main.ts`);
  await writeFile(main, `${await readFile(main, 'utf8')}\n${line}\n`);
}

describe.each([
  ['embedded local store', false],
  ['S3 on s3rver through BIOME_STORE', true],
])('nx deploy end to end: %s', (_label, useS3) => {
  let ws: TempWorkspace;
  let server: S3Server | undefined;
  let env: Record<string, string> = {};
  let first: string;

  beforeAll(async () => {
    ws = await copyWorkspace('e2e-deploy-');
    if (useS3) {
      server = await startS3rver(['geo-artifacts-dev']);
      env = { ...server.env, BIOME_STORE: 's3://geo-artifacts-dev/e2e' };
    }
    first = ws.git('rev-parse', 'HEAD').trim();
  });
  afterAll(async () => {
    await ws?.cleanup();
    await server?.stop();
  });

  const store = () => openStore(useS3 ? 's3://geo-artifacts-dev/e2e' : 'file://.biome-store/dev', ws.root);
  const withStoreEnv = async <T>(fn: () => Promise<T>) => {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      return await fn();
    } finally {
      process.env = saved;
    }
  };

  it('deploys every sample project, records it and renders tfvars for the whole biome', async () => {
    const run = await ws.nx(['run-many', '-t', 'deploy', `--biome=${BIOME}`, '--output-style=static'], env);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(
      new RegExp(`assay-ingest → ${BIOME}: uploaded .* artifacts/assay-ingest/assay-ingest-${first}\\.zip`),
    );
    const keys = await withStoreEnv(async () => (await store().list('')).map((o) => o.key));
    expect(keys).toEqual(
      expect.arrayContaining([
        `artifacts/assay-ingest/assay-ingest-${first}.zip`,
        `artifacts/grade-predict/grade-predict-${first}.zip`,
        `biomes/${BIOME}/ledger/assay-ingest.json`,
        `biomes/${BIOME}/biome.json`,
      ]),
    );
    const tfvars = await readJson(join(ws.root, `dist/terraform/${BIOME}.tfvars.json`));
    expect(Object.keys(tfvars.services).sort()).toEqual(['assay-ingest', 'grade-predict']);
    expect(Object.keys(tfvars.workflows)).toEqual(['plant-feed']);
    expect(Object.keys(tfvars.models)).toEqual(['ore-grade']);
    expect(tfvars.services['assay-ingest'].git_sha).toBe(first);
    const sha256 = (await readFile(join(ws.root, `dist/artifacts/assay-ingest-${first}.zip.sha256`), 'utf8')).split(
      ' ',
    )[0];
    expect(tfvars.services['assay-ingest'].source_code_hash).toBe(Buffer.from(sha256, 'hex').toString('base64'));
    expect(tfvars.biome).toBe(BIOME);
    expect(tfvars.environment).toBe('dev');
  });

  it('after a change to one service, nx affected deploys a new artifact for it alone and tfvars still lists every project', async () => {
    await changeService(ws, 'assay-ingest', 'export const ingestVersion = 2;');
    ws.git('commit', '-qam', 'assay-ingest: version 2');
    const second = ws.git('rev-parse', 'HEAD').trim();
    // No --output-style: the summary must show whatever Nx hides.
    const run = await ws.nx(['affected', '-t', 'deploy', `--biome=${BIOME}`, '--base=HEAD~1'], env);
    expect(run.code, run.output).toBe(0);
    // Only the changed service and the workflow that invokes it are in the run: no package or deploy of any
    // other project (the workflow's build needs the services' builds, which come from the cache).
    expect(run.output).toMatch(/Successfully ran target deploy for 2 projects/);
    expect(run.output).not.toMatch(/(grade-predict|ore-grade|infra):(package|deploy)/);
    expect(run.output).not.toMatch(/ore-grade:build/);
    // The end-of-run table covers the whole biome and says what this run did.
    expect(run.output).toMatch(/│ assay-ingest\s+│ service\s+│ uploaded\s+│ [0-9a-f]{8}/);
    expect(run.output).toMatch(/│ plant-feed\s+│ workflow\s+│ unchanged\s+│/);
    expect(run.output).toMatch(/│ grade-predict\s+│ service\s+│ not in this run\s+│/);
    expect(run.output).toMatch(/│ ore-grade\s+│ model\s+│ not in this run\s+│/);
    const keys = await withStoreEnv(async () => (await store().list('artifacts/')).map((o) => o.key));
    // One new artifact (assay-ingest at the new commit); every other project keeps its first artifact.
    expect(keys).toEqual(
      [
        `artifacts/assay-ingest/assay-ingest-${first}.zip`,
        `artifacts/assay-ingest/assay-ingest-${second}.zip`,
        `artifacts/grade-predict/grade-predict-${first}.zip`,
        `artifacts/ore-grade/ore-grade-${first}.tar.gz`,
        `artifacts/plant-feed/plant-feed-${first}.zip`,
      ].sort(),
    );
    const ledger = await withStoreEnv(async () =>
      JSON.parse((await store().get(`biomes/${BIOME}/ledger/grade-predict.json`))!.toString()),
    );
    expect(ledger.gitSha).toBe(first);
    const tfvars = await readJson(join(ws.root, `dist/terraform/${BIOME}.tfvars.json`));
    expect(tfvars.services['assay-ingest'].s3_key).toBe(`artifacts/assay-ingest/assay-ingest-${second}.zip`);
    expect(tfvars.services['grade-predict'].s3_key).toBe(`artifacts/grade-predict/grade-predict-${first}.zip`);
  });

  it('a re-run with nothing changed uploads nothing and reports every project unchanged', async () => {
    const before = await withStoreEnv(async () => (await store().list('')).length);
    const run = await ws.nx(['run-many', '-t', 'deploy', `--biome=${BIOME}`, '--output-style=static'], env);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/assay-ingest → dev-e2e: unchanged/);
    expect(run.output).toMatch(/grade-predict → dev-e2e: unchanged/);
    // Only biome.json is rewritten (expiry refresh): no new artifact, record or history.
    expect(await withStoreEnv(async () => (await store().list('')).length)).toBe(before);
  });
});

describe('nx deploy refuses bad input and writes nothing', () => {
  let ws: TempWorkspace;
  beforeAll(async () => {
    ws = await copyWorkspace('e2e-refuse-');
  });
  afterAll(async () => ws?.cleanup());

  it.each([
    ['Dev_Bob', /BIOME_NAME_INVALID: Biome name "Dev_Bob" is invalid/],
    ['../x', /BIOME_NAME_INVALID/],
    ['dev-$(id)', /BIOME_NAME_INVALID/],
    ['prod-bob', /BIOME_SANDPIT_NOT_ALLOWED/],
  ])('--biome=%s fails before any task runs', async (biome, message) => {
    const run = await ws.nx(['run-many', '-t', 'deploy', `--biome=${biome}`, '--output-style=static']);
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(message);
    expect(await listFiles(join(ws.root, 'dist'))).toEqual([]);
    expect(await listFiles(join(ws.root, '.biome-store'))).toEqual([]);
  });

  it('a dirty tree fails with the list of files and writes nothing to the store', async () => {
    await changeService(ws, 'grade-predict', '// local experiment');
    const run = await ws.nx(['run-many', '-t', 'deploy', '--biome=dev-bob', '--output-style=static']);
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/GIT_DIRTY_TREE: .*the working tree has uncommitted changes/);
    expect(run.output).toContain('apps/services/grade-predict/src/main.ts');
    expect(run.output).toMatch(/--allow-dirty/);
    expect(await listFiles(join(ws.root, '.biome-store'))).toEqual([]);
    expect(await listFiles(join(ws.root, 'dist'))).toEqual([]);
    ws.git('checkout', '--', '.');
  });

  it('--allow-dirty deploys an artifact labelled dirty, in its name and its record', async () => {
    await changeService(ws, 'grade-predict', '// local experiment');
    const run = await ws.nx([
      'run',
      'grade-predict:deploy',
      '--biome=dev-bob',
      '--allow-dirty',
      '--output-style=static',
    ]);
    expect(run.code, run.output).toBe(0);
    const ledger = await readJson(join(ws.root, '.biome-store/dev/biomes/dev-bob/ledger/grade-predict.json'));
    expect(ledger.dirty).toBe(true);
    expect(ledger.artifactKey).toMatch(/grade-predict-[0-9a-f]{40}-dirty-[0-9a-f]{12}\.zip$/);
    ws.git('checkout', '--', '.');
  });

  it('a shallow clone fails loudly instead of reporting nothing affected', async () => {
    ws.git('commit', '-q', '--allow-empty', '-m', 'second');
    ws.git('commit', '-q', '--allow-empty', '-m', 'third');
    const { spawnSync } = await import('node:child_process');
    for (const depth of ['1', '2']) {
      const shallow = `${ws.root}-shallow-${depth}`;
      execFileSync('git', ['clone', '-q', `--depth=${depth}`, `file://${ws.root}`, shallow]);
      execFileSync('ln', ['-s', join(ws.root, 'node_modules'), join(shallow, 'node_modules')]);
      const r = spawnSync(process.execPath, [NX_BIN, 'affected', '-t', 'deploy', '--biome=dev-bob', '--base=HEAD~1'], {
        cwd: shallow,
        env: nxEnv(),
        encoding: 'utf8',
      });
      execFileSync('rm', ['-rf', shallow]);
      expect(r.status, `depth ${depth}`).not.toBe(0);
      // Depth 1: Nx cannot resolve the base at all. Depth 2: the base resolves, and the plugin refuses the shallow clone.
      if (depth === '2') expect(r.stdout + r.stderr).toMatch(/GIT_SHALLOW_CLONE: This is a shallow clone/);
    }
  });
});
