import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../tools/nx-biome/src/adapters/store/open-store';
import { StorePort } from '../../tools/nx-biome/src/adapters/store/store';
import { FaultMatch, FaultProxy, startFaultProxy } from '../faults/proxy';
import { startS3rver, S3Server } from '../support/s3rver';
import { copyWorkspace, NX_BIN, nxEnv, TempWorkspace } from '../support/workspace';

/*
 * One deploy, however it is typed: every command form Nx accepts for a deploy
 * runs through the real Nx CLI on one copy of the workspace and one s3rver
 * store (behind the fault proxy, so a run can be interrupted at a chosen
 * request). Each row uses a biome of its own and the fewest projects that
 * prove it (one service, mostly), and asserts what a user sees: the exit
 * code, the end-of-run summary, and tfvars that name exactly what the ledger
 * records. Output styles, plugin isolation and CI are varied across the rows
 * (not as a full cross product: each Nx start costs seconds on a loaded
 * 2-core machine); docs/pipeline.md lists which row covers which.
 */

const BUCKET = 'geo-artifacts-dev';
const DEPLOYABLES = ['assay-ingest', 'grade-predict', 'ore-grade', 'plant-feed'];
const BIOME_BIN = 'tools/nx-biome/bin/nx-biome.js';

let ws: TempWorkspace;
let server: S3Server;
let proxy: FaultProxy;
let s3env: Record<string, string>;
let store: StorePort;

interface Run {
  code: number;
  output: string;
}

/** Runs a command of the workspace (the Nx CLI or the nx-biome bin) as its own process group. */
function start(
  bin: string,
  args: string[],
  env: Record<string, string> = {},
  file = process.execPath,
): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(file, file === process.execPath ? [bin, ...args] : args, {
    cwd: ws.root,
    env: nxEnv({ ...s3env, ...env }),
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const done = new Promise<Run>((resolve) =>
    child.on('close', (code, signal) => resolve({ code: code ?? (signal === 'SIGINT' ? 130 : 128), output })),
  );
  return { child, done };
}
const nx = (args: string[], env: Record<string, string> = {}) => start(NX_BIN, args, env).done;
const quote = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
/** Nx in a real terminal (a pty from util-linux `script`, which exits with the command's code): the TUI as a developer sees it. */
async function nxInTerminal(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const run = await start(
    '',
    ['-qec', [process.execPath, NX_BIN, ...args].map(quote).join(' '), '/dev/null'],
    { CI: 'false', NX_TUI: 'true', ...env },
    '/usr/bin/script',
  ).done;
  // eslint-disable-next-line no-control-regex
  return { ...run, output: run.output.replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, '').replace(/\r/g, '') };
}
const hasScript = existsSync('/usr/bin/script');
const nxBiome = (args: string[], env: Record<string, string> = {}) => start(join(ws.root, BIOME_BIN), args, env).done;

async function ledger(biome: string): Promise<Map<string, { artifactKey: string; gitSha: string }>> {
  const out = new Map<string, { artifactKey: string; gitSha: string }>();
  for (const { key } of await store.list(`biomes/${biome}/ledger/`)) {
    const record = JSON.parse((await store.get(key))!.toString('utf8'));
    out.set(record.project, record);
  }
  return out;
}

async function tfvarsKeys(biome: string): Promise<Map<string, string>> {
  const t = JSON.parse(await readFile(join(ws.root, `dist/terraform/${biome}.tfvars.json`), 'utf8'));
  const out = new Map<string, string>();
  for (const group of [t.services, t.workflows, t.models])
    for (const [name, v] of Object.entries(group as Record<string, { s3_key: string }>)) out.set(name, v.s3_key);
  return out;
}

/** The biome's tfvars name exactly the artifacts its ledger records, and the run printed the summary table. */
async function expectAgree(biome: string, run: Run, projects: string[]): Promise<void> {
  const records = await ledger(biome);
  expect([...records.keys()].sort(), run.output.slice(-3000)).toEqual([...projects].sort());
  const tfvars = await tfvarsKeys(biome);
  expect(Object.fromEntries(tfvars)).toEqual(Object.fromEntries([...records].map(([p, r]) => [p, r.artifactKey])));
  expect(run.output).toContain(
    `rendered dist/terraform/${biome}.tfvars.json: ${projects.length} project(s) in biome ${biome}`,
  );
  expect(run.output).toMatch(/│ project\s+│ kind\s+│ outcome/);
}

async function runRecord(biome: string): Promise<{ gitSha: string } | undefined> {
  const body = await store.get(`biomes/${biome}/last-run.json`);
  return body ? JSON.parse(body.toString('utf8')) : undefined;
}

