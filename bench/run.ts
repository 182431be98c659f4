/**
 * The deploy benchmark. For each N it generates a synthetic workspace with N
 * services and measures, side by side in one run, on the embedded store and
 * on S3 (s3rver on 127.0.0.1):
 *   (a) cold full deploy to a new biome (no Nx cache, no dist/, empty store),
 *   (b) re-deploy with nothing changed,
 *   (c) one service changed, `nx affected`,
 *   (d) the shared library changed in code one service uses (every service
 *       affected, one bundle changes),
 *   the naive loop (bench/naive-loop.sh: esbuild + zip + upload per service),
 * and packaging throughput against raw zlib deflate on the same bytes.
 * Medians of --runs runs; bytes uploaded are counted in the store.
 *
 *   npm run bench                          N=10,50, 3 runs (a few minutes)
 *   npm run bench -- --n=10,50,200         the full run
 *   options: --runs=3 --stores=file,s3 --write (update bench/README.md)
 *            --build-executor=@nx/esbuild:esbuild (default @geo/nx-biome:esbuild)
 *            --no-batch (NX_BATCH_MODE=false: every task its own process)
 *            --note="..." (a line under the table, e.g. how loaded the machine was)
 *            --from=bench/.work/results-<time>.json (render a saved run; with --write, into the README)
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { changeService, changeSharedLib, generateWorkspace, REPO_ROOT, SyntheticWorkspace } from './generate';
import { measure, Measured, median } from './measure';
import { spawn } from 'node:child_process';
import { DEFLATE_LEVEL, collectFolder, createArchive } from '../tools/nx-biome/src/adapters/archive';
import { openStore } from '../tools/nx-biome/src/adapters/store/open-store';
import { StoredObject } from '../tools/nx-biome/src/adapters/store/store';

export const SCENARIOS = ['cold', 'unchanged', 'one-service', 'shared-lib', 'naive'] as const;
export type Scenario = (typeof SCENARIOS)[number];
export type StoreKind = 'file' | 's3';

export interface Sample {
  n: number;
  store: StoreKind;
  scenario: Scenario;
  run: number;
  seconds: number;
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
  workDir: string;
  log(line: string): void;
}

export interface BenchResult {
  machine: Record<string, string>;
  options: { ns: number[]; runs: number; stores: StoreKind[]; buildExecutor?: string; noBatch?: boolean };
  samples: Sample[];
  packaging: { n: number; inputBytes: number; archiveMBps: number; deflateMBps: number; ratio: number };
  failures: string[];
}

const BUCKET = 'bench-artifacts';

interface S3Server {
  endpoint: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** s3rver on 127.0.0.1 in a child process (see s3rver-process.ts). */
function startS3rverProcess(buckets: string[]): Promise<S3Server> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', join(REPO_ROOT, 'bench/s3rver-process.ts'), ...buckets], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
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
  const env: NodeJS.ProcessEnv = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', NX_ISOLATE_PLUGINS: 'false', CI: 'true', FORCE_COLOR: '0', NX_USE_LOCAL: 'true', ...extra };
  for (const k of ['BIOME_STORE', 'BIOME_STORE_DEV', 'AWS_ENDPOINT_URL_S3', 'AWS_PROFILE', 'NX_BATCH_MODE']) if (!(k in extra)) delete env[k];
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
    'load average at start': loadavg().map((l) => l.toFixed(2)).join(', '),
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

/** One benchmark pass over every N, store and scenario. */
export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const machine = describeMachine();
  const samples: Sample[] = [];
  const failures: string[] = [];
  const s3: S3Server | undefined = options.stores.includes('s3') ? await startS3rverProcess([BUCKET]) : undefined;
  const storeDirs = await mkdtemp(join(tmpdir(), 'bench-stores-'));
  let packaging: BenchResult['packaging'] | undefined;
  try {
    for (const n of options.ns) {
      const ws = await generateWorkspace(join(options.workDir, `ws-${n}`), n, { buildExecutor: options.buildExecutor });
      options.log(`N=${n}: workspace ${ws.root}`);
      for (let run = 1; run <= options.runs; run++) {
        for (const store of options.stores) {
          const tag = `n${n}-r${run}-${store}`;
          const url = store === 's3' ? `s3://${BUCKET}/${tag}` : `file://${join(storeDirs, tag)}`;
          const env = store === 's3' ? { ...s3!.env, BIOME_STORE: url } : { BIOME_STORE: url };
          samples.push(...(await runScenarios(ws, n, run, store, url, env, options, failures)));
          const naiveUrl = store === 's3' ? `s3://${BUCKET}/${tag}-naive` : `file://${join(storeDirs, `${tag}-naive`)}`;
          samples.push(await runNaive(ws, n, run, store, naiveUrl, store === 's3' ? s3! : undefined, options, failures));
        }
      }
      if (n === Math.max(...options.ns)) packaging = await measurePackaging(ws, n, options.runs);
    }
  } finally {
    await s3?.stop();
    await rm(storeDirs, { recursive: true, force: true });
  }
  return { machine, options: { ns: options.ns, runs: options.runs, stores: options.stores, buildExecutor: options.buildExecutor, noBatch: options.noBatch }, samples, packaging: packaging!, failures };
}

