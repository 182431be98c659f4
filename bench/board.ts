/*
 * Biome board benchmark: how long `infra:biome-board` takes on a store with
 * many biomes and projects (default 100 × 500), on the embedded local store,
 * with a real git clone for the commit subjects and the diff pages.
 *
 *   node -r @swc-node/register bench/board.ts [--biomes=100] [--projects=500] [--history=2] [--runs=3] [--changed=5] [--write]
 *
 * The store is generated once per size under bench/.work/ (gitignored) and
 * reused. Each run builds cold (no cache), warm (nothing changed) and warm
 * after a deploy to --changed=5 biomes. --write puts the figures into bench/BOARD.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { plantBiomes } from '../test/board/fixture';
import { renderBoard } from '../tools/nx-biome/src/core/board-html';
import { historyKey, ledgerKey, LedgerRecord } from '../tools/nx-biome/src/core/ledger';
import { createBoardCache } from '../tools/nx-biome/src/adapters/board-cache';
import { createCommitLog } from '../tools/nx-biome/src/adapters/git-log';
import { writeSite } from '../tools/nx-biome/src/adapters/site';
import { loadWorkspaceConfig } from '../tools/nx-biome/src/adapters/workspace';
import { collectBoard } from '../tools/nx-biome/src/operations/board';
import { realDeps } from '../tools/nx-biome/src/operations/context';

const ROOT = resolve(__dirname, '..');
const args = Object.fromEntries(
  process.argv
    .slice(2)
    .map((a) => a.replace(/^--/, '').split('='))
    .map(([k, v]) => [k, v ?? 'true']),
);
const BIOMES = Number(args.biomes ?? 100);
const PROJECTS = Number(args.projects ?? 500);
const HISTORY = Number(args.history ?? 2);
const RUNS = Number(args.runs ?? 3);
const COMMITS = 40;
/** Biomes with a deploy between two warm builds. */
const CHANGED = Number(args.changed ?? 5);
const NOW = new Date('2026-11-30T12:00:00.000Z');

/** CPU seconds of this process and of its waited-for children (git), from /proc. */
function cpuSeconds(): number {
  const own = process.cpuUsage();
  let children = 0;
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    // cutime and cstime are fields 16 and 17 of stat(5), in clock ticks (100 per second on Linux).
    children = (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    /* not Linux: own CPU only */
  }
  return (own.user + own.system) / 1e6 + children;
}

