/**
 * The fan-out benchmark (docs/scale-out.md). For N synthetic services:
 *   (1) one machine: a cold deploy of all N to a new biome (empty Nx cache,
 *       empty store), with the shared Nx cache endpoint on, which fills it;
 *   (2) for each K: the same deploy to a new store split into K shard
 *       processes (each its own clone, started together, each with its own
 *       cache endpoint over the now warm shared cache), then one render.
 * Per shard: projects, builds restored from the shared cache / run, wall
 * seconds and CPU seconds (user + system of the process tree). On a 2-core
 * machine the K shards share two cores, so wall time says little; the work per
 * shard and the hit rate are the point.
 *
 *   node -r @swc-node/register bench/fanout.ts --n=200 --k=2,4 [--write]
 *   --write: save the results as JSON in bench/.work/fanout-<n>.json
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { generateWorkspace, REPO_ROOT } from './generate';

interface Run {
  wall: number;
  cpu: number;
  code: number;
  output: string;
}

interface ShardResult {
  shard: number;
  projects: number;
  restored: number;
  built: number;
  wall: number;
  cpu: number;
}

const arg = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {
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
  for (const k of ['BIOME_STORE', 'NX_SELF_HOSTED_REMOTE_CACHE_SERVER', 'NX_BATCH_MODE'])
    if (!(k in extra)) delete e[k];
  return e;
}

/** Runs a shell script; CPU is bash's `times` for its children (the whole Nx process tree). */
function sh(cwd: string, script: string, extra: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const child = spawn('bash', ['-c', `${script}\ncode=$?\ntimes >&2\nexit $code`], { cwd, env: env(extra) });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (code) => {
      const t = [...output.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
      // `times` prints shell user/sys, then children user/sys.
      const cpu = t.length >= 4 ? t[t.length - 2] + t[t.length - 1] : NaN;
      resolve({ wall: Number(process.hrtime.bigint() - started) / 1e9, cpu, code: code ?? 1, output });
    });
  });
}

function startS3rver(buckets: string[]): Promise<{ env: Record<string, string>; stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', '-r', '@swc-node/register', join(REPO_ROOT, 'bench/s3rver-process.ts'), ...buckets],
    { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return new Promise((resolve) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (!out.includes('\n')) return;
      resolve({ env: JSON.parse(out.split('\n')[0]).env, stop: () => (child.stdin.end(), exited) });
    });
  });
}

/** The job's cache endpoint in the background, stopped with the script's shell, then the command. */
const withCache = (command: string) => `mkdir -p dist/ci
npx nx run infra:cache-serve --urlFile=dist/ci/nx-cache.url --watchPid=$$ --output-style=static >dist/ci/nx-cache.log 2>&1 &
for i in $(seq 1 120); do test -s dist/ci/nx-cache.url && break; sleep 1; done
export NX_SELF_HOSTED_REMOTE_CACHE_SERVER="$(cat dist/ci/nx-cache.url)"
${command}`;

const count = (output: string, re: RegExp) => new Set([...output.matchAll(re)].map((m) => m[1])).size;

