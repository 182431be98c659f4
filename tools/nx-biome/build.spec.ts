import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const PLUGIN = __dirname;
const root = mkdtempSync(join(tmpdir(), 'nx-biome-build-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A copy of the plugin (its sources, entries and build script) with the workspace's node_modules beside it. */
const copy = join(root, 'tools/nx-biome');
cpSync(PLUGIN, copy, { recursive: true, filter: (src) => !/\/(dist|dist\.[^/]*|\.dist\.lock)$/.test(src) });
symlinkSync(join(PLUGIN, '../../node_modules'), join(root, 'node_modules'), 'dir');

const build = (...args: string[]) =>
  execFileSync(process.execPath, [join(copy, 'build.js'), ...args], { encoding: 'utf8' }).trim();
const node = (code: string) => execFileSync(process.execPath, ['-e', code], { cwd: copy, encoding: 'utf8' }).trim();

describe('the compiled plugin (build.js)', () => {
  it('compiles src/ once, then answers up to date until a source changes', () => {
    expect(build()).toMatch(/compiled src\/ to dist\//);
    expect(build()).toBe('nx-biome: dist/ is up to date');
    expect(readFileSync(join(copy, 'dist/generators/service/files/src/main.ts.template'), 'utf8')).toContain('handler');
  });

  it('never runs a stale build: an edited source is compiled again before the entry loads it', () => {
    appendFileSync(join(copy, 'src/core/constants.ts'), '\nexport const BUILD_PROBE = 42;\n');
    // Through the plugin's entry, as Nx loads it: no build step run by hand.
    expect(node(`require('./index.js'); console.log(require('./dist/core/constants.js').BUILD_PROBE)`)).toBe('42');
    expect(build()).toBe('nx-biome: dist/ is up to date');
  });

  it('a copy with new timestamps and the same bytes is not rebuilt (the content hash decides), an edit in a template is', () => {
    const later = new Date(Date.now() + 60_000);
    for (const f of ['src/core/names.ts', 'src/index.ts', 'build.js']) utimesSync(join(copy, f), later, later);
    expect(build()).toBe('nx-biome: dist/ is up to date');
    appendFileSync(join(copy, 'src/generators/model/files/.gitignore.template'), '*.tmp\n');
    expect(build()).toMatch(/compiled/);
    expect(readFileSync(join(copy, 'dist/generators/model/files/.gitignore.template'), 'utf8')).toContain('*.tmp');
  });

  it('the nx-biome bin runs the compiled CLI with no TypeScript loader', () => {
    const r = spawnSync(
      process.execPath,
      [
        '-e',
        `require.extensions['.ts'] = () => { throw new Error('a .ts file was loaded') }; process.argv = [process.argv[0], 'bin', '--help']; require('./bin/nx-biome.js')`,
      ],
      { cwd: copy, encoding: 'utf8' },
    );
    expect(r.stdout + r.stderr).toMatch(/usage: nx-biome <command>/);
    expect(r.stderr).not.toMatch(/a \.ts file was loaded/);
    expect(r.status).toBe(0);
  });
});
