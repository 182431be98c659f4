import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../tools/nx-biome/src/adapters/store/open-store';
import { StorePort } from '../../tools/nx-biome/src/adapters/store/store';
import { auditBiome, partialArtifacts } from '../faults/audit';
import { createFigures } from '../faults/figures';
import { FaultMatch, FaultProxy, startFaultProxy } from '../faults/proxy';
import { startS3rver, S3Server } from '../support/s3rver';
import { copyWorkspace, NX_BIN, nxEnv, TempWorkspace, WORKSPACE_ROOT } from '../support/workspace';

/*
 * Faults where processes matter, through the real Nx CLI on a temporary copy
 * of the workspace with five services and one model: a failing build, 503
 * SlowDown, a deploy killed (SIGKILL, whole process group) between publishing
 * and recording and between recording and rendering, concurrent deploys of
 * one biome and of two biomes; and planted secrets that must not reach any
 * output.
 */

const SERVICES = ['assay-ingest', 'grade-predict', 'mill-feed', 'ore-sort', 'tail-watch'];
const DEPLOYABLES = [...SERVICES, 'ore-grade'].sort();
const BUCKET = 'geo-artifacts-dev';
const SECRETS = {
  AWS_SESSION_TOKEN: 'FAKESESSIONTOKENplanted0123456789abcdef',
  GITLAB_TOKEN: 'glpat-FAKEplantedGitlabToken42',
  NPM_TOKEN: 'npm_FAKEplantedNpmToken0123456789',
  DATABASE_PASSWORD: 'FAKE-db-password-planted-7f3a',
};
const FILE_SECRETS = ['FAKE-dotenv-secret-9c1e', 'npm_FAKEnpmrcAuthToken5b7d'];
const PLANTED_AWS = {
  AWS_ACCESS_KEY_ID: 'AKIAFAKEPLANTED12345',
  AWS_SECRET_ACCESS_KEY: 'FAKEplantedSecretAccessKey/abcdefghij0123',
};

let ws: TempWorkspace;
let server: S3Server;
let proxy: FaultProxy;
let s3env: Record<string, string>;
let store: StorePort;
const figures = createFigures('nx-faults');
let kills = 0;

async function addService(name: string) {
  const from = join(ws.root, 'apps/services/assay-ingest');
  const to = join(ws.root, 'apps/services', name);
  await cp(from, to, { recursive: true });
  for (const f of ['project.json', 'tsconfig.app.json']) {
    const p = join(to, f);
    await writeFile(p, (await readFile(p, 'utf8')).replaceAll('assay-ingest', name));
  }
}

/** Runs Nx as its own process group, so that a kill takes every task process with it. */
function startNx(
  args: string[],
  env: Record<string, string> = {},
  cwd = ws.root,
): { child: ChildProcess; done: Promise<{ code: number; output: string }> } {
  const child = spawn(process.execPath, [NX_BIN, ...args, '--output-style=static'], {
    cwd,
    env: nxEnv(env),
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const done = new Promise<{ code: number; output: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output })),
  );
  return { child, done };
}

/**
 * Runs Nx and SIGKILLs it (the Nx process and all its task processes) when a request matching `at` reaches the store; with
 * `armedBy`, only a match that comes once the requests matching each of those
 * have been answered (a run lists the ledger more than once: each deploy batch at
 * its start, the end-of-run render after the last record).
 */
async function killAt(
  args: string[],
  env: Record<string, string>,
  at: FaultMatch,
  armedBy: FaultMatch[] = [],
): Promise<string> {
  // Armed once those requests are answered (their writes complete), not merely sent.
  const armed = Promise.all(armedBy.map((m) => proxy.waitForResponse(m, 240_000)));
  const run = startNx(args, env);
  await armed;
  proxy.addRule({ match: at, action: { kind: 'hold' }, times: 1 });
  await proxy.waitFor(at, 240_000);
  process.kill(-run.child.pid!, 'SIGKILL');
  kills++;
  const { output } = await run.done;
  proxy.clearRules();
  return output;
}

const failedTasks = (output: string) =>
  [...output.matchAll(/^\s*-\s+([a-z0-9-]+):([a-z-]+)\s*$/gm)].map((m) => `${m[1]}:${m[2]}`).sort();
