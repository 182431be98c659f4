/**
 * The deploy benchmark. For each N it generates a synthetic workspace with N
 * services and measures, side by side in one run, on the embedded store and
 * on S3 (s3rver on 127.0.0.1), wall time and CPU time of the whole process
 * tree:
 *   (a) cold full deploy to a new biome (no Nx cache, no dist/, empty store),
 *   (b) re-deploy with nothing changed,
 *   (c) one service changed, `nx affected`,
 *   (d) the shared library changed in code one service uses (every service
 *       affected, one bundle changes),
 *   the naive loop (bench/naive-loop.sh: esbuild + zip + upload per service),
 *   with --peers, for (a)-(d): the plain-Nx peer (@nx/esbuild, run-commands
 *   zip + upload, one process per task) and the floor (bench/floor.ts),
 * and packaging throughput against raw zlib deflate on the same bytes.
 * Medians of --runs runs; bytes uploaded are counted in the store.
 *
 *   npm run bench                          N=10,50, 3 runs (a few minutes)
 *   npm run bench -- --n=10,50,200         the full run
 *   npm run bench -- --n=10,200,1000 --peers   with the peers; N ≥ --light-from (1000) runs
 *                                          only cold, unchanged and one-service of this project
 *   options: --runs=3 --stores=file,s3 --write (update bench/README.md)
 *            --build-executor=@nx/esbuild:esbuild (default @geo/nx-biome:esbuild)
 *            --no-batch (NX_BATCH_MODE=false: every task its own process)
 *            --note="..." (a line under the table, e.g. how loaded the machine was)
 *            --from=bench/.work/results-<time>.json (render a saved run; with --write, into the README)
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { changeService, changeSharedLib, generateWorkspace, REPO_ROOT, SyntheticWorkspace } from './generate';
import { measure, Measured, median } from './measure';
import { spawn } from 'node:child_process';
import { build as esbuildBuild } from 'esbuild';
import type { FloorRequest } from './floor';
import { DEFLATE_LEVEL, collectFolder, createArchive } from '../tools/nx-biome/src/adapters/archive';
import { openStore } from '../tools/nx-biome/src/adapters/store/open-store';
import { StoredObject } from '../tools/nx-biome/src/adapters/store/store';

export const SCENARIOS = ['cold', 'unchanged', 'one-service', 'shared-lib'] as const;
export type Scenario = (typeof SCENARIOS)[number];
export type StoreKind = 'file' | 's3';
/**
 * What deployed: this project (`biome`), the plain-Nx peer (@nx/esbuild +
 * a run-commands zip/upload, one process per task), the floor (one process:
 * one esbuild call, deflate and put of what changed), the naive shell loop
 * (every service, scenario `cold` only).
 */
export const TOOLS = ['biome', 'plain-nx', 'floor', 'naive'] as const;
export type Tool = (typeof TOOLS)[number];

export interface Sample {
  n: number;
  store: StoreKind;
  tool: Tool;
  scenario: Scenario;
  run: number;
  seconds: number;
  /** User + system CPU seconds of the whole process tree. */
  cpuSeconds: number;
  peakRssBytes: number;
  /** New artifact objects in the store after the run, and their bytes. */
  artifactsUploaded: number;
  bytesUploaded: number;
  /** Projects whose artifact was uploaded although their bundle did not change (scenario shared-lib). */
  needlessUploads: number;
}

export interface BenchOptions {
  ns: number[];
  runs: number;
  stores: StoreKind[];
  buildExecutor?: string;
  /** Run every task in its own process (Nx batch mode off), to compare. */
  noBatch?: boolean;
  /** Measure the plain-Nx peer and the floor beside this project, in the same run. */
  peers?: boolean;
  /**
   * From this N up, only "cold" (the starting point), "unchanged" and
   * "one-service" of this project are run: no peers, no naive loop, no
   * shared-lib (a plain-Nx or naive run of 1000 services takes many minutes).
   */
  lightFrom?: number;
  /** The plain-Nx peer only up to this N (its cold run costs about 2 CPU s per service); the floor runs at every N. */
  plainMax?: number;
  workDir: string;
  log(line: string): void;
}

