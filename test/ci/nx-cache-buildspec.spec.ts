import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3rver, S3Server } from '../support/s3rver';
import { copyWorkspace, NX_BIN, nxEnv, TempWorkspace, WORKSPACE_ROOT } from '../support/workspace';

// The wiring: buildspecs/deploy.yml sources tools/ci/nx-cache-start.sh, which
// serves BIOME_NX_CACHE to Nx for the job. Two jobs on two clones of one commit:
// the second restores the first one's builds from the shared cache.

const CACHE_BUCKET = 'geo-devops-nx-cache-000000000000';

function run(root: string, args: string[], env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [NX_BIN, ...args], { cwd: root, env: nxEnv(env) });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d));
    child.stderr.on('data', (d: Buffer) => (output += d));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

const portOpen = (url: string) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    socket.on('connect', () => (socket.destroy(), resolve(true)));
    socket.on('error', () => resolve(false));
  });

describe('deploy.yml with BIOME_NX_CACHE: the job serves the shared cache to Nx', () => {
  let origin: TempWorkspace;
  let s3: S3Server;
  let parent: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    s3 = await startS3rver([CACHE_BUCKET, 'geo-artifacts-dev']);
    origin = await copyWorkspace('nx-cache-ci-');
    parent = await mkdtemp(join(tmpdir(), 'nx-cache-ci-clones-'));
    env = {
      ...s3.env,
      BIOME_STORE_DEV: 's3://geo-artifacts-dev',
      BIOME_NX_CACHE: `s3://${CACHE_BUCKET}/nx`,
      CI_COMMIT_REF_NAME: 'main',
      CI_DEFAULT_BRANCH: 'main',
      GITLAB_USER_LOGIN: 'ci-bot',
    };
  });
  afterAll(async () => {
    await rm(parent, { recursive: true, force: true });
    await origin?.cleanup();
    await s3?.stop();
  });

  const job = async (name: string, biome: string) => {
    const root = join(parent, name);
    execFileSync('git', ['clone', '-q', '--no-local', origin.root, root]);
    await symlink(join(WORKSPACE_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
    const result = await run(
      root,
      ['run', 'infra:codebuild', '--buildspec=deploy', '--local', `--biome=${biome}`, '--output-style=static'],
      env,
    );
    return { root, ...result };
  };

  it("the second job restores every build from the first job's entries and the endpoint ends with the job", async () => {
    const first = await job('first', 'dev-ca');
    expect(first.code, first.output).toBe(0);
    expect(first.output).toMatch(
      /Nx remote cache: s3:\/\/geo-devops-nx-cache-000000000000\/nx through http:\/\/127\.0\.0\.1:\d+/,
    );
    const builds = [...new Set([...first.output.matchAll(/^> nx run ([\w-]+):build\s*$/gm)].map((m) => m[1]))].sort();
    expect(builds.length).toBeGreaterThan(2);

    const second = await job('second', 'dev-cb');
    expect(second.code, second.output).toBe(0);
    const restored = [
      ...new Set([...second.output.matchAll(/nx run ([\w-]+):build\s+\[remote cache\]/g)].map((m) => m[1])),
    ].sort();
    expect(restored).toEqual(builds);
    expect(second.output).not.toMatch(/^> nx run [\w-]+:build\s*$/m);
    // Same bytes deployed by both jobs: the restored bundle is the built one.
    expect(await readFile(join(second.root, 'dist/apps/services/assay-ingest/main.js'))).toEqual(
      await readFile(join(first.root, 'dist/apps/services/assay-ingest/main.js')),
    );

    // The endpoint stopped with the job's shell and said what it did.
    const url = (await readFile(join(second.root, 'dist/ci/nx-cache.url'), 'utf8')).trim();
    let log = '';
    for (let i = 0; i < 60 && !/hits,/.test(log); i++) {
      await new Promise((r) => setTimeout(r, 500));
      log = await readFile(join(second.root, 'dist/ci/nx-cache.log'), 'utf8');
    }
    expect(log).toMatch(new RegExp(`${builds.length} hits, 0 misses, 0 stored`));
    expect(await portOpen(url)).toBe(false);
  }, 300_000);
});