/** Starts a deploy and stops it the moment the proxy sees `at` (held: it never gets an answer), with `signal`. */
async function interruptAt(
  bin: string,
  args: string[],
  at: FaultMatch,
  signal: 'SIGINT' | 'SIGKILL',
  alsoSeen?: FaultMatch,
): Promise<Run> {
  proxy.addRule({ match: at, action: { kind: 'hold' }, times: 1 });
  // `alsoSeen` must have been answered (its write complete), not only sent: s3rver writes objects in place.
  const seen = Promise.all([
    proxy.waitFor(at, 240_000),
    ...(alsoSeen ? [proxy.waitForResponse(alsoSeen, 240_000)] : []),
  ]);
  const run = start(bin, args);
  await seen;
  // SIGINT to Nx alone (as a terminal's Ctrl-C to the process Nx is); SIGKILL to the whole group (a runner killed).
  if (signal === 'SIGINT') process.kill(run.child.pid!, 'SIGINT');
  else process.kill(-run.child.pid!, 'SIGKILL');
  const result = await run.done;
  proxy.clearRules();
  return result;
}

beforeAll(async () => {
  ws = await copyWorkspace('forms-');
  server = await startS3rver([BUCKET]);
  proxy = await startFaultProxy(server.port, 23);
  s3env = { ...server.env, AWS_ENDPOINT_URL_S3: proxy.endpoint, BIOME_STORE: `s3://${BUCKET}/nx` };
  const saved = { ...process.env };
  Object.assign(process.env, s3env);
  store = openStore(s3env.BIOME_STORE, ws.root);
  await store.list('x/');
  process.env = saved;
}, 300_000);

afterAll(async () => {
  await proxy?.close();
  await server?.stop();
  await ws?.cleanup();
});

describe('every command form of a deploy renders the biome and prints the summary', () => {
  // [command line, the projects it deploys, environment]. One service each: the form is what is under test.
  const rows: [string, string[], string[], Record<string, string>][] = [
    [
      'nx deploy <p> (infix), static, in-process plugin',
      ['deploy', 'grade-predict', '--biome=dev-f1', '--output-style=static'],
      ['grade-predict'],
      {},
    ],
    [
      'nx run <p>:deploy, isolated plugin, stream',
      ['run', 'grade-predict:deploy', '--biome=dev-f2', '--output-style=stream'],
      ['grade-predict'],
      { NX_ISOLATE_PLUGINS: 'true' },
    ],
    [
      'run-many -t=deploy, CI=false, tui requested (no terminal)',
      ['run-many', '-t=deploy', '--projects=grade-predict', '--biome=dev-f3', '--output-style=tui'],
      ['grade-predict'],
      { CI: 'false', NX_TUI: 'true' },
    ],
    [
      'run-many --targets=build,deploy, isolated plugin',
      ['run-many', '--targets=build,deploy', '-p', 'grade-predict', '--biome=dev-f4', '--output-style=static'],
      ['grade-predict'],
      { NX_ISOLATE_PLUGINS: 'true' },
    ],
    [
      'run-many, repeated --projects and --exclude',
      [
        'run-many',
        '-t',
        'deploy',
        '--projects',
        'grade-predict',
        '--projects',
        'assay-ingest',
        '--exclude',
        'assay-ingest',
        '--biome',
        'dev-f5',
        '--output-style=static',
      ],
      ['grade-predict'],
      {},
    ],
  ];
  for (const [name, args, projects, env] of rows) {
    it(name, async () => {
      const run = await nx(args, env);
      expect(run.code, run.output.slice(-3000)).toBe(0);
      await expectAgree(args.find((a) => a.startsWith('--biome='))?.slice(8) ?? 'dev-f5', run, projects);
      // The table knows what this run did: the run id reached the deploy tasks through the pre-run hook's environment.
      expect(run.output).toMatch(/│ grade-predict\s+│ service\s+│ (uploaded|recorded \(already stored\))\s+│/);
    });
  }

  it.skipIf(!hasScript && process.env.CI !== 'true')(
    'nx deploy <p> in a real terminal (TUI): summary and tfvars',
    async () => {
      const run = await nxInTerminal(['deploy', 'grade-predict', '--biome=dev-f6', '--output-style=tui']);
      expect(run.code, run.output.slice(-3000)).toBe(0);
      await expectAgree('dev-f6', run, ['grade-predict']);
    },
  );

  it('nx affected --target=deploy --base=<sha>, isolated plugin: what changed since <sha>, summary of the whole biome', async () => {
    const base = ws.git('rev-parse', 'HEAD').trim();
    await writeFile(join(ws.root, 'apps/services/grade-predict/src/extra.ts'), 'export const extra = 1;\n');
    ws.git('add', '-A');
    ws.git('commit', '-qm', 'grade-predict: a new file');
    const run = await nx(['affected', '--target=deploy', `--base=${base}`, '--biome=dev-f1', '--output-style=static'], {
      NX_ISOLATE_PLUGINS: 'true',
    });
    expect(run.code, run.output.slice(-3000)).toBe(0);
    expect(run.output).toMatch(/grade-predict → dev-f1: (unchanged|uploaded)/);
    expect(run.output).not.toMatch(/ore-grade → dev-f1/);
    // plant-feed invokes grade-predict: Nx's graph marks it affected too.
    await expectAgree('dev-f1', run, ['grade-predict', 'plant-feed']);
  });
});

