import type { ExecutorContext } from '@nx/devkit';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from './executor';

let root: string;
const project = 'apps/models/ore';
const ctx = (): ExecutorContext =>
  ({
    root,
    projectName: 'ore',
    projectsConfigurations: { version: 2, projects: { ore: { root: project } } },
  }) as unknown as ExecutorContext;

describe('model-build executor', () => {
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'model-build-'));
    await mkdir(join(root, project, 'model'), { recursive: true });
    await mkdir(join(root, project, 'code/__pycache__'), { recursive: true });
    await writeFile(join(root, project, 'model/coefficients.json'), '{"w":[1]}');
    await writeFile(join(root, project, 'code/inference.py'), 'def model_fn(d): pass\n');
    await writeFile(join(root, project, 'code/serve.sh'), '#!/bin/sh\n');
    await chmod(join(root, project, 'code/serve.sh'), 0o755);
    await writeFile(join(root, project, 'code/__pycache__/inference.cpython-311.pyc'), 'local bytes');
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  it('lays out model files at the root and code under code/, without interpreter leftovers', async () => {
    const r = await buildModel({}, ctx());
    expect(r.files).toEqual(['code/inference.py', 'code/serve.sh', 'coefficients.json']);
    expect(await readFile(join(root, 'dist', project, 'coefficients.json'), 'utf8')).toBe('{"w":[1]}');
  });

  it('refuses a secret-bearing file and a symlink leaving the project', async () => {
    await writeFile(join(root, project, 'model/.env'), 'TOKEN=x');
    await expect(buildModel({}, ctx())).rejects.toThrow(
      /apps\/models\/ore\/model: a file must not be packaged:\n {2}- "\.env" \[credential-file\]/,
    );
    await rm(join(root, project, 'model/.env'));
    await symlink('/etc/hostname', join(root, project, 'model/host'));
    await expect(buildModel({}, ctx())).rejects.toThrow(/"host" \[symlink\]: points outside the project/);
    await rm(join(root, project, 'model/host'));
  });

  it('fails clearly when the model folder is missing', async () => {
    await expect(buildModel({ modelDir: `${project}/weights` }, ctx())).rejects.toThrow(
      /BUILD_OUTPUT_MISSING|does not exist/,
    );
  });
});
