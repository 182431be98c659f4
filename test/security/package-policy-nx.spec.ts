import { existsSync } from 'node:fs';
import { readdir, readFile, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyWorkspace, TempWorkspace } from '../support/workspace';

/*
 * The packaging content policy through the Nx CLI, on a temporary copy of
 * this workspace: an esbuild asset folder holding a symlink to the
 * repository's .git, and a git-ignored notes.log in a model folder. Each is
 * refused with its path, rule and fix, and no artifact is written.
 */

let ws: TempWorkspace;
const SERVICE = 'apps/services/assay-ingest';
const MODEL = 'apps/models/ore-grade';

async function artifacts(project: string): Promise<string[]> {
  const dir = join(ws.root, 'dist/artifacts');
  return existsSync(dir)
    ? (await readdir(dir)).filter((f) => f.startsWith(`${project}-`) || f.startsWith(`${project}.`))
    : [];
}

async function editJson(
  path: string,
  edit: (value: { targets: Record<string, { options?: Record<string, unknown> }> }) => void,
) {
  const value = JSON.parse(await readFile(join(ws.root, path), 'utf8'));
  edit(value);
  await writeFile(join(ws.root, path), `${JSON.stringify(value, null, 2)}\n`);
}

beforeAll(async () => {
  ws = await copyWorkspace('pkg-policy-nx-');
  await editJson(`${SERVICE}/project.json`, (p) => {
    // An option over the inferred build target (Nx merges project.json over what the plugin infers).
    p.targets.build = {
      options: {
        ...p.targets.build?.options,
        assets: [{ input: `${SERVICE}/assets`, glob: '**/*', output: 'assets' }],
      },
    };
  });
  await mkdir(join(ws.root, SERVICE, 'assets'), { recursive: true });
  await writeFile(join(ws.root, SERVICE, 'assets/readme.txt'), 'shipped with the service\n');
  // From apps/services/assay-ingest/assets, ../../../../.git is the repository's own .git.
  await symlink('../../../../.git', join(ws.root, SERVICE, 'assets/link'));
  ws.git('add', '-A');
  ws.git('commit', '-qm', 'service assets with a symlink to .git');
}, 300_000);
afterAll(() => ws?.cleanup());

describe('nx run <project>:package refuses and writes no artifact', () => {
  it.each([
    ['one task', []],
    ['batch mode', ['--batch']],
  ])(
    'an esbuild asset folder with a symlink to ../../../../.git (%s)',
    async (_mode, extra) => {
      await rm(join(ws.root, 'dist'), { recursive: true, force: true });
      const r = await ws.nx(['run', 'assay-ingest:package', '--output-style=static', '--skip-nx-cache', ...extra]);
      expect(r.code, r.output).not.toBe(0);
      expect(r.output).toContain(`"${SERVICE}/assets/link" [symlink]`);
      expect(r.output).toMatch(/fix: Replace the symlink/);
      // Refused before the asset copy: no .git content in the build output, no archive.
      expect(existsSync(join(ws.root, 'dist', SERVICE, 'assets/link'))).toBe(false);
      expect(await artifacts('assay-ingest')).toEqual([]);
    },
    300_000,
  );

  it('a git-ignored notes.log in a model folder; packaged once the project opts it in', async () => {
    await writeFile(join(ws.root, MODEL, 'model/notes.log'), 'run 7: used the prod password\n');
    const r = await ws.nx(['run', 'ore-grade:package', '--output-style=static', '--skip-nx-cache']);
    expect(r.code, r.output).not.toBe(0);
    expect(r.output).toContain('"notes.log" [untracked-source]: a copy of apps/models/ore-grade/model/notes.log');
    expect(r.output).toMatch(/fix: .*allowUntracked/);
    expect(await artifacts('ore-grade')).toEqual([]);
    // deploy packages with the package target's options in its own process: the same refusal, nothing stored.
    const deploy = await ws.nx(['run', 'ore-grade:deploy', '--biome=dev-pol', '--output-style=static']);
    expect(deploy.code, deploy.output).not.toBe(0);
    expect(deploy.output).toContain('"notes.log" [untracked-source]: a copy of apps/models/ore-grade/model/notes.log');
    expect(await artifacts('ore-grade')).toEqual([]);
    expect(existsSync(join(ws.root, '.biome-store/dev/artifacts/ore-grade'))).toBe(false);
    expect(existsSync(join(ws.root, '.biome-store/dev/biomes/dev-pol/ledger/ore-grade.json'))).toBe(false);

    await editJson(`${MODEL}/project.json`, (p) => {
      p.targets = {
        ...p.targets,
        package: { options: { ...p.targets.package?.options, allowUntracked: ['model/*.log'] } },
      };
    });
    ws.git('commit', '-qam', 'ore-grade ships its run notes');
    const ok = await ws.nx(['run', 'ore-grade:package', '--output-style=static', '--skip-nx-cache']);
    expect(ok.code, ok.output).toBe(0);
    const manifest = JSON.parse(await readFile(join(ws.root, 'dist/artifacts/ore-grade.manifest.json'), 'utf8'));
    expect(manifest.dirty).toBe(false);
    expect(await artifacts('ore-grade')).toContain(manifest.file);
    // The opt-in lives in the package target; deploy reads it from there.
    const shipped = await ws.nx(['run', 'ore-grade:deploy', '--biome=dev-pol', '--output-style=static']);
    expect(shipped.code, shipped.output).toBe(0);
    expect(existsSync(join(ws.root, `.biome-store/dev/artifacts/ore-grade/${manifest.file}`))).toBe(true);
  }, 300_000);

  it('a symlink loop in a model folder (model/self -> .) fails the build at once', async () => {
    await symlink('.', join(ws.root, MODEL, 'model/self'));
    const r = await ws.nx(['run', 'ore-grade:build', '--output-style=static', '--skip-nx-cache']);
    expect(r.code, r.output).not.toBe(0);
    expect(r.output).toContain('"self" [symlink]: points to . inside the folder');
  }, 300_000);
});
