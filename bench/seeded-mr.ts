/*
 * The seeded merge-request benchmark: what a new MR biome costs when it is
 * seeded from dev (`infra:biome-create --from=dev`, then `nx affected -t
 * deploy`) against today's unseeded path (`nx affected -t deploy` on a new
 * biome, which deploys every project), at N services with one service changed
 * on the MR branch. Measured on S3 (s3rver on 127.0.0.1, in its own process):
 * wall time, CPU seconds of the whole process tree, artifacts uploaded.
 *
 *   node -r @swc-node/register bench/seeded-mr.ts [--n=200] [--runs=2] [--stores=s3,file] [--write]
 *
 * Per run: a branch off main changes one service; each path starts as a CI
 * job on a fresh clone does: no Nx cache (.nx) and no build output (dist/).
 * The seeded path is `nx-biome seed --from=dev` (what CI runs) then `nx
 * affected -t deploy`; the unseeded path is `nx affected -t deploy` on a new
 * biome. `dev` is deployed once, cold, before the runs and is not measured. --write puts the table into bench/README.md between
 * `<!-- seeded-mr -->` markers.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { changeService, generateWorkspace, REPO_ROOT } from './generate';
import { measure, Measured, median } from './measure';
import { startS3rverProcess } from './run';
import { openStore } from '../tools/nx-biome/src/adapters/store/open-store';

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .map((a) => a.replace(/^--/, '').split('='))
    .map(([k, v]) => [k, v ?? 'true']),
);
const N = Number(args.n ?? 200);
const RUNS = Number(args.runs ?? 2);
const STORES = String(args.stores ?? 's3').split(',') as ('s3' | 'file')[];
const BUCKET = 'bench-seed';

interface Row {
  store: string;
  path: 'seeded' | 'unseeded';
  run: number;
  seconds: number;
  cpu: number;
  uploaded: number;
  code: number;
}

async function main(): Promise<void> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const s3 = STORES.includes('s3') ? await startS3rverProcess([BUCKET]) : undefined;
  const storeDir = await mkdtemp(join(tmpdir(), 'bench-seed-'));
  const rows: Row[] = [];
  const loads: number[] = [];
  const timer = setInterval(() => loads.push(loadavg()[0]), 10_000);
  try {
    for (const store of STORES) {
      const ws = await generateWorkspace(join(REPO_ROOT, `bench/.work/seed-ws-${N}-${store}`), N);
      const url = store === 's3' ? `s3://${BUCKET}/seed-${N}` : `file://${join(storeDir, `seed-${N}`)}`;
      const storeEnv = { ...(s3 && store === 's3' ? s3.env : {}), BIOME_STORE: url, BIOME_DEPLOYED_BY: 'bench' };
      const env = {
        ...process.env,
        NX_DAEMON: 'false',
        NX_NO_CLOUD: 'true',
        NX_TUI: 'false',
        NX_ISOLATE_PLUGINS: 'false',
        CI: 'true',
        FORCE_COLOR: '0',
        NX_USE_LOCAL: 'true',
        ...storeEnv,
      };
      const nx = (a: string[]) =>
        measure(process.execPath, [join(ws.root, 'node_modules/nx/dist/bin/nx.js'), ...a, '--output-style=static'], {
          cwd: ws.root,
          env,
          sampleMs: 200,
        });
      const artifacts = async () => {
        const saved = { ...process.env };
        Object.assign(process.env, storeEnv);
        try {
          return new Set((await openStore(url, ws.root).list('artifacts/')).map((o) => o.key));
        } finally {
          process.env = saved;
        }
      };
      const check = (m: Measured, what: string) => {
        if (m.code !== 0) throw new Error(`${what} exited ${m.code}\n${m.output.slice(-3000)}`);
        return m;
      };
      const setup = check(await nx(['run-many', '-t', 'deploy', '--biome=dev']), 'cold deploy of dev');
      log(
        `N=${N} ${store}: dev deployed cold (setup, not compared): ${setup.seconds.toFixed(1)} s wall, ${setup.cpuSeconds.toFixed(1)} s CPU`,
      );
      for (let run = 1; run <= RUNS; run++) {
        ws.git('checkout', '-q', 'main');
        ws.git('checkout', '-q', '-b', `mr-${store}-${run}`);
        await changeService(ws, ws.services[run % ws.services.length], `mr-${store}-${run}`);
        const record = async (path: Row['path'], steps: (() => Promise<Measured>)[]) => {
          // A fresh CI clone: no Nx cache, no build output.
          await rm(join(ws.root, '.nx'), { recursive: true, force: true });
          await rm(join(ws.root, 'dist'), { recursive: true, force: true });
          const before = await artifacts();
          let seconds = 0;
          let cpu = 0;
          let code = 0;
          const parts: string[] = [];
          for (const s of steps) {
            const m = await s();
            parts.push(`${m.cpuSeconds.toFixed(2)}`);
            seconds += m.seconds;
            cpu += m.cpuSeconds;
            code ||= m.code;
            if (m.code !== 0) log(m.output.slice(-3000));
          }
          const uploaded = [...(await artifacts())].filter((k) => !before.has(k)).length;
          rows.push({ store, path, run, seconds, cpu, uploaded, code });
          log(
            `  N=${N} ${store} run ${run} ${path}: ${seconds.toFixed(2)} s wall, ${cpu.toFixed(2)} s CPU (${parts.join(' + ')}), ${uploaded} artifact(s) uploaded${code ? ` EXIT ${code}` : ''}`,
          );
        };
        const seed = () =>
          measure(
            process.execPath,
            [
              join(ws.root, 'node_modules/@geo/nx-biome/bin/nx-biome.js'),
              'seed',
              `--biome=dev-seeded${run}`,
              '--from=dev',
            ],
            { cwd: ws.root, env, sampleMs: 200 },
          );
        await record('seeded', [seed, () => nx(['affected', '-t', 'deploy', `--biome=dev-seeded${run}`])]);
        await record('unseeded', [() => nx(['affected', '-t', 'deploy', `--biome=dev-full${run}`])]);
      }
    }
  } finally {
    clearInterval(timer);
    await s3?.stop();
    await rm(storeDir, { recursive: true, force: true });
  }
  const load = loads.length
    ? `${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)} (1-min load average, sampled every 10 s)`
    : `${loadavg()[0].toFixed(1)}`;
  const lines = [
    `Medians of ${RUNS} run(s) on ${new Date().toISOString().slice(0, 10)}, N=${N} services, one changed on the MR branch; ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}, load ${load}.`,
    '',
    '| store | path | wall | CPU | artifacts uploaded | CPU vs unseeded |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
  ];
  for (const store of STORES) {
    const cell = (path: Row['path']) => {
      const r = rows.filter((x) => x.store === store && x.path === path);
      return {
        seconds: median(r.map((x) => x.seconds)),
        cpu: median(r.map((x) => x.cpu)),
        uploaded: median(r.map((x) => x.uploaded)),
        failed: r.some((x) => x.code),
      };
    };
    const u = cell('unseeded');
    for (const path of ['seeded', 'unseeded'] as const) {
      const c = cell(path);
      lines.push(
        `| ${store} | ${path === 'seeded' ? 'seeded from dev (`nx-biome seed --from=dev` + `nx affected`)' : 'unseeded (`nx affected` on a new biome: every project)'} | ${c.seconds.toFixed(2)} s | ${c.cpu.toFixed(2)} s | ${c.uploaded}${c.failed ? ' (a run FAILED)' : ''} | ${(c.cpu / u.cpu).toFixed(2)}× |`,
      );
    }
  }
  const table = lines.join('\n');
  process.stdout.write(`${table}\n`);
  await writeFile(join(REPO_ROOT, `bench/.work/seeded-mr-${Date.now()}.json`), JSON.stringify(rows, null, 2));
  if (args.write) {
    const path = join(REPO_ROOT, 'bench/README.md');
    const text = await readFile(path, 'utf8');
    const start = '<!-- seeded-mr -->';
    const end = '<!-- /seeded-mr -->';
    const block = `${start}\n${table}\n${end}`;
    await writeFile(
      path,
      text.includes(start) ? text.replace(new RegExp(`${start}[\\s\\S]*?${end}`), block) : `${text}\n${block}\n`,
    );
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