export interface BenchResult {
  machine: Record<string, string>;
  options: {
    ns: number[];
    runs: number;
    stores: StoreKind[];
    buildExecutor?: string;
    noBatch?: boolean;
    peers?: boolean;
    lightFrom?: number;
    plainMax?: number;
  };
  samples: Sample[];
  packaging: { n: number; inputBytes: number; archiveMBps: number; deflateMBps: number; ratio: number };
  failures: string[];
}

const BUCKET = 'bench-artifacts';
export const LIGHT_FROM = 1000;

interface S3Server {
  endpoint: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** s3rver on 127.0.0.1 in a child process (see s3rver-process.ts). */
export function startS3rverProcess(buckets: string[]): Promise<S3Server> {
  const child = spawn(
    process.execPath,
    // s3rver's continuation tokens use DES (legacy in OpenSSL 3): without it, listings past 1,000 keys fail.
    ['--openssl-legacy-provider', '-r', '@swc-node/register', join(REPO_ROOT, 'bench/s3rver-process.ts'), ...buckets],
    { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let out = '';
    child.on('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
    child.stdout.on('data', (d) => {
      out += d;
      if (!out.includes('\n')) return;
      const { endpoint, env } = JSON.parse(out.split('\n')[0]);
      resolve({ endpoint, env, stop: () => (child.stdin.end(), exited) });
    });
  });
}

function nxEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    NX_TUI: 'false',
    NX_ISOLATE_PLUGINS: 'false',
    CI: 'true',
    FORCE_COLOR: '0',
    NX_USE_LOCAL: 'true',
    ...extra,
  };
  for (const k of ['BIOME_STORE', 'BIOME_STORE_DEV', 'AWS_ENDPOINT_URL_S3', 'AWS_PROFILE', 'NX_BATCH_MODE'])
    if (!(k in extra)) delete env[k];
  return env;
}

/** The machine, as the results table reports it. */
export function describeMachine(): Record<string, string> {
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
  return {
    date: new Date().toISOString(),
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
    memory: `${gib(totalmem())} (free at start ${gib(freemem())})`,
    node: process.version,
    'load average at start': loadavg()
      .map((l) => l.toFixed(2))
      .join(', '),
  };
}

async function listStore(url: string, root: string, env: Record<string, string>): Promise<StoredObject[]> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return await openStore(url, root).list('');
  } finally {
    process.env = saved;
  }
}

