import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cell, renderResults, runBench } from './run';
import { nxEnv } from '../test/support/workspace';

const sha = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

// Keeps the benchmark runner working: two services, one run, S3 on s3rver, with the peers.
// The benchmark itself is `npm run bench` (see bench/README.md).
describe('benchmark runner (smoke, N=2)', () => {
  let workDir: string;
  afterAll(async () => {
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('measures every scenario, counts uploads in the store and renders the table', async () => {
    workDir = await mkdtemp(join(tmpdir(), 'bench-smoke-'));
    const r = await runBench({
      ns: [2],
      runs: 1,
      stores: ['s3'],
      buildExecutor: '@geo/nx-biome:esbuild',
      peers: true,
      workDir,
      log: () => undefined,
    });
    expect(r.failures).toEqual([]);
    expect(cell(r.samples, 2, 's3', 'cold')).toMatchObject({ artifacts: 2 });
    expect(cell(r.samples, 2, 's3', 'unchanged')).toMatchObject({ artifacts: 0, bytes: 0 });
    expect(cell(r.samples, 2, 's3', 'one-service')).toMatchObject({ artifacts: 1 });
    // The shared library changed in code only svc-000 uses: one new artifact, none for svc-001.
    expect(cell(r.samples, 2, 's3', 'shared-lib')).toMatchObject({ artifacts: 1, needless: 0 });
    expect(cell(r.samples, 2, 's3', 'cold', 'naive')).toMatchObject({ artifacts: 2 });
    expect(cell(r.samples, 2, 's3', 'cold')!.peak).toBeGreaterThan(0);
    // The plain-Nx peer uploads under the commit's name: again what nothing changed (same keys, no new object), everything on a shared-lib change.
    expect(cell(r.samples, 2, 's3', 'cold', 'plain-nx')).toMatchObject({ artifacts: 2 });
    expect(cell(r.samples, 2, 's3', 'unchanged', 'plain-nx')).toMatchObject({ artifacts: 0 });
    expect(cell(r.samples, 2, 's3', 'one-service', 'plain-nx')).toMatchObject({ artifacts: 1, needless: 0 });
    expect(cell(r.samples, 2, 's3', 'shared-lib', 'plain-nx')).toMatchObject({ artifacts: 2, needless: 1 });
    // The floor puts what changed and nothing else.
    expect(cell(r.samples, 2, 's3', 'cold', 'floor')).toMatchObject({ artifacts: 2 });
    expect(cell(r.samples, 2, 's3', 'unchanged', 'floor')).toMatchObject({ artifacts: 0 });
    expect(cell(r.samples, 2, 's3', 'one-service', 'floor')).toMatchObject({ artifacts: 1, needless: 0 });
    expect(cell(r.samples, 2, 's3', 'shared-lib', 'floor')).toMatchObject({ artifacts: 1, needless: 0 });
    // CPU time of the process tree is measured for every sample; Nx's own start alone costs more than 0.1 s.
    expect(r.samples.every((s) => s.cpuSeconds > 0)).toBe(true);
    expect(cell(r.samples, 2, 's3', 'cold')!.cpu).toBeGreaterThan(0.1);
    expect(r.packaging.ratio).toBeGreaterThan(0);
    const md = renderResults(r);
    expect(md).toMatch(
      /\| 2 \| s3 \| cold \| \d+\.\d\d \| \d+\.\d\d \| [\d.]+ \| \d+\.\d\d \| \d+\.\d\d \| \d+\.\d\d \| \d+\.\d\d \|/,
    );
    expect(md).toContain('s3: shared lib changed, N=2: only the changed bundle uploaded');
    expect(md).toContain('s3: one service changed, N=2: CPU ≤ 0.5× plain Nx');

    // The batch build (one esbuild call for both services) wrote exactly what @nx/esbuild writes task by task.
    const ws = join(workDir, 'ws-2');
    const bundles = ['svc-000', 'svc-001'].map((s) => join(ws, 'dist/apps/services', s, 'main.js'));
    const batched = await Promise.all(bundles.map(sha));
    execFileSync(
      process.execPath,
      [
        join(ws, 'node_modules/nx/dist/bin/nx.js'),
        'run-many',
        '-t',
        'build',
        '--batch=false',
        '--skip-nx-cache',
        '--output-style=static',
      ],
      { cwd: ws, env: nxEnv(), stdio: 'pipe' },
    );
    expect(await Promise.all(bundles.map(sha))).toEqual(batched);
  }, 300_000);
});