async function runScenarios(ws: SyntheticWorkspace, n: number, run: number, store: StoreKind, url: string, env: Record<string, string>, options: BenchOptions, failures: string[]): Promise<Sample[]> {
  const biome = `dev-${store}${run}`;
  const nxVars = options.noBatch ? { ...env, NX_BATCH_MODE: 'false' } : env;
  const nx = (args: string[]) => measure(process.execPath, [join(ws.root, 'node_modules/nx/dist/bin/nx.js'), ...args, `--biome=${biome}`, '--output-style=static'], { cwd: ws.root, env: nxEnv(nxVars), sampleMs: 100 });
  const out: Sample[] = [];
  const step = async (scenario: Scenario, args: string[], changed?: string[]) => {
    const before = new Map((await listStore(url, ws.root, env)).map((o) => [o.key, o.size]));
    const m: Measured = await nx(args);
    const after = await listStore(url, ws.root, env);
    const fresh = after.filter((o) => o.key.startsWith('artifacts/') && !before.has(o.key));
    const needless = changed ? fresh.filter((o) => !changed.includes(o.key.split('/')[1])).length : 0;
    if (m.code !== 0) failures.push(`N=${n} ${store} ${scenario} run ${run}: exit ${m.code}\n${m.output.slice(-3000)}`);
    const sample: Sample = { n, store, scenario, run, seconds: m.seconds, peakRssBytes: m.peakRssBytes, artifactsUploaded: fresh.length, bytesUploaded: fresh.reduce((a, o) => a + o.size, 0), needlessUploads: needless };
    options.log(`  N=${n} ${store} run ${run} ${scenario}: ${m.seconds.toFixed(2)} s, ${(m.peakRssBytes / 2 ** 20).toFixed(0)} MiB, ${fresh.length} artifacts ${sample.bytesUploaded} B uploaded${m.code ? ` EXIT ${m.code}` : ''}`);
    out.push(sample);
  };
  // A new clone with no Nx cache and no build output, deploying to a new biome in an empty store.
  await rm(join(ws.root, '.nx'), { recursive: true, force: true });
  await rm(join(ws.root, 'dist'), { recursive: true, force: true });
  await step('cold', ['run-many', '-t', 'deploy']);
  await step('unchanged', ['run-many', '-t', 'deploy']);
  const svc = ws.services[Math.min(ws.services.length - 1, 1 + run)];
  await changeService(ws, svc, `${store}-${run}`);
  await step('one-service', ['affected', '-t', 'deploy', '--base=HEAD~1'], [svc]);
  await changeSharedLib(ws, `${store}-${run}`);
  await step('shared-lib', ['affected', '-t', 'deploy', '--base=HEAD~1'], ['svc-000']);
  return out;
}