describe('exit codes', () => {
  it('a refused run exits 1 with the named error before any task (dirty tree of the second of repeated --projects; a bad biome)', async () => {
    const file = join(ws.root, 'apps/services/assay-ingest/src/main.ts');
    const before = await readFile(file, 'utf8');
    await writeFile(file, `${before}// local edit\n`);
    try {
      const dirty = await nx([
        'run-many',
        '-t',
        'deploy',
        '--projects',
        'grade-predict',
        '--projects',
        'assay-ingest',
        '--biome=dev-x1',
        '--output-style=static',
      ]);
      expect(dirty.code).toBe(1);
      expect(dirty.output).toMatch(
        /GIT_DIRTY_TREE: grade-predict, assay-ingest: .*\n\s+apps\/services\/assay-ingest\/src\/main\.ts/,
      );
      const infix = await nx(['deploy', 'assay-ingest', '--biome=dev-x1', '--output-style=static'], {
        NX_ISOLATE_PLUGINS: 'true',
      });
      expect(infix.code).toBe(1);
      expect(infix.output).toMatch(/GIT_DIRTY_TREE: assay-ingest/);
      expect(infix.output).not.toMatch(/Running target/);
    } finally {
      await writeFile(file, before);
    }
    const bad = await nx(['run', 'grade-predict:deploy', '--biome=Dev_Bob', '--output-style=static']);
    expect(bad.code).toBe(1);
    expect(bad.output).toMatch(/BIOME_NAME_INVALID/);
    expect(await store.list('biomes/dev-x1/')).toEqual([]);
  });

  it('a failed task exits 1 (not 130), renders nothing and records nothing', async () => {
    const file = join(ws.root, 'apps/services/grade-predict/src/main.ts');
    const before = await readFile(file, 'utf8');
    await writeFile(file, 'export const handler = async (: number => ;\n');
    ws.git('commit', '-qam', 'grade-predict does not compile');
    try {
      const run = await nx(['deploy', 'grade-predict', '--biome=dev-x2', '--output-style=static']);
      expect(run.code, run.output.slice(-3000)).toBe(1);
      expect(run.output).toMatch(/grade-predict:build/);
      expect(existsSync(join(ws.root, 'dist/terraform/dev-x2.tfvars.json'))).toBe(false);
      expect(await store.list('biomes/dev-x2/ledger/')).toEqual([]);
      if (hasScript || process.env.CI === 'true') {
        // The same in a real terminal with the TUI, where a developer types it.
        const tui = await nxInTerminal(['deploy', 'grade-predict', '--biome=dev-x2', '--output-style=tui']);
        expect(tui.code, tui.output.slice(-3000)).toBe(1);
        expect(tui.output).toMatch(/RUN_FAILED: 1 task\(s\) failed: grade-predict:build/);
      }
    } finally {
      await writeFile(file, before);
      ws.git('commit', '-qam', 'grade-predict compiles again');
    }
  });
});

