import { execFileSync, spawnSync } from 'node:child_process';
import { readFile, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyWorkspace, NX_BIN, nxEnv, TempWorkspace, WORKSPACE_ROOT } from '../support/workspace';

describe('package is byte-for-byte reproducible', () => {
  let ws: TempWorkspace;
  let clone: string;
  beforeAll(async () => {
    ws = await copyWorkspace('repro-a-');
    clone = `${ws.root}-second-clone/in/another/folder`;
    // A second clone, checked out under a different umask (so other file modes) and at a later time (other mtimes).
    execFileSync('sh', ['-c', 'umask 077 && sleep 1 && git clone -q "$0" "$1"', ws.root, clone]);
    await symlink(join(WORKSPACE_ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir');
  });
  afterAll(async () => {
    await ws?.cleanup();
    await rm(`${ws.root}-second-clone`, { recursive: true, force: true });
  });

  it('two clones in different folders, umask and time zone give identical sha256 for every sample project', async () => {
    const sha = ws.git('rev-parse', 'HEAD').trim();
    const packageIn = (cwd: string, tz: string) => {
      const r = spawnSync(process.execPath, [NX_BIN, 'run-many', '-t', 'package', '--output-style=static'], {
        cwd,
        env: nxEnv({ TZ: tz }),
        encoding: 'utf8',
      });
      expect(r.status, r.stdout + r.stderr).toBe(0);
    };
    packageIn(ws.root, 'UTC');
    packageIn(clone, 'Australia/Perth');
    for (const project of ['assay-ingest', 'grade-predict']) {
      const file = `dist/artifacts/${project}-${sha}.zip`;
      const a = await readFile(join(ws.root, `${file}.sha256`), 'utf8');
      const b = await readFile(join(clone, `${file}.sha256`), 'utf8');
      expect(b).toBe(a);
      expect((await readFile(join(clone, file))).equals(await readFile(join(ws.root, file)))).toBe(true);
    }
  });
});
