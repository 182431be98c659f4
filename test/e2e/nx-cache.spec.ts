import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCacheServe } from '../support/nx-cache';
import { startS3rver, S3Server } from '../support/s3rver';
import { copyWorkspace, NX_BIN, nxEnv, TempWorkspace, WORKSPACE_ROOT } from '../support/workspace';
import { openStore } from '../../tools/nx-biome/src/adapters/store/open-store';

// The shared Nx cache as CI uses it: each "job" is a separate clone that starts
// `nx run infra:cache-serve` in the background and runs the real Nx CLI with
// NX_SELF_HOSTED_REMOTE_CACHE_SERVER pointing at it; entries live in s3rver.

const BUCKET = 'geo-devops-nx-cache-000000000000';
const CACHE_URL = `s3://${BUCKET}/nx`;
const TOKEN = 'e2e-cache-token';
const SERVICE = 'assay-ingest';
const BUILT = `dist/apps/services/${SERVICE}/main.js`;

interface Clone {
  root: string;
  git(...args: string[]): string;
}

async function cloneOf(origin: string, branch: string, parent: string): Promise<Clone> {
  const root = join(parent, `clone-${branch.replace(/\W/g, '-')}-${Math.random().toString(36).slice(2, 8)}`);
  execFileSync('git', ['clone', '-q', '--no-local', origin, root]);
  await symlink(join(WORKSPACE_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' });
  if (branch !== 'main') git('checkout', '-q', '-b', branch);
  return { root, git };
}

function nx(root: string, args: string[], env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [NX_BIN, ...args], { cwd: root, env: nxEnv(env) });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d));
    child.stderr.on('data', (d: Buffer) => (output += d));
    child.on('close', (code: number | null) => resolve({ code: code ?? 1, output }));
  });
}

/** One CI job: endpoint up, `nx run-many -t build`, endpoint down (its stats line is in `serve`). */
async function buildJob(clone: Clone, ref: string, s3env: Record<string, string>) {
  const jobEnv = {
    ...s3env,
    CI_COMMIT_REF_NAME: ref,
    CI_DEFAULT_BRANCH: 'main',
    NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: TOKEN,
  };
  const serve = await startCacheServe(clone.root, [`--url=${CACHE_URL}`], jobEnv);
  const build = await nx(clone.root, ['run-many', '-t', 'build', '--output-style=static', '--parallel=1'], {
    ...jobEnv,
    NX_SELF_HOSTED_REMOTE_CACHE_SERVER: serve.url,
  });
  const stopped = await serve.stop();
  return { build, serve: stopped };
}

function remoteHits(output: string): string[] {
  return [...output.matchAll(/nx run ([\w-]+):build\s+\[remote cache\]/g)].map((m) => m[1]).sort();
}

function ranTasks(output: string): string[] {
  return [...new Set([...output.matchAll(/^> nx run ([\w-]+):build\s*$/gm)].map((m) => m[1]))].sort();
}