async function main() {
  const n = Number(arg('n', '200'));
  const ks = arg('k', '2,4').split(',').map(Number);
  const work = join(REPO_ROOT, 'bench/.work', `fanout-${n}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const ws = await generateWorkspace(join(work, 'origin'), n);
  const s3 = await startS3rver(['geo-artifacts-dev', 'geo-nx-cache']);
  const common = {
    ...s3.env,
    BIOME_NX_CACHE: 's3://geo-nx-cache/nx',
    CI_COMMIT_REF_NAME: 'main',
    CI_DEFAULT_BRANCH: 'main',
    GITLAB_USER_LOGIN: 'bench',
  };
  const clone = async (name: string) => {
    const root = join(work, name);
    execFileSync('git', ['clone', '-q', '--no-local', ws.root, root]);
    await symlink(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
    return root;
  };
  const results: Record<string, unknown> = {
    n,
    machine: {
      cpus: cpus().length,
      load: loadavg()
        .map((l) => l.toFixed(1))
        .join(' '),
    },
  };
  try {
    const single = await clone('single');
    const cold = await sh(single, withCache('npx nx run-many -t deploy --biome=dev-bench --output-style=static'), {
      ...common,
      BIOME_STORE_DEV: 's3://geo-artifacts-dev/single',
    });
    if (cold.code !== 0) throw new Error(`single-machine deploy failed:\n${cold.output.slice(-3000)}`);
    const built = count(cold.output, /^> nx run ([\w-]+):build\s*$/gm);
    results.single = { wall: cold.wall, cpu: cold.cpu, built, perService: { wall: cold.wall / n, cpu: cold.cpu / n } };
    console.log(
      `single machine, cold: ${n} services, ${built} builds, ${cold.wall.toFixed(1)} s wall, ${cold.cpu.toFixed(1)} s CPU`,
    );

    for (const k of ks) {
      const store = `s3://geo-artifacts-dev/fanout-${k}`;
      const roots = await Promise.all(Array.from({ length: k }, (_, i) => clone(`k${k}-shard-${i + 1}`)));
      const started = process.hrtime.bigint();
      const shards = await Promise.all(
        roots.map((root, i) =>
          sh(
            root,
            withCache(`npx nx run infra:deploy-plan --biome=dev-bench --base=all --shards=${k} --shard=${i + 1} --outputFile=dist/ci/shard.txt --output-style=static >/dev/null
npx nx run-many -t deploy --biome=dev-bench --projects="$(cat dist/ci/shard.txt)" --output-style=static`),
            { ...common, BIOME_STORE_DEV: store },
          ),
        ),
      );
      const shardsWall = Number(process.hrtime.bigint() - started) / 1e9;
      const render = await sh(roots[0], 'npx nx run infra:deploy --biome=dev-bench --output-style=static', {
        ...common,
        BIOME_STORE_DEV: store,
      });
      const per: ShardResult[] = shards.map((r, i) => {
        if (r.code !== 0) throw new Error(`K=${k} shard ${i + 1} failed:\n${r.output.slice(-3000)}`);
        const restored = count(r.output, /nx run ([\w-]+):build\s+\[remote cache\]/g);
        const builtHere = count(r.output, /^> nx run ([\w-]+):build\s*$/gm);
        const projects = count(r.output, /^> nx run ([\w-]+):deploy/gm);
        return { shard: i + 1, projects, restored, built: builtHere, wall: r.wall, cpu: r.cpu };
      });
      const hits = per.reduce((t, s) => t + s.restored, 0);
      const builds = hits + per.reduce((t, s) => t + s.built, 0);
      results[`k${k}`] = {
        shards: per,
        shardsWall,
        renderWall: render.wall,
        renderCpu: render.cpu,
        hitRate: builds ? hits / builds : 0,
        rendered: /rendered dist\/terraform\/dev-bench\.tfvars\.json: (\d+) project/.exec(render.output)?.[1],
      };
      console.log(
        `K=${k}: shards ${shardsWall.toFixed(1)} s wall together, render ${render.wall.toFixed(1)} s; cache hit rate ${((100 * hits) / Math.max(builds, 1)).toFixed(0)}%`,
      );
      for (const s of per)
        console.log(
          `  shard ${s.shard}: ${s.projects} projects, ${s.restored} builds restored, ${s.built} built, ${s.wall.toFixed(1)} s wall, ${s.cpu.toFixed(1)} s CPU`,
        );
    }
  } finally {
    await s3.stop();
  }
  if (process.argv.includes('--write'))
    await writeFile(join(REPO_ROOT, 'bench/.work', `fanout-${n}.json`), `${JSON.stringify(results, null, 2)}\n`);
  console.log(JSON.stringify(results));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