/** bench/floor.ts bundled once (plain Node at start, no TypeScript compiler), beside the repository's node_modules. */
async function bundleFloor(): Promise<string> {
  const out = join(REPO_ROOT, 'bench/.work/floor.cjs');
  await mkdir(dirname(out), { recursive: true });
  await esbuildBuild({
    entryPoints: [join(REPO_ROOT, 'bench/floor.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    packages: 'external',
    logLevel: 'warning',
  });
  return out;
}

/** One benchmark pass over every N, store and scenario. */
export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const machine = describeMachine();
  const samples: Sample[] = [];
  const failures: string[] = [];
  const lightFrom = options.lightFrom ?? LIGHT_FROM;
  const s3: S3Server | undefined = options.stores.includes('s3') ? await startS3rverProcess([BUCKET]) : undefined;
  const storeDirs = await mkdtemp(join(tmpdir(), 'bench-stores-'));
  const floorScript = options.peers ? await bundleFloor() : undefined;
  const packagingN = Math.max(...options.ns.filter((n) => n < lightFrom), Math.min(...options.ns));
  let packaging: BenchResult['packaging'] | undefined;
  const loads: number[] = [];
  const timer = setInterval(() => loads.push(loadavg()[0]), 10_000);
  try {
    for (const n of options.ns) {
      const light = n >= lightFrom;
      const ws = await generateWorkspace(join(options.workDir, `ws-${n}`), n, { buildExecutor: options.buildExecutor });
      const plain =
        options.peers && !light && n <= (options.plainMax ?? Infinity)
          ? await generateWorkspace(join(options.workDir, `ws-${n}-plain`), n, { flavour: 'plain-nx' })
          : undefined;
      options.log(`N=${n}: workspace ${ws.root}${plain ? `, plain-Nx peer ${plain.root}` : ''}`);
      for (let run = 1; run <= options.runs; run++) {
        for (const store of options.stores) {
          const target = (tool: string): Target => {
            const tag = `n${n}-r${run}-${store}${tool === 'biome' ? '' : `-${tool}`}`;
            return store === 's3'
              ? { url: `s3://${BUCKET}/${tag}`, env: s3!.env, prefix: tag }
              : { url: `file://${join(storeDirs, tag)}`, env: {}, dir: join(storeDirs, tag) };
          };
          const ctx: RunContext = { n, run, store, options, failures, samples, s3 };
          // A failure (e.g. the store refusing a listing) is reported with the results, not lost with them.
          try {
            await runScenarios(
              ctx,
              ws,
              target('biome'),
              light,
              plain && { ws: plain, target: target('plain-nx') },
              floorScript
                ? {
                    script: floorScript,
                    target: target('floor'),
                    state: join(storeDirs, `n${n}-r${run}-${store}-floor-state.json`),
                  }
                : undefined,
            );
            if (!light) await runNaive(ctx, ws, target('naive'));
          } catch (e) {
            failures.push(`N=${n} ${store} run ${run}: ${(e as Error).message}`);
            options.log(`  N=${n} ${store} run ${run} FAILED: ${(e as Error).message}`);
          }
        }
      }
      if (n === packagingN) packaging = await measurePackaging(ws, n, options.runs);
    }
  } finally {
    clearInterval(timer);
    await s3?.stop();
    await rm(storeDirs, { recursive: true, force: true });
  }
  if (loads.length)
    machine['load average during the run (1 min, sampled every 10 s)'] =
      `${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}, median ${median(loads).toFixed(1)}`;
  return {
    machine,
    options: {
      ns: options.ns,
      runs: options.runs,
      stores: options.stores,
      buildExecutor: options.buildExecutor,
      noBatch: options.noBatch,
      peers: options.peers,
      lightFrom,
      plainMax: options.plainMax,
    },
    samples,
    packaging: packaging!,
    failures,
  };
}

/** Where one tool's artifacts go in one run: a store URL (for listing) and what the tool needs to write there. */
interface Target {
  url: string;
  env: Record<string, string>;
  dir?: string;
  prefix?: string;
}

interface RunContext {
  n: number;
  run: number;
  store: StoreKind;
  options: BenchOptions;
  failures: string[];
  samples: Sample[];
  s3?: S3Server;
}

/** Runs one measured command and records what it uploaded (new artifact objects in its store). */
async function step(
  ctx: RunContext,
  tool: Tool,
  scenario: Scenario,
  target: Target,
  root: string,
  run: () => Promise<Measured>,
  changed?: string[],
): Promise<void> {
  const { n, store, failures, options } = ctx;
  const before = new Map((await listStore(target.url, root, target.env)).map((o) => [o.key, o.size]));
  const m = await run();
  const after = await listStore(target.url, root, target.env);
  const fresh = after.filter((o) => o.key.startsWith('artifacts/') && !before.has(o.key));
  const needless = changed ? fresh.filter((o) => !changed.includes(o.key.split('/')[1])).length : 0;
  if (m.code !== 0)
    failures.push(`N=${n} ${store} ${tool} ${scenario} run ${ctx.run}: exit ${m.code}\n${m.output.slice(-3000)}`);
  const sample: Sample = {
    n,
    store,
    tool,
    scenario,
    run: ctx.run,
    seconds: m.seconds,
    cpuSeconds: m.cpuSeconds,
    peakRssBytes: m.peakRssBytes,
    artifactsUploaded: fresh.length,
    bytesUploaded: fresh.reduce((a, o) => a + o.size, 0),
    needlessUploads: needless,
  };
  options.log(
    `  N=${n} ${store} run ${ctx.run} ${tool} ${scenario}: ${m.seconds.toFixed(2)} s wall, ${m.cpuSeconds.toFixed(2)} s CPU, ${(m.peakRssBytes / 2 ** 20).toFixed(0)} MiB, ${fresh.length} artifacts ${sample.bytesUploaded} B uploaded${m.code ? ` EXIT ${m.code}` : ''}`,
  );
  ctx.samples.push(sample);
}

async function runScenarios(
  ctx: RunContext,
  ws: SyntheticWorkspace,
  target: Target,
  light: boolean,
  plain: { ws: SyntheticWorkspace; target: Target } | undefined,
  floor: { script: string; target: Target; state: string } | undefined,
): Promise<void> {
  const { store, run, options } = ctx;
  const biome = `dev-${store}${run}`;
  const nxVars = options.noBatch
    ? { ...target.env, BIOME_STORE: target.url, NX_BATCH_MODE: 'false' }
    : { ...target.env, BIOME_STORE: target.url };
  const nxIn = (root: string, args: string[], env: Record<string, string>) => () =>
    measure(process.execPath, [join(root, 'node_modules/nx/dist/bin/nx.js'), ...args, '--output-style=static'], {
      cwd: root,
      env: nxEnv(env),
      sampleMs: 100,
    });
  const ours = (args: string[]) => nxIn(ws.root, [...args, `--biome=${biome}`], nxVars);
  // The plain-Nx peer: one process per task, its deploy a shell script that zips and uploads.
  const peer = (args: string[]) => {
    const p = plain!;
    const env = {
      ...p.target.env,
      NX_BATCH_MODE: 'false',
      BENCH_SHA: p.ws.git('rev-parse', 'HEAD').trim(),
      BENCH_STORE_KIND: store,
      ...(store === 's3'
        ? { BENCH_S3_BASE: `${ctx.s3!.endpoint}/${BUCKET}/${p.target.prefix}` }
        : { BENCH_STORE_DIR: p.target.dir! }),
    };
    return nxIn(p.ws.root, args, env)();
  };
  const floorRun = (services: string[]) => () => {
    const f = floor!;
    const request: FloorRequest = {
      root: ws.root,
      services,
      sha: ws.git('rev-parse', 'HEAD').trim(),
      state: f.state,
      store:
        store === 's3'
          ? { kind: 's3', bucket: BUCKET, prefix: f.target.prefix! }
          : { kind: 'file', dir: f.target.dir! },
    };
    return measure(process.execPath, [f.script, JSON.stringify(request)], {
      cwd: ws.root,
      env: { ...process.env, ...f.target.env },
      sampleMs: 100,
    });
  };
  const peers = async (scenario: Scenario, args: string[], floorServices: string[], changed?: string[]) => {
    if (plain) await step(ctx, 'plain-nx', scenario, plain.target, plain.ws.root, () => peer(args), changed);
    if (floor) await step(ctx, 'floor', scenario, floor.target, ws.root, floorRun(floorServices), changed);
  };
  // A new clone with no Nx cache and no build output, deploying to a new biome in an empty store.
  for (const root of [ws.root, ...(plain ? [plain.ws.root] : [])]) {
    await rm(join(root, '.nx'), { recursive: true, force: true });
    await rm(join(root, 'dist'), { recursive: true, force: true });
  }
  if (floor) await rm(floor.state, { force: true });
  const all = ws.services;
  await step(ctx, 'biome', 'cold', target, ws.root, ours(['run-many', '-t', 'deploy']));
  if (!light) await peers('cold', ['run-many', '-t', 'deploy'], all);
  await step(ctx, 'biome', 'unchanged', target, ws.root, ours(['run-many', '-t', 'deploy']));
  if (!light) await peers('unchanged', ['run-many', '-t', 'deploy'], []);
  const svc = ws.services[Math.min(ws.services.length - 1, 1 + run)];
  await changeService(ws, svc, `${store}-${run}`);
  if (plain) await changeService(plain.ws, svc, `${store}-${run}`);
  await step(ctx, 'biome', 'one-service', target, ws.root, ours(['affected', '-t', 'deploy', '--base=HEAD~1']), [svc]);
  if (!light) await peers('one-service', ['affected', '-t', 'deploy', '--base=HEAD~1'], [svc], [svc]);
  if (light) return;
  await changeSharedLib(ws, `${store}-${run}`);
  if (plain) await changeSharedLib(plain.ws, `${store}-${run}`);
  await step(ctx, 'biome', 'shared-lib', target, ws.root, ours(['affected', '-t', 'deploy', '--base=HEAD~1']), [
    'svc-000',
  ]);
  await peers('shared-lib', ['affected', '-t', 'deploy', '--base=HEAD~1'], all, ['svc-000']);
}

async function runNaive(ctx: RunContext, ws: SyntheticWorkspace, target: Target): Promise<void> {
  const sha = ws.git('rev-parse', 'HEAD').trim();
  const args =
    ctx.s3 && ctx.store === 's3'
      ? [ws.root, sha, 's3', ctx.s3.endpoint, BUCKET, target.prefix!]
      : [ws.root, sha, 'file', target.dir!];
  await step(ctx, 'naive', 'cold', target, ws.root, () =>
    measure('bash', [join(REPO_ROOT, 'bench/naive-loop.sh'), ...args], {
      cwd: ws.root,
      env: { ...process.env, ...target.env },
      sampleMs: 100,
    }),
  );
}

/**
 * Packaging throughput: the plugin's createArchive over every service's build
 * output, against raw deflate at the same level over the same bytes, one at a
 * time on one thread each.
 */
async function measurePackaging(ws: SyntheticWorkspace, n: number, runs: number): Promise<BenchResult['packaging']> {
  const outputs = ws.services.map((s) => join(ws.root, 'dist/apps/services', s));
  const inputs = await Promise.all(outputs.map((o) => collectFolder(o)));
  const bodies = await Promise.all(inputs.map(async (i) => Promise.all(i.entries.map((e) => i.read(e.path)))));
  const inputBytes = bodies.flat().reduce((a, b) => a + b.length, 0);
  const archive: number[] = [];
  const deflate: number[] = [];
  for (let r = 0; r < Math.max(3, runs); r++) {
    let t = process.hrtime.bigint();
    for (let i = 0; i < inputs.length; i++) await createArchive(inputs[i], 'zip', outputs[i]);
    archive.push(Number(process.hrtime.bigint() - t) / 1e9);
    t = process.hrtime.bigint();
    for (const files of bodies) for (const b of files) deflateRawSync(b, { level: DEFLATE_LEVEL });
    deflate.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  const mb = inputBytes / 1e6;
  const archiveMBps = mb / median(archive);
  const deflateMBps = mb / median(deflate);
  return { n, inputBytes, archiveMBps, deflateMBps, ratio: archiveMBps / deflateMBps };
}

// ---------------------------------------------------------------- report

const fmtS = (s: number) => `${s.toFixed(2)} s`;
const fmtMiB = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const fmtBytes = (b: number) =>
  b === 0 ? '0 B' : b < 2 ** 20 ? `${(b / 1024).toFixed(1)} KiB` : `${(b / 2 ** 20).toFixed(1)} MiB`;

/** Median of one cell. */
export function cell(samples: Sample[], n: number, store: StoreKind, scenario: Scenario, tool: Tool = 'biome') {
  const s = samples.filter(
    (x) => x.n === n && x.store === store && x.scenario === scenario && (x.tool ?? 'biome') === tool,
  );
  if (s.length === 0) return undefined;
  return {
    seconds: median(s.map((x) => x.seconds)),
    cpu: median(s.map((x) => x.cpuSeconds ?? NaN)),
    peak: Math.max(...s.map((x) => x.peakRssBytes)),
    bytes: Math.max(...s.map((x) => x.bytesUploaded)),
    artifacts: Math.max(...s.map((x) => x.artifactsUploaded)),
    needless: Math.max(...s.map((x) => x.needlessUploads)),
    runs: s.length,
  };
}

const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

/** The targets of issue 12, each a ratio within one run, checked against a result. */
export function checkTargets(r: BenchResult): { target: string; measured: string; met: boolean | undefined }[] {
  const lightFrom = r.options.lightFrom ?? LIGHT_FROM;
  const full = r.options.ns.filter((n) => n < lightFrom);
  const mid = Math.max(...full);
  const small = Math.min(...full);
  const huge = r.options.ns.filter((n) => n >= lightFrom);
  const out: { target: string; measured: string; met: boolean | undefined }[] = [];
  for (const store of r.options.stores) {
    const c = (n: number, scenario: Scenario, tool: Tool = 'biome') => cell(r.samples, n, store, scenario, tool);
    const naive = c(mid, 'cold', 'naive');
    const one = c(mid, 'one-service');
    const oneSmall = c(small, 'one-service');
    // The plain-Nx peer may stop below `mid` (--plain-max): compare with the largest N it ran at, and say so.
    const plainN = Math.max(...full.filter((n) => n <= mid && c(n, 'one-service', 'plain-nx')), -Infinity);
    const vsPlain = plainN === mid ? 'plain Nx' : `plain Nx at N=${plainN} (not run at N=${mid})`;
    const onePlain = c(plainN, 'one-service', 'plain-nx');
    const warm = c(mid, 'unchanged');
    const warmPlain = c(plainN, 'unchanged', 'plain-nx');
    const cold = c(mid, 'cold');
    const shared = c(mid, 'shared-lib');
    if (one && onePlain)
      out.push({
        target: `${store}: one service changed, N=${mid}: CPU ≤ 0.5× plain Nx`,
        measured: `${ratio(one.cpu, onePlain.cpu)} (${fmtS(one.cpu)} vs ${fmtS(onePlain.cpu)} CPU of ${vsPlain})`,
        met: plainN === mid ? one.cpu <= 0.5 * onePlain.cpu : undefined,
      });
    if (one && oneSmall && mid !== small)
      out.push({
        target: `${store}: one service changed, N=${mid}: wall ≤ 1.1× N=${small}`,
        measured: `${ratio(one.seconds, oneSmall.seconds)} wall (${fmtS(one.seconds)} vs ${fmtS(oneSmall.seconds)}); CPU ${ratio(one.cpu, oneSmall.cpu)}`,
        met: one.seconds <= 1.1 * oneSmall.seconds,
      });
    for (const h of huge) {
      const big = c(h, 'one-service');
      if (big && oneSmall)
        out.push({
          target: `${store}: one service changed, N=${h}: wall ≤ 1.3× N=${small}`,
          measured: `${ratio(big.seconds, oneSmall.seconds)} wall (${fmtS(big.seconds)} vs ${fmtS(oneSmall.seconds)}); CPU ${ratio(big.cpu, oneSmall.cpu)}`,
          met: big.seconds <= 1.3 * oneSmall.seconds,
        });
    }
    if (warm && naive)
      out.push({
        target: `${store}: nothing changed, N=${mid}: wall ≤ 0.1× naive loop, 0 bytes uploaded`,
        measured: `${ratio(warm.seconds, naive.seconds)} (${fmtS(warm.seconds)} vs ${fmtS(naive.seconds)}), ${fmtBytes(warm.bytes)} uploaded`,
        met: warm.seconds <= 0.1 * naive.seconds && warm.bytes === 0,
      });
    if (warm && warmPlain)
      out.push({
        target: `${store}: nothing changed, N=${mid}: CPU ≤ 0.5× plain Nx`,
        measured: `${ratio(warm.cpu, warmPlain.cpu)} (${fmtS(warm.cpu)} vs ${fmtS(warmPlain.cpu)} CPU of ${vsPlain})`,
        met: plainN === mid ? warm.cpu <= 0.5 * warmPlain.cpu : undefined,
      });
    for (const h of huge) {
      const big = c(h, 'unchanged');
      if (big && warm)
        out.push({
          target: `${store}: nothing changed, N=${h}: wall ≤ 2× N=${mid}`,
          measured: `${ratio(big.seconds, warm.seconds)} wall (${fmtS(big.seconds)} vs ${fmtS(warm.seconds)}); CPU ${ratio(big.cpu, warm.cpu)}`,
          met: big.seconds <= 2 * warm.seconds,
        });
    }
    if (cold && naive)
      out.push({
        target: `${store}: cold, N=${mid}: wall ≤ 0.5× naive loop`,
        measured: `${ratio(cold.seconds, naive.seconds)} (${fmtS(cold.seconds)} vs ${fmtS(naive.seconds)}); CPU ${ratio(cold.cpu, naive.cpu)}`,
        met: cold.seconds <= 0.5 * naive.seconds,
      });
    if (shared)
      out.push({
        target: `${store}: shared lib changed, N=${mid}: only the changed bundle uploaded`,
        measured: `${shared.needless} needless uploads; ${shared.artifacts} artifact(s), ${fmtBytes(shared.bytes)} uploaded`,
        met: shared.needless === 0,
      });
    for (const n of [mid, ...huge]) {
      const peaks = r.samples
        .filter((s) => s.n === n && s.store === store && (s.tool ?? 'biome') === 'biome')
        .map((s) => s.peakRssBytes);
      if (peaks.length)
        out.push({
          target: `${store}: peak memory of a deploy, N=${n}${n === mid ? ' < 1 GiB' : ' (reported)'}`,
          measured: fmtMiB(Math.max(...peaks)),
          met: n === mid ? Math.max(...peaks) < 2 ** 30 : undefined,
        });
    }
  }
  if (r.packaging)
    out.push({
      target: 'packaging ≥ 0.7× raw deflate throughput',
      measured: `${r.packaging.ratio.toFixed(2)}× (${r.packaging.archiveMBps.toFixed(1)} vs ${r.packaging.deflateMBps.toFixed(1)} MB/s on ${(r.packaging.inputBytes / 1e6).toFixed(1)} MB)`,
      met: r.packaging.ratio >= 0.7,
    });
  return out;
}

/** The results as markdown: machine, targets, and the full table. */
export function renderResults(r: BenchResult, note = ''): string {
  const lines: string[] = [];
  lines.push(
    `Machine: ${Object.entries(r.machine)
      .map(([k, v]) => `${k} ${v}`)
      .join('; ')}.`,
  );
  lines.push(
    `Runs: N = ${r.options.ns.join(', ')}; ${r.options.runs} runs each (medians); stores: ${r.options.stores.join(', ')}; services built with ${r.options.buildExecutor ?? 'the executor of apps/services/*'}${r.options.noBatch ? '; Nx batch mode off (NX_BATCH_MODE=false: every task its own process)' : ''}${r.options.peers ? `; with the floor${r.options.plainMax === undefined ? ' and the plain-Nx peer' : ` and, up to N=${r.options.plainMax}, the plain-Nx peer`}` : ''}.`,
  );
  if (note) lines.push('', note);
  lines.push('', '| target | measured | met |', '| --- | --- | --- |');
  for (const t of checkTargets(r))
    lines.push(`| ${t.target} | ${t.measured} | ${t.met === undefined ? '—' : t.met ? 'yes' : '**no**'} |`);
  lines.push(
    '',
    'Wall and CPU in seconds (CPU: user + system of the whole process tree). "× naive": wall time against the naive loop of the same N and store. Artifacts: new objects in the store (this project / plain Nx / floor).',
    '',
    '| N | store | scenario | wall | CPU | × naive | plain Nx wall | plain Nx CPU | floor wall | floor CPU | peak memory | artifacts | bytes uploaded |',
    '| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  const num = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '—' : v.toFixed(2));
  for (const n of r.options.ns) {
    for (const store of r.options.stores) {
      const naive = cell(r.samples, n, store, 'cold', 'naive');
      for (const scenario of SCENARIOS) {
        const c = cell(r.samples, n, store, scenario);
        if (!c) continue;
        const p = cell(r.samples, n, store, scenario, 'plain-nx');
        const f = cell(r.samples, n, store, scenario, 'floor');
        const artifacts = [c.artifacts, p?.artifacts ?? '—', f?.artifacts ?? '—'].join(' / ');
        lines.push(
          `| ${n} | ${store} | ${scenario} | ${num(c.seconds)} | ${num(c.cpu)} | ${naive ? num(c.seconds / naive.seconds) : '—'} | ${num(p?.seconds)} | ${num(p?.cpu)} | ${num(f?.seconds)} | ${num(f?.cpu)} | ${fmtMiB(c.peak)} | ${artifacts} | ${fmtBytes(c.bytes)} |`,
        );
      }
      if (naive)
        lines.push(
          `| ${n} | ${store} | naive loop | ${num(naive.seconds)} | ${num(naive.cpu)} | 1.00 | | | | | ${fmtMiB(naive.peak)} | ${naive.artifacts} | ${fmtBytes(naive.bytes)} |`,
        );
    }
  }
  if (r.failures.length)
    lines.push('', `Failures (${r.failures.length}):`, '', ...r.failures.map((f) => `    ${f.split('\n')[0]}`));
  return lines.join('\n');
}

function parseArgs(argv: string[]) {
  const get = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return {
    ns: (get('n') ?? '10,50').split(',').map(Number),
    runs: Number(get('runs') ?? 3),
    stores: (get('stores') ?? 'file,s3').split(',') as StoreKind[],
    buildExecutor: get('build-executor') ?? DEFAULT_BUILD_EXECUTOR,
    noBatch: argv.includes('--no-batch'),
    peers: argv.includes('--peers'),
    lightFrom: Number(get('light-from') ?? LIGHT_FROM),
    plainMax: get('plain-max') === undefined ? undefined : Number(get('plain-max')),
    write: argv.includes('--write'),
    note: get('note') ?? '',
    from: get('from'),
  };
}

/**
 * The services' build executor in the synthetic workspace: the plugin's
 * batch-capable wrapper of @nx/esbuild (same options, same bytes). Pass
 * --build-executor=@nx/esbuild:esbuild to measure the plain Nx executor.
 */
const DEFAULT_BUILD_EXECUTOR = '@geo/nx-biome:esbuild';

const START = '<!-- bench:results:start -->';
const END = '<!-- bench:results:end -->';

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const workDir = join(REPO_ROOT, 'bench/.work');
  // --from=<results.json> renders a saved run again instead of running.
  const result: BenchResult = args.from
    ? JSON.parse(await readFile(args.from, 'utf8'))
    : await runBench({ ...args, workDir, log: (l) => console.log(l) });
  if (!args.from) await writeFile(join(workDir, `results-${Date.now()}.json`), JSON.stringify(result, null, 2));
  const md = renderResults(result, args.note);
  console.log(`\n${md}\n`);
  if (args.write) {
    const readme = join(REPO_ROOT, 'bench/README.md');
    const text = await readFile(readme, 'utf8');
    const i = text.indexOf(START);
    const j = text.indexOf(END);
    if (i < 0 || j < 0) throw new Error(`bench/README.md has no ${START} … ${END} section`);
    await writeFile(readme, `${text.slice(0, i + START.length)}\n${md}\n${text.slice(j)}`);
    console.log('bench/README.md updated');
  }
  if (result.failures.length) process.exitCode = 1;
}

if (require.main === module) void main();