describe('nx-biome deploy and the headline command after an interrupted run', () => {
  it('a first deploy of a new biome interrupted (SIGINT, exit 130) after some projects are recorded: the headline command deploys the rest and writes tfvars', async () => {
    // Held: ore-grade's history record (written before its ledger record), once another project is recorded.
    const run = await interruptAt(
      NX_BIN,
      ['run-many', '-t', 'deploy', '--biome=dev-int', '--output-style=static'],
      { method: 'PUT', path: /\/biomes\/dev-int\/history\/ore-grade\// },
      'SIGINT',
      { method: 'PUT', path: /\/biomes\/dev-int\/ledger\/(assay-ingest|grade-predict)\.json/ },
    );
    expect(run.code, run.output.slice(-3000)).toBe(130);
    const recorded = [...(await ledger('dev-int')).keys()];
    expect(recorded.length).toBeGreaterThan(0);
    expect(recorded).not.toContain('ore-grade');
    expect(await runRecord('dev-int')).toBeUndefined();
    expect(existsSync(join(ws.root, 'dist/terraform/dev-int.tfvars.json'))).toBe(false);
    // The headline command, no --base: the biome has no complete run, so every project is deployed.
    const again = await nx(['affected', '-t', 'deploy', '--biome=dev-int', '--output-style=static']);
    expect(again.code, again.output.slice(-3000)).toBe(0);
    expect(again.output).toMatch(/dev-int has no complete deploy run yet: deploying every project/);
    await expectAgree('dev-int', again, DEPLOYABLES);
    expect((await runRecord('dev-int'))?.gitSha).toBe(ws.git('rev-parse', 'HEAD').trim());
    // Run once more: nothing is affected, the summary is still printed and the tfvars still match.
    const noop = await nx(['affected', '-t', 'deploy', '--biome=dev-int', '--output-style=static']);
    expect(noop.code, noop.output.slice(-3000)).toBe(0);
    expect(noop.output).toMatch(/No tasks were run/);
    await expectAgree('dev-int', noop, DEPLOYABLES);
  });

  it('an existing biome: a commit touches two services, the deploy is killed (SIGKILL) after one is recorded; nx-biome deploy brings both up, tfvars name the new keys', async () => {
    const previous = (await runRecord('dev-int'))!.gitSha;
    for (const p of ['assay-ingest', 'grade-predict'])
      await writeFile(join(ws.root, `apps/services/${p}/src/extra2.ts`), `export const changed = '${p}';\n`);
    for (const p of ['assay-ingest', 'grade-predict']) {
      const main = join(ws.root, `apps/services/${p}/src/main.ts`);
      await writeFile(main, `${await readFile(main, 'utf8')}export { changed } from './extra2';\n`);
    }
    ws.git('add', '-A');
    ws.git('commit', '-qm', 'two services change');
    const head = ws.git('rev-parse', 'HEAD').trim();
    const run = await interruptAt(
      join(ws.root, BIOME_BIN),
      ['deploy', '--biome=dev-int', '--output-style=static'],
      { method: 'PUT', path: /\/biomes\/dev-int\/history\/grade-predict\// },
      'SIGKILL',
      { method: 'PUT', path: /\/biomes\/dev-int\/ledger\/assay-ingest\.json/ },
    );
    expect(run.output).toContain(`--base=${previous}`);
    const cut = await ledger('dev-int');
    expect(cut.get('assay-ingest')?.gitSha).toBe(head);
    expect(cut.get('grade-predict')?.gitSha).not.toBe(head);
    expect((await runRecord('dev-int'))?.gitSha).toBe(previous);
    // Again, isolated plugin (nx-biome deploy needs no second Nx start): the base is still the last complete run.
    const again = await nxBiome(['deploy', '--biome=dev-int', '--output-style=static'], { NX_ISOLATE_PLUGINS: 'true' });
    expect(again.code, again.output.slice(-3000)).toBe(0);
    expect(again.output).toContain(`nx affected -t deploy --base=${previous} --biome=dev-int`);
    const records = await ledger('dev-int');
    expect(records.get('grade-predict')?.gitSha).toBe(head);
    expect((await tfvarsKeys('dev-int')).get('grade-predict')).toBe(records.get('grade-predict')!.artifactKey);
    await expectAgree('dev-int', again, DEPLOYABLES);
    expect((await runRecord('dev-int'))?.gitSha).toBe(head);
  });

  it('nx-biome deploy refuses without --biome and passes Nx failures through with exit 1', async () => {
    const none = await nxBiome(['deploy']);
    expect(none.code).toBe(1);
    expect(none.output).toMatch(/OPTIONS_INVALID: No biome given/);
    const bad = await nxBiome(['deploy', '--biome=prod-bob']);
    expect(bad.code).toBe(1);
    expect(bad.output).toMatch(/BIOME_SANDPIT_NOT_ALLOWED/);
  });

  it('the headline command with an isolated plugin refuses with the command that needs no second Nx start', async () => {
    const run = await nx(['affected', '-t', 'deploy', '--biome=dev-iso', '--output-style=static'], {
      NX_ISOLATE_PLUGINS: 'true',
    });
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/Run: npx nx-biome deploy --biome=dev-iso/);
    expect(await store.list('biomes/dev-iso/')).toEqual([]);
  });
});