describe('shared Nx cache on S3 through nx run infra:cache-serve', () => {
  let origin: TempWorkspace;
  let s3: S3Server;
  let parent: string;
  let firstJob: Awaited<ReturnType<typeof buildJob>>;
  let first: Clone;

  const keys = async (prefix: string) =>
    (await withS3(() => openStore(CACHE_URL, origin.root).list(prefix))).map((o) => o.key);
  const withS3 = async <T>(fn: () => Promise<T>): Promise<T> => {
    const saved = { ...process.env };
    Object.assign(process.env, s3.env);
    try {
      return await fn();
    } finally {
      process.env = saved;
    }
  };

  beforeAll(async () => {
    s3 = await startS3rver([BUCKET]);
    origin = await copyWorkspace('nx-cache-origin-');
    parent = await mkdtemp(join(tmpdir(), 'nx-cache-clones-'));
    first = await cloneOf(origin.root, 'main', parent);
    firstJob = await buildJob(first, 'main', s3.env);
  });
  afterAll(async () => {
    await rm(parent, { recursive: true, force: true });
    await origin?.cleanup();
    await s3?.stop();
  });

  it("a main job builds everything and stores each build in main's scope", async () => {
    expect(firstJob.build.code, firstJob.build.output).toBe(0);
    expect(remoteHits(firstJob.build.output)).toEqual([]);
    const built = ranTasks(firstJob.build.output);
    expect(built).toContain(SERVICE);
    const stored = await keys('main/');
    expect(stored).toHaveLength(built.length);
    expect(stored.every((k) => /^main\/[A-Za-z0-9_-]+\.tar\.gz$/.test(k))).toBe(true);
    expect(await keys('branches/')).toEqual([]);
    expect(firstJob.serve.code, firstJob.serve.output).toBe(0);
    expect(firstJob.serve.output).toMatch(new RegExp(`0 hits, ${built.length} misses, ${built.length} stored`));
  });

  it("a second clone restores the first clone's build outputs from the cache: no build runs", async () => {
    const second = await cloneOf(origin.root, 'main', parent);
    const job = await buildJob(second, 'main', s3.env);
    expect(job.build.code, job.build.output).toBe(0);
    const built = ranTasks(firstJob.build.output);
    expect(remoteHits(job.build.output)).toEqual(built);
    expect(job.build.output).toContain(
      `Nx read the output from the cache instead of running the command for ${built.length} out of ${built.length} tasks.`,
    );
    // The esbuild bundle is on disk, byte for byte what the first clone built.
    expect(await readFile(join(second.root, BUILT))).toEqual(await readFile(join(first.root, BUILT)));
    expect(job.serve.output).toMatch(new RegExp(`${built.length} hits, 0 misses, 0 stored`));
  });

  it("a branch job writes only its own scope; main does not see it, the branch reads main's", async () => {
    const change = async (clone: Clone) => {
      const main = join(clone.root, `apps/services/${SERVICE}/src/main.ts`);
      await writeFile(main, `${await readFile(main, 'utf8')}\nexport const branchMarker = 'feature';\n`);
    };
    const branch = await cloneOf(origin.root, 'feature/x', parent);
    await change(branch);
    const job = await buildJob(branch, 'feature/x', s3.env);
    expect(job.build.code, job.build.output).toBe(0);
    // Only the changed service and what depends on it (the workflow that names it) ran;
    // everything else came from main's scope.
    const ran = ranTasks(job.build.output);
    expect(ran).toEqual([SERVICE, 'plant-feed']);
    expect(remoteHits(job.build.output)).toEqual(ranTasks(firstJob.build.output).filter((p) => !ran.includes(p)));
    const branchKeys = await keys('branches/');
    expect(branchKeys).toHaveLength(ran.length);
    for (const k of branchKeys) expect(k).toMatch(/^branches\/feature~2fx\/[A-Za-z0-9_-]+\.tar\.gz$/);
    const asMain = branchKeys.map((k) => k.replace('branches/feature~2fx/', 'main/'));
    const mainBefore = await keys('main/');
    for (const k of asMain) expect(mainBefore).not.toContain(k);

    // The same change on main: the branch's entry is not restored, main builds it itself.
    const onMain = await cloneOf(origin.root, 'main', parent);
    await change(onMain);
    const mainJob = await buildJob(onMain, 'main', s3.env);
    expect(mainJob.build.code, mainJob.build.output).toBe(0);
    expect(ranTasks(mainJob.build.output)).toEqual(ran);
    expect(remoteHits(mainJob.build.output)).not.toContain(SERVICE);
    const mainAfter = await keys('main/');
    for (const k of asMain) expect(mainAfter).toContain(k);
  });

  it('with S3 down, builds still succeed (the cache is a miss, never an error)', async () => {
    const dead = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const down = { ...s3.env, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${dead}`, AWS_MAX_ATTEMPTS: '1' };
    const clone = await cloneOf(origin.root, 'main', parent);
    const job = await buildJob(clone, 'main', down);
    expect(job.build.code, job.build.output).toBe(0);
    expect(remoteHits(job.build.output)).toEqual([]);
    expect(existsSync(join(clone.root, BUILT))).toBe(true);
    expect(job.serve.output).toContain('the build goes on without it');
    expect(job.serve.code).toBe(0);
  });
});