async function runNaive(ws: SyntheticWorkspace, n: number, run: number, store: StoreKind, url: string, s3: S3Server | undefined, options: BenchOptions, failures: string[]): Promise<Sample> {
  const sha = ws.git('rev-parse', 'HEAD').trim();
  const args = s3 ? [ws.root, sha, 's3', s3.endpoint, BUCKET, url.slice(`s3://${BUCKET}/`.length)] : [ws.root, sha, 'file', url.slice('file://'.length)];
  const env = s3 ? { ...process.env, ...s3.env } : process.env;
  const m = await measure('bash', [join(REPO_ROOT, 'bench/naive-loop.sh'), ...args], { cwd: ws.root, env, sampleMs: 100 });
  if (m.code !== 0) failures.push(`N=${n} ${store} naive run ${run}: exit ${m.code}\n${m.output.slice(-3000)}`);
  const after = await listStore(url, ws.root, s3 ? s3.env : {});
  const fresh = after.filter((o) => o.key.startsWith('artifacts/'));
  options.log(`  N=${n} ${store} run ${run} naive: ${m.seconds.toFixed(2)} s, ${fresh.length} artifacts`);
  return { n, store, scenario: 'naive', run, seconds: m.seconds, peakRssBytes: m.peakRssBytes, artifactsUploaded: fresh.length, bytesUploaded: fresh.reduce((a, o) => a + o.size, 0), needlessUploads: 0 };
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
const fmtBytes = (b: number) => (b === 0 ? '0 B' : b < 2 ** 20 ? `${(b / 1024).toFixed(1)} KiB` : `${(b / 2 ** 20).toFixed(1)} MiB`);

/** Median of one cell. */
export function cell(samples: Sample[], n: number, store: StoreKind, scenario: Scenario) {
  const s = samples.filter((x) => x.n === n && x.store === store && x.scenario === scenario);
  if (s.length === 0) return undefined;
  return {
    seconds: median(s.map((x) => x.seconds)),
    peak: Math.max(...s.map((x) => x.peakRssBytes)),
    bytes: Math.max(...s.map((x) => x.bytesUploaded)),
    artifacts: Math.max(...s.map((x) => x.artifactsUploaded)),
    needless: Math.max(...s.map((x) => x.needlessUploads)),
    runs: s.length,
  };
}

/** The targets of the issue, checked against a result. */
export function checkTargets(r: BenchResult): { target: string; measured: string; met: boolean }[] {
  const big = Math.max(...r.options.ns);
  const small = Math.min(...r.options.ns);
  const out: { target: string; measured: string; met: boolean }[] = [];
  for (const store of r.options.stores) {
    const naive = cell(r.samples, big, store, 'naive')?.seconds ?? NaN;
    const cold = cell(r.samples, big, store, 'cold');
    const warm = cell(r.samples, big, store, 'unchanged');
    const one = cell(r.samples, big, store, 'one-service');
    const oneSmall = cell(r.samples, small, store, 'one-service');
    const shared = cell(r.samples, big, store, 'shared-lib');
    if (cold) out.push({ target: `(a) ${store}: cold N=${big} ≤ 0.5× naive loop`, measured: `${(cold.seconds / naive).toFixed(2)}× (${fmtS(cold.seconds)} vs ${fmtS(naive)})`, met: cold.seconds <= 0.5 * naive });
    if (warm) out.push({ target: `(b) ${store}: nothing changed N=${big} ≤ 0.1× naive, 0 bytes uploaded`, measured: `${(warm.seconds / naive).toFixed(2)}× (${fmtS(warm.seconds)}), ${fmtBytes(warm.bytes)} uploaded`, met: warm.seconds <= 0.1 * naive && warm.bytes === 0 });
    if (one && oneSmall && big !== small) out.push({ target: `(c) ${store}: one of ${big} changed ≤ 1.3× one of ${small} changed`, measured: `${(one.seconds / oneSmall.seconds).toFixed(2)}× (${fmtS(one.seconds)} vs ${fmtS(oneSmall.seconds)})`, met: one.seconds <= 1.3 * oneSmall.seconds });
    if (shared) out.push({ target: `(d) ${store}: shared lib changed N=${big}: nothing uploaded for unchanged bundles`, measured: `${shared.needless} needless uploads; ${shared.artifacts} artifact(s), ${fmtBytes(shared.bytes)} uploaded`, met: shared.needless === 0 });
    const peak = Math.max(...r.samples.filter((s) => s.n === big && s.store === store && s.scenario !== 'naive').map((s) => s.peakRssBytes));
    out.push({ target: `memory ${store}: peak of a deploy at N=${big} < 1 GiB`, measured: fmtMiB(peak), met: peak < 2 ** 30 });
  }
  if (r.packaging) out.push({ target: 'packaging ≥ 0.7× raw deflate throughput', measured: `${r.packaging.ratio.toFixed(2)}× (${r.packaging.archiveMBps.toFixed(1)} vs ${r.packaging.deflateMBps.toFixed(1)} MB/s on ${(r.packaging.inputBytes / 1e6).toFixed(1)} MB)`, met: r.packaging.ratio >= 0.7 });
  return out;
}

/** The results as markdown: machine, targets, and the full table. */
export function renderResults(r: BenchResult, note = ''): string {
  const lines: string[] = [];
  lines.push(`Machine: ${Object.entries(r.machine).map(([k, v]) => `${k} ${v}`).join('; ')}.`);
  lines.push(`Runs: N = ${r.options.ns.join(', ')}; ${r.options.runs} runs each (medians); stores: ${r.options.stores.join(', ')}; services built with ${r.options.buildExecutor ?? 'the executor of apps/services/*'}${r.options.noBatch ? '; Nx batch mode off (NX_BATCH_MODE=false: every task its own process)' : ''}.`);
  if (note) lines.push('', note);
  lines.push('', '| target | measured | met |', '| --- | --- | --- |');
  for (const t of checkTargets(r)) lines.push(`| ${t.target} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`);
  lines.push('', '| N | store | scenario | median | × naive | peak memory | artifacts uploaded | bytes uploaded |', '| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const n of r.options.ns) {
    for (const store of r.options.stores) {
      const naive = cell(r.samples, n, store, 'naive')?.seconds ?? NaN;
      for (const scenario of SCENARIOS) {
        const c = cell(r.samples, n, store, scenario);
        if (!c) continue;
        lines.push(`| ${n} | ${store} | ${scenario} | ${fmtS(c.seconds)} | ${(c.seconds / naive).toFixed(2)} | ${fmtMiB(c.peak)} | ${c.artifacts} | ${fmtBytes(c.bytes)} |`);
      }
    }
  }
  if (r.failures.length) lines.push('', `Failures (${r.failures.length}):`, '', ...r.failures.map((f) => `    ${f.split('\n')[0]}`));
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
  const result: BenchResult = args.from ? JSON.parse(await readFile(args.from, 'utf8')) : await runBench({ ...args, workDir, log: (l) => console.log(l) });
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