/** A git clone with COMMITS commits, each touching a few projects' folders; returns the SHAs. */
function makeClone(dir: string): string[] {
  const git = (...a: string[]) => execFileSync('git', a, { cwd: dir, encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'bench@example.com');
  git('config', 'user.name', 'Bench');
  const shas: string[] = [];
  for (let c = 0; c < COMMITS; c++) {
    const touched = [c % PROJECTS, (c * 7) % PROJECTS, (c * 13) % PROJECTS];
    for (const p of touched) {
      execFileSync('mkdir', ['-p', join(dir, 'apps/services', name(p))]);
      execFileSync('sh', ['-c', `echo "// change ${c}" >> "${join(dir, 'apps/services', name(p), 'main.ts')}"`]);
    }
    git('add', '-A');
    git('commit', '-qm', `svc: change ${c} to ${touched.map(name).join(', ')}`);
    shas.push(git('rev-parse', 'HEAD'));
  }
  return shas;
}

/**
 * Which commit a project runs, roughly as teams work: dev runs one of the
 * first 30 commits, staging and prod older ones, and a sandpit runs dev's
 * commit except for about one project in ten, where it runs a newer one.
 */
function commitIndex(biome: string, b: number, p: number, h: number): number {
  const dev = (p * 3 + h) % 30;
  if (biome === 'dev') return dev;
  if (biome === 'staging' || biome === 'prod') return (p * 3 + h) % (biome === 'prod' ? 15 : 20);
  return (p + b) % 10 === 0 ? 30 + ((b + h) % 10) : dev;
}

const name = (p: number) => `svc-${String(p).padStart(3, '0')}`;

async function generate(dir: string): Promise<void> {
  const marker = join(dir, '.generated');
  if (existsSync(marker)) return;
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await copyFile(join(ROOT, 'nx-biome.json'), join(dir, 'nx-biome.json'));
  const shas = makeClone(dir);
  const config = await loadWorkspaceConfig(dir);
  const deps = realDeps(dir, config, {});
  const names = [
    'dev',
    'staging',
    'prod',
    ...Array.from({ length: Math.max(0, BIOMES - 3) }, (_, i) => `dev-s${String(i).padStart(3, '0')}`),
  ].slice(0, BIOMES);
  const started = Date.now();
  await plantBiomes({
    config,
    storeFor: (env) => deps.storeFor(env),
    concurrency: 32,
    direct: true,
    biomes: names.map((biome, b) => ({
      name: biome,
      owner: `owner-${b % 17}`,
      deployments: Object.fromEntries(
        Array.from({ length: PROJECTS }, (_, p) => [
          name(p),
          Array.from({ length: HISTORY }, (_, h) => ({
            sha: shas[commitIndex(biome, b, p, h)],
            by: `dev-${(b + h) % 23}`,
            at: new Date(NOW.getTime() - ((p + b + h * 97) % 90) * 86_400_000 - (HISTORY - h) * 3_600_000),
          })),
        ]),
      ),
    })),
  });
  await writeFile(
    marker,
    `${names.length} biomes × ${PROJECTS} projects × ${HISTORY} records, generated in ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
  );
}

async function main() {
  const dir = join(ROOT, `bench/.work/board-${BIOMES}x${PROJECTS}x${HISTORY}`);
  console.log(`generating (once) ${dir} ...`);
  await generate(dir);
  console.log((await readFile(join(dir, '.generated'), 'utf8')).trim());
  const config = await loadWorkspaceConfig(dir);
  const projectRoots = Object.fromEntries(
    Array.from({ length: PROJECTS }, (_, p) => [name(p), `apps/services/${name(p)}`]),
  );
  type Sample = {
    wall: number;
    cpu: number;
    collect: number;
    render: number;
    write: number;
    read: number;
    reused: number;
    files: number;
    indexBytes: number;
    totalBytes: number;
  };
  const cacheDir = join(dir, '.board-cache');
  /** One build as the executor runs it; `cold` starts without the previous build's cache. */
  async function build(cold: boolean): Promise<Sample> {
    if (cold) await rm(cacheDir, { recursive: true, force: true });
    const deps = realDeps(dir, config, {});
    const cpu0 = cpuSeconds();
    const t0 = performance.now();
    const { model, counts } = await collectBoard({
      config,
      environments: ['dev', 'staging', 'prod'],
      storeFor: (e) => deps.storeFor(e),
      commitLog: createCommitLog(dir),
      projectRoots,
      now: NOW,
      historyLimit: 200,
      commitLimit: 30,
      cache: createBoardCache(cacheDir),
    });
    const t1 = performance.now();
    const files = renderBoard(model);
    const t2 = performance.now();
    await writeSite(join(dir, 'dist/biome-board'), files);
    const t3 = performance.now();
    return {
      wall: (t3 - t0) / 1000,
      cpu: cpuSeconds() - cpu0,
      collect: (t1 - t0) / 1000,
      render: (t2 - t1) / 1000,
      write: (t3 - t2) / 1000,
      read: counts.read,
      reused: counts.reused,
      files: files.size,
      indexBytes: (await stat(join(dir, 'dist/biome-board/index.html'))).size,
      totalBytes: [...files.values()].reduce((n, f) => n + Buffer.byteLength(f), 0),
    };
  }
  /** A deploy of one project to each of `count` biomes since the last build (history record, then the current one). */
  async function deploySince(count: number, run: number): Promise<void> {
    const deps = realDeps(dir, config, {});
    for (let i = 0; i < count; i++) {
      const biome = i === 0 ? 'dev' : `dev-s${String(i - 1).padStart(3, '0')}`;
      const store = deps.storeFor('dev');
      const project = name((run * 7 + i) % PROJECTS);
      const current = JSON.parse((await store.get(ledgerKey(biome, project)))!.toString('utf8')) as LedgerRecord;
      const next = { ...current, deployedAt: new Date().toISOString(), sequence: (current.sequence ?? 0) + 1 };
      const body = Buffer.from(`${JSON.stringify(next, null, 2)}\n`);
      await store.put(historyKey(next), body);
      await store.put(ledgerKey(biome, project), body);
    }
  }
  // Each cold build is followed by a warm one (nothing changed in the store since), then one after 5 deploys.
  const cold: Sample[] = [];
  const warm: Sample[] = [];
  const changed: Sample[] = [];
  for (let run = 0; run < RUNS; run++) {
    cold.push(await build(true));
    console.log(`cold ${run + 1}: ${JSON.stringify(cold[run])}`);
    warm.push(await build(false));
    console.log(`warm ${run + 1}: ${JSON.stringify(warm[run])}`);
    await deploySince(CHANGED, run);
    changed.push(await build(false));
    console.log(`changed ${run + 1}: ${JSON.stringify(changed[run])}`);
  }
  const median = (samples: Sample[], k: keyof Sample) =>
    [...samples.map((x) => x[k])].sort((a, b) => a - b)[Math.floor(samples.length / 2)];
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MB`;
  const row = (label: string, x: Sample[]) =>
    `| ${label} | ${median(x, 'wall').toFixed(2)} | ${median(x, 'cpu').toFixed(2)} | ${median(x, 'collect').toFixed(2)} s | ${median(x, 'render').toFixed(2)} s | ${median(x, 'write').toFixed(2)} s | ${median(x, 'read')} / ${median(x, 'reused')} | ${median(x, 'files')} | ${mb(median(x, 'indexBytes'))} | ${mb(median(x, 'totalBytes'))} |`;
  const size = `${BIOMES} × ${PROJECTS} × ${HISTORY}`;
  const cpuWarm = median(warm, 'cpu');
  const cpuCold = median(cold, 'cpu');
  const cpuChanged = median(changed, 'cpu');
  const index = median(warm, 'indexBytes');
  const table = [
    `| ${size}: build | wall (s) | CPU (s) | read store + git | render | write | objects read / reused | files | index.html | all files |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
    row('cold (no cache)', cold),
    row('warm (store unchanged)', warm),
    row(`warm, ${CHANGED} biomes deployed since`, changed),
    '',
    `| target (issue 26, ${size}) | measured | met | why not |`,
    `| --- | --- | --- | --- |`,
    `| under 5 s CPU | ${cpuWarm.toFixed(2)} s warm (wall ${median(warm, 'wall').toFixed(2)} s), ${cpuChanged.toFixed(2)} s after ${CHANGED} deploys (wall ${median(changed, 'wall').toFixed(2)} s); ${cpuCold.toFixed(2)} s cold (wall ${median(cold, 'wall').toFixed(2)} s) | ${cpuWarm < 5 && cpuChanged < 5 ? 'yes' : 'no'} warm, ${cpuCold < 5 ? 'yes' : 'no'} cold | ${cpuCold < 5 ? '' : `cold: every object is read (${median(cold, 'read')} on the folder store, which has no ETags for the ledger index): see below`} |`,
    `| index page under 1 MB | ${mb(index)} | ${index < 1024 * 1024 ? 'yes' : 'no'} | |`,
  ].join('\n');
  console.log(`\n${table}`);
  if (args.write) {
    const path = join(ROOT, 'bench/BOARD.md');
    const text = await readFile(path, 'utf8');
    const note = `Medians of ${RUNS} runs of three builds (cold, warm, warm after ${CHANGED} deploys) on ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, embedded local store, ${COMMITS}-commit clone; CPU is the process and its git children.`;
    await writeFile(
      path,
      text.replace(
        /<!-- results -->[\s\S]*<!-- \/results -->/,
        `<!-- results -->\n${note}\n\n${table}\n<!-- /results -->`,
      ),
    );
    console.log(`wrote ${path}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