const artifactPuts = (from: number) =>
  proxy
    .requests({ method: 'PUT', path: /\/artifacts\// }, from)
    .map((r) => /\/artifacts\/([a-z0-9-]+)\//.exec(r.path)![1]);

async function expectSound(biome: string, expected: string[]) {
  const audit = await auditBiome(store, biome);
  const recorded = audit.records.map((r) => r.project).sort();
  figures.add('danglingRecords', audit.dangling.length);
  figures.add('recordsLost', expected.filter((p) => !recorded.includes(p)).length);
  expect(audit.dangling).toEqual([]);
  expect(recorded).toEqual(expect.arrayContaining(expected));
  return audit;
}

const readTfvars = async (biome: string, root = ws.root) =>
  JSON.parse(await readFile(join(root, `dist/terraform/${biome}.tfvars.json`), 'utf8'));

/** A second checkout of the workspace, as a second CI job would have (Nx runs never share a dist/ folder). */
async function cloneWorkspace(name: string): Promise<string> {
  const dir = `${ws.root}-${name}`;
  execFileSync('git', ['clone', '-q', ws.root, dir]);
  await symlink(join(WORKSPACE_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}
const tfvarsProjects = (t: { services: object; workflows: object; models: object }) =>
  [...Object.keys(t.services), ...Object.keys(t.workflows), ...Object.keys(t.models)].sort();

beforeAll(async () => {
  ws = await copyWorkspace('rel-nx-');
  // Lean fixture: five services and one model.
  await rm(join(ws.root, 'apps/workflows'), { recursive: true, force: true });
  await rm(join(ws.root, 'apps/services/artifact-deployer'), { recursive: true, force: true });
  for (const name of ['mill-feed', 'ore-sort', 'tail-watch']) await addService(name);
  // Secrets a developer keeps next to the code: .env (git-ignored) and .npmrc (committed by mistake).
  for (const dir of [...SERVICES.map((s) => `apps/services/${s}`), 'apps/models/ore-grade']) {
    await writeFile(join(ws.root, dir, '.env'), `DB_PASSWORD=${FILE_SECRETS[0]}\n`);
    await writeFile(join(ws.root, dir, '.npmrc'), `//registry.npmjs.org/:_authToken=${FILE_SECRETS[1]}\n`);
  }
  // One service does not compile.
  await writeFile(
    join(ws.root, 'apps/services/tail-watch/src/main.ts'),
    'export const handler = async (: number => ;\n',
  );
  ws.git('add', '-A');
  ws.git('commit', '-qm', 'five services, one broken');
  server = await startS3rver([BUCKET]);
  proxy = await startFaultProxy(server.port, 13);
  s3env = { ...server.env, AWS_ENDPOINT_URL_S3: proxy.endpoint, BIOME_STORE: `s3://${BUCKET}/nx` };
  const saved = { ...process.env };
  Object.assign(process.env, s3env);
  store = openStore(s3env.BIOME_STORE, ws.root);
  // The store object reads the environment when it first sends; keep it pointed at the proxy.
  await store.list('x/');
  process.env = saved;
}, 300_000);

afterAll(async () => {
  figures.add('faultsInjected', (proxy?.faultsInjected() ?? 0) + kills);
  figures.note('faultCounts', { ...proxy?.counts, processKills: kills });
  await figures.write();
  await proxy?.close();
  await server?.stop();
  await ws?.cleanup();
});

describe('one of five services fails to build', () => {
  it('exits non-zero naming it, records the others and renders no tfvars', async () => {
    const run = await ws.nx(['run-many', '-t', 'deploy', '--biome=dev-rel', '--parallel=2', '--output-style=static'], {
      ...SECRETS,
      ...PLANTED_AWS,
    });
    expect(run.code).not.toBe(0);
    // Nx lists the failed build and the tasks it held back; no other project's task failed.
    expect(failedTasks(run.output)).toEqual(['tail-watch:build', 'tail-watch:deploy']);
    expect(run.output).toMatch(/tail-watch\/src\/main\.ts/);
    const ledger = join(ws.root, '.biome-store/dev/biomes/dev-rel/ledger');
    expect((await readdir(ledger)).sort()).toEqual(
      DEPLOYABLES.filter((p) => p !== 'tail-watch').map((p) => `${p}.json`),
    );
    // No tfvars is rendered from a half-failed run; the table still says what the biome holds and what failed.
    expect(existsSync(join(ws.root, 'dist/terraform/dev-rel.tfvars.json'))).toBe(false);
    expect(run.output).toMatch(
      /dist\/terraform\/dev-rel\.tfvars\.json was NOT rendered \(1 deploy\(s\) of this run did not succeed: tail-watch/,
    );
    expect(run.output).toMatch(/│ tail-watch\s+│\s+│ skipped \(not deployed\)/);
  });

  it('after the fix, a re-run redoes only the failed one and renders tfvars for all six', async () => {
    await writeFile(
      join(ws.root, 'apps/services/tail-watch/src/main.ts'),
      await readFile(join(ws.root, 'apps/services/assay-ingest/src/main.ts'), 'utf8'),
    );
    ws.git('commit', '-qam', 'fix tail-watch');
    const run = await ws.nx(['run-many', '-t', 'deploy', '--biome=dev-rel', '--parallel=2', '--output-style=static'], {
      ...SECRETS,
      ...PLANTED_AWS,
    });
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/tail-watch → dev-rel: uploaded/);
    for (const p of DEPLOYABLES.filter((x) => x !== 'tail-watch'))
      expect(run.output).toMatch(new RegExp(`${p} → dev-rel: unchanged`));
    const files = await readdir(join(ws.root, '.biome-store/dev/artifacts'), { recursive: true });
    expect(files.filter((f) => /\.(zip|tar\.gz)$/.test(f)).length).toBe(DEPLOYABLES.length);
    expect(tfvarsProjects(await readTfvars('dev-rel'))).toEqual(DEPLOYABLES);
  });

  it('no artifact byte, ledger record or tfvars holds a planted credential or secret', async () => {
    const needles = [...Object.values(SECRETS), ...Object.values(PLANTED_AWS), ...FILE_SECRETS];
    const haystacks: [string, Buffer][] = [];
    const walk = async (dir: string) => {
      for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
        if (e.isFile()) haystacks.push([join(e.parentPath, e.name), await readFile(join(e.parentPath, e.name))]);
    };
    await walk(join(ws.root, '.biome-store'));
    await walk(join(ws.root, 'dist/terraform'));
    await walk(join(ws.root, 'dist/artifacts'));
    let entries = 0;
    for (const [path, body] of [...haystacks]) {
      const inner = path.endsWith('.zip')
        ? unzipEntries(body)
        : path.endsWith('.tar.gz')
          ? untarEntries(gunzipSync(body))
          : [];
      for (const e of inner) {
        haystacks.push([`${path}!${e.name}`, e.data]);
        entries++;
      }
    }
    expect(entries).toBeGreaterThan(DEPLOYABLES.length);
    const names = haystacks.map(([p]) => p);
    expect(names.filter((n) => /!(.*\/)?\.(env|npmrc)$/.test(n))).toEqual([]);
    const found = haystacks.flatMap(([p, b]) => needles.filter((n) => b.includes(n)).map((n) => `${p}: ${n}`));
    expect(found).toEqual([]);
    figures.note('secretScan', { files: haystacks.length, archiveEntries: entries, needles: needles.length });
    figures.add('badInputs', needles.length);
  });
});

describe('S3 faults under the Nx CLI', () => {
  it('30% SlowDown: success, or exactly the failed deploy tasks lack a record; one request per project in flight at most', async () => {
    const projects = ['assay-ingest', 'grade-predict', 'ore-sort'];
    const args = [
      'run-many',
      '-t',
      'deploy',
      `--projects=${projects.join(',')}`,
      '--biome=dev-slow',
      '--parallel=2',
      '--output-style=static',
    ];
    const from = proxy.seen.length;
    proxy.maxInFlight = 0;
    proxy.addRule({ action: { kind: 'slowDown' }, rate: 0.3 });
    const run = await ws.nx(args, s3env);
    proxy.clearRules();
    const slowed = proxy.requests({}, from).filter((r) => r.fault === 'slowDown').length;
    expect(slowed).toBeGreaterThan(3);
    // Nx runs the deploys as one batch (executors/deploy/batch.ts): at most 8 projects
    // in flight, each sending one request at a time.
    expect(proxy.maxInFlight, JSON.stringify(proxy.peak)).toBeLessThanOrEqual(Math.min(8, projects.length));
    const audit = await expectSound('dev-slow', []);
    const missing = projects.filter((p) => !audit.records.some((r) => r.project === p));
    const failedDeploys = failedTasks(run.output)
      .filter((t) => t.endsWith(':deploy'))
      .map((t) => t.split(':')[0]);
    expect(failedDeploys).toEqual(missing);
    expect(run.code === 0).toBe(missing.length === 0);
    figures.note('nxSlowDown30', {
      slowed,
      requests: proxy.requests({}, from).length,
      exit: run.code,
      failed: missing,
    });
    if (missing.length > 0) {
      const again = await ws.nx(args, s3env);
      expect(again.code, again.output).toBe(0);
    }
    await expectSound('dev-slow', projects);
  });

  it('killed between publishing and recording, then between recording and rendering: each re-run converges, nothing uploaded twice', async () => {
    const args = ['run-many', '-t', 'deploy', '--biome=dev-crash', '--parallel=2'];
    // A new commit: every artifact has a new key, so this run uploads for real.
    ws.git('commit', '-q', '--allow-empty', '-m', 'crash test');
    const from = proxy.seen.length;
    // 1. SIGKILL when the first history record (written right after the verified artifact) is sent.
    await killAt(args, s3env, { method: 'PUT', path: /\/biomes\/dev-crash\/history\// });
    const afterFirst = await expectSound('dev-crash', []);
    expect(artifactPuts(from).length).toBeGreaterThan(0);
    // 2. Re-run, SIGKILL when the end-of-run step lists the ledger to render: every record is written, no tfvars yet.
    const from2 = proxy.seen.length;
    // Armed once the record of every project the first run left unrecorded has been sent.
    const unrecorded = DEPLOYABLES.filter((p) => !afterFirst.records.some((r) => r.project === p));
    await killAt(
      args,
      s3env,
      { method: 'GET', path: /list-type=2.*prefix=nx%2Fbiomes%2Fdev-crash%2Fledger/ },
      unrecorded.map((p) => ({ method: 'PUT', path: new RegExp(`/biomes/dev-crash/ledger/${p}\\.json`) })),
    );
    await expectSound('dev-crash', DEPLOYABLES);
    expect(existsSync(join(ws.root, 'dist/terraform/dev-crash.tfvars.json'))).toBe(false);
    // 3. Re-run: converges, and renders the whole biome.
    const from3 = proxy.seen.length;
    const run = await ws.nx([...args, '--output-style=static'], s3env);
    expect(run.code, run.output).toBe(0);
    expect(artifactPuts(from3)).toEqual([]);
    for (const p of DEPLOYABLES) expect(run.output).toMatch(new RegExp(`${p} → dev-crash: unchanged`));
    expect(tfvarsProjects(await readTfvars('dev-crash'))).toEqual(DEPLOYABLES);
    // Over the three runs each artifact was uploaded once, apart from uploads cut by the kill itself.
    const puts = artifactPuts(from);
    expect(new Set(puts).size).toBe(DEPLOYABLES.length);
    expect(puts.length).toBeLessThanOrEqual(DEPLOYABLES.length + 2);
    expect(await partialArtifacts(store)).toEqual([]);
    figures.note('nxCrash', {
      recordedAfterFirstKill: afterFirst.records.length,
      artifactPuts: puts.length,
      rerun2Puts: artifactPuts(from2).length,
    });
  });

  it('two deploys of one biome at once and a third of another biome: no record lost, each tfvars whole and its own', async () => {
    // Three CI jobs: two checkouts deploy the same biome, a third another biome, all at once, into one bucket.
    const [second, third] = await Promise.all([cloneWorkspace('twin'), cloneWorkspace('solo')]);
    try {
      const twin1 = startNx(['run-many', '-t', 'deploy', '--biome=dev-twin', '--parallel=1'], s3env);
      const twin2 = startNx(['run-many', '-t', 'deploy', '--biome=dev-twin', '--parallel=1'], s3env, second);
      const solo = startNx(['run-many', '-t', 'deploy', '--biome=dev-solo', '--parallel=1'], s3env, third);
      const [a, b, c] = await Promise.all([twin1.done, twin2.done, solo.done]);
      for (const r of [a, b, c]) expect(r.code, r.output.slice(-3000)).toBe(0);
      for (const [biome, other, roots] of [
        ['dev-twin', 'dev-solo', [ws.root, second]],
        ['dev-solo', 'dev-twin', [third]],
      ] as const) {
        const audit = await expectSound(biome, DEPLOYABLES);
        expect(audit.records.every((r) => r.biome === biome)).toBe(true);
        for (const root of roots) {
          const tfvars = await readTfvars(biome, root);
          expect(tfvarsProjects(tfvars)).toEqual(DEPLOYABLES);
          for (const r of audit.records) expect(JSON.stringify(tfvars)).toContain(r.artifactKey);
          expect(JSON.stringify(tfvars)).not.toContain(other);
          expect((await readdir(join(root, 'dist/terraform'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
        }
      }
    } finally {
      await Promise.all([second, third].map((d) => rm(d, { recursive: true, force: true })));
    }
  });
});

describe('names reach subprocesses as argv, never through a shell', () => {
  it('a biome or project named $(touch pwned) creates no file and fails with the rule', async () => {
    await addService('pwn');
    const pj = join(ws.root, 'apps/services/pwn/project.json');
    await writeFile(pj, (await readFile(pj, 'utf8')).replace('"name": "pwn"', '"name": "pwn-$(touch pwned)"'));
    ws.git('add', '-A');
    ws.git('commit', '-qm', 'a project with a hostile name');
    const biome = await ws.nx(['run', 'assay-ingest:deploy', '--biome=dev-$(touch pwned)', '--output-style=static']);
    expect(biome.code).not.toBe(0);
    expect(biome.output).toMatch(/BIOME_NAME_INVALID/);
    const project = await ws.nx(['run', 'pwn-$(touch pwned):deploy', '--biome=dev-rel', '--output-style=static']);
    expect(project.code).not.toBe(0);
    expect(project.output).toMatch(/PROJECT_NAME_INVALID: Project name "pwn-\$\(touch pwned\)" is invalid/);
    for (const dir of [ws.root, join(ws.root, 'apps/services/pwn'), join(ws.root, 'dist')])
      expect(existsSync(join(dir, 'pwned'))).toBe(false);
    expect(await store.list('biomes/dev-rel/ledger/pwn')).toEqual([]);
    figures.add('badInputs', 2);
  });
});

/** Entries of a zip (stored or deflated), read from the central directory. */
function unzipEntries(zip: Buffer): { name: string; data: Buffer }[] {
  const out: { name: string; data: Buffer }[] = [];
  let eocd = zip.length - 22;
  while (eocd >= 0 && zip.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  let p = zip.readUInt32LE(eocd + 16);
  for (let i = 0, n = zip.readUInt16LE(eocd + 10); i < n; i++) {
    const method = zip.readUInt16LE(p + 10);
    const size = zip.readUInt32LE(p + 20);
    const nameLen = zip.readUInt16LE(p + 28);
    const extra = zip.readUInt16LE(p + 30);
    const comment = zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const name = zip.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(start, start + size);
    out.push({ name, data: method === 8 ? inflateRawSync(raw) : raw });
    p += 46 + nameLen + extra + comment;
  }
  return out;
}

/** Entries of a tar. */
function untarEntries(tar: Buffer): { name: string; data: Buffer }[] {
  const out: { name: string; data: Buffer }[] = [];
  for (let p = 0; p + 512 <= tar.length;) {
    const name = tar
      .subarray(p, p + 100)
      .toString('utf8')
      .replace(/\0.*$/s, '');
    if (!name) break;
    const size = parseInt(
      tar
        .subarray(p + 124, p + 136)
        .toString('utf8')
        .replace(/\0.*$/s, '')
        .trim() || '0',
      8,
    );
    out.push({ name, data: tar.subarray(p + 512, p + 512 + size) });
    p += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}
