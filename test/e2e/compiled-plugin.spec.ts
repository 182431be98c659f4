import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyWorkspace, TempWorkspace, WORKSPACE_ROOT } from '../support/workspace';

/**
 * Loaded into every Node process of the run (NODE_OPTIONS=-r): records each
 * plugin file and whether the TypeScript compiler loads, by process role.
 */
const TRACER = `
const Module = require('module'); const fs = require('fs');
const role = /run-batch/.test(process.argv[1] || '') ? 'batch-worker' : /bin\\/nx(\\.js)?$/.test(process.argv[1] || '') ? 'nx' : 'other';
const load = Module._load;
Module._load = function (request, parent, isMain) {
  const file = Module._resolveFilename(request, parent, isMain);
  if (file.includes('/tools/nx-biome/') || /node_modules\\/typescript\\/lib\\/typescript\\.js$/.test(file)) fs.appendFileSync(process.env.TRACE_LOG, process.pid + ' ' + role + ' ' + file + '\\n');
  return load.apply(this, arguments);
};
`;

describe('Nx, its batch workers and the nx-biome bin run the compiled plugin', () => {
  let ws: TempWorkspace;
  let dir: string;
  beforeAll(async () => {
    ws = await copyWorkspace('e2e-compiled-');
    dir = await mkdtemp(join(tmpdir(), 'e2e-compiled-trace-'));
    await writeFile(join(dir, 'trace.cjs'), TRACER);
  });
  afterAll(async () => {
    await ws?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('a deploy loads dist/ JavaScript in every process: no plugin TypeScript, no TypeScript compiler to resolve it', async () => {
    const log = join(dir, 'deploy.log');
    const r = await ws.nx(
      ['run-many', '-t', 'deploy', '--projects=plant-feed,ore-grade', '--biome=dev-trace', '--output-style=static'],
      { NODE_OPTIONS: `-r ${join(dir, 'trace.cjs')}`, TRACE_LOG: log },
    );
    expect(r.code, r.output).toBe(0);
    const lines = (await readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => l.split(' '));
    const plugin = lines.filter(([, , file]) => file.includes('/tools/nx-biome/'));
    expect(plugin.filter(([, , file]) => file.endsWith('.ts'))).toEqual([]);
    // The plugin in the Nx process, and the deploy batch (which packages too) in its worker, all from dist/.
    expect(plugin.some(([, role, file]) => role === 'nx' && file.endsWith('tools/nx-biome/dist/index.js'))).toBe(true);
    for (const executor of ['deploy/batch.js', 'package/executor.js']) {
      expect(
        plugin.some(([, role, file]) => role === 'batch-worker' && file.endsWith(`dist/executors/${executor}`)),
        executor,
      ).toBe(true);
    }
    // TypeScript loads only where a service is bundled: @nx/esbuild reads the service's tsconfig (as it does alone).
    const bundlers = new Set(
      plugin.filter(([, , file]) => file.endsWith('dist/executors/esbuild/batch.js')).map(([pid]) => pid),
    );
    expect(lines.filter(([pid, , file]) => file.endsWith('typescript.js') && !bundlers.has(pid))).toEqual([]);
  });

  it('nx run <p>:deploy builds, then packages and deploys in one batch worker: two workers under one Nx process', async () => {
    const log = join(dir, 'one.log');
    // --skip-nx-cache: the build runs (the first test built assay-ingest for plant-feed), so its worker counts too.
    const r = await ws.nx(
      ['run', 'assay-ingest:deploy', '--biome=dev-trace', '--skip-nx-cache', '--output-style=static'],
      {
        NODE_OPTIONS: `-r ${join(dir, 'trace.cjs')}`,
        TRACE_LOG: log,
      },
    );
    expect(r.code, r.output).toBe(0);
    // What the user sees: build and deploy, no package task of its own; the archive is still <name>-<sha>.zip.
    expect(r.output).toMatch(/Successfully ran target deploy for project assay-ingest and 1 task it depends on/);
    expect(r.output).not.toMatch(/assay-ingest:package/);
    const sha = ws.git('rev-parse', 'HEAD').trim();
    expect(r.output).toMatch(new RegExp(`packaged assay-ingest: assay-ingest-${sha}\\.zip`));
    expect(existsSync(join(ws.root, `.biome-store/dev/artifacts/assay-ingest/assay-ingest-${sha}.zip`))).toBe(true);
    const roles = new Map<string, string>();
    for (const [pid, role] of (await readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => l.split(' ')))
      roles.set(pid, role);
    const count = (role: string) => [...roles.values()].filter((x) => x === role).length;
    expect(count('nx')).toBe(1);
    expect(count('batch-worker')).toBe(2);
  });

  it('the nx-biome bin answers from dist/', async () => {
    const log = join(dir, 'bin.log');
    const { execFileSync } = await import('node:child_process');
    const out = execFileSync(
      process.execPath,
      ['-r', join(dir, 'trace.cjs'), join(WORKSPACE_ROOT, 'node_modules/.bin/nx-biome'), 'list'],
      { cwd: ws.root, encoding: 'utf8', env: { ...process.env, TRACE_LOG: log } },
    );
    expect(JSON.parse(out).environments.map((e: { environment: string }) => e.environment)).toContain('dev');
    const files = (await readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[2]);
    expect(files).toContain(join(WORKSPACE_ROOT, 'tools/nx-biome/dist/cli.js'));
    expect(files.filter((f) => f.endsWith('.ts') || f.endsWith('typescript.js'))).toEqual([]);
  });
});
