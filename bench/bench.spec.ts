import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cell, renderResults, runBench } from './run';
import { nxEnv } from '../test/support/workspace';

const sha = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

// Keeps the benchmark runner working: two services, one run, S3 on s3rver.
// The benchmark itself is `npm run bench` (see bench/README.md).
describe('benchmark runner (smoke, N=2)', () => {
  let workDir: string;
  afterAll(async () => {
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('measures every scenario, counts uploads in the store and renders the table', async () => {
    workDir = await mkdtemp(join(tmpdir(), 'bench-smoke-'));
    const r = await runBench({ ns: [2], runs: 1, stores: ['s3'], buildExecutor: '@geo/nx-biome:esbuild', workDir, log: () => undefined });
    expect(r.failures).toEqual([]);
    expect(cell(r.samples, 2, 's3', 'cold')).toMatchObject({ artifacts: 2 });
    expect(cell(r.samples, 2, 's3', 'unchanged')).toMatchObject({ artifacts: 0, bytes: 0 });
    expect(cell(r.samples, 2, 's3', 'one-service')).toMatchObject({ artifacts: 1 });
    // The shared library changed in code only svc-000 uses: one new artifact, none for svc-001.
    expect(cell(r.samples, 2, 's3', 'shared-lib')).toMatchObject({ artifacts: 1, needless: 0 });
    expect(cell(r.samples, 2, 's3', 'naive')).toMatchObject({ artifacts: 2 });
    expect(cell(r.samples, 2, 's3', 'cold')!.peak).toBeGreaterThan(0);
    expect(r.packaging.ratio).toBeGreaterThan(0);
    const md = renderResults(r);
    expect(md).toMatch(/\| 2 \| s3 \| cold \| \d+\.\d\d s \|/);
    expect(md).toContain('(d) s3: shared lib changed N=2: nothing uploaded for unchanged bundles');

    // The batch build (one esbuild call for both services) wrote exactly what @nx/esbuild writes task by task.
    const ws = join(workDir, 'ws-2');
    const bundles = ['svc-000', 'svc-001'].map((s) => join(ws, 'dist/apps/services', s, 'main.js'));
    const batched = await Promise.all(bundles.map(sha));
    execFileSync(process.execPath, [join(ws, 'node_modules/nx/dist/bin/nx.js'), 'run-many', '-t', 'build', '--batch=false', '--skip-nx-cache', '--output-style=static'], { cwd: ws, env: nxEnv(), stdio: 'pipe' });
    expect(await Promise.all(bundles.map(sha))).toEqual(batched);
  }, 120_000);
});
