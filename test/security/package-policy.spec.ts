import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../tools/nx-biome/src/executors/model-build/executor';
import { packageProject } from '../../tools/nx-biome/src/executors/package/executor';
import { createDeployFixture, DeployFixture } from '../faults/fixture';

/*
 * The packaging content policy on real folders and a real git repository:
 * what reaches the archive is the final build output, checked file by file;
 * a refused file fails the package step with its path, the rule and the fix,
 * and no artifact is written.
 */

let fx: DeployFixture;
const OUT = () => join(fx.root, 'dist/apps/services/svc');
const SRC = () => join(fx.root, 'apps/services/svc');

/** Artifact files package wrote for the project (archive, .sha256, manifest). */
async function artifacts(): Promise<string[]> {
  const dir = join(fx.root, 'dist/artifacts');
  return existsSync(dir) ? (await readdir(dir)).filter((f) => f.startsWith('svc')).sort() : [];
}

async function resetOutput(files: Record<string, string> = {}) {
  await rm(OUT(), { recursive: true, force: true });
  await rm(join(fx.root, 'dist/artifacts'), { recursive: true, force: true });
  await mkdir(OUT(), { recursive: true });
  await writeFile(join(OUT(), 'index.js'), 'exports.handler = async () => 1;\n');
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(OUT(), path, '..'), { recursive: true });
    await writeFile(join(OUT(), path), text);
  }
}

const packageSvc = (options: Record<string, unknown> = {}) =>
  packageProject(
    { kind: 'service', buildOutput: 'dist/apps/services/svc', ...options } as never,
    fx.context('svc'),
    undefined,
    () => undefined,
  );

async function expectRefused(rule: string, path: string, options: Record<string, unknown> = {}) {
  const error = await packageSvc(options).then(
    () => undefined,
    (e) => e,
  );
  expect(error, `${path} should have been refused`).toBeDefined();
  expect(error.code, error.message).toBe('PACKAGE_INPUT_INVALID');
  expect(error.message).toContain(`"${path}"`);
  expect(error.message).toContain(`[${rule}]`);
  expect(error.hint).toBeTruthy();
  expect(await artifacts()).toEqual([]);
  return error;
}

beforeAll(async () => {
  fx = await createDeployFixture([{ name: 'svc' }], 'pkg-policy-');
  // A source folder with a git-ignored log and a committed asset.
  await writeFile(join(fx.root, '.gitignore'), 'dist/\n.biome-store/\n*.log\nweights/\n');
  await mkdir(join(SRC(), 'assets'), { recursive: true });
  await writeFile(join(SRC(), 'assets/readme.txt'), 'committed asset\n');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: fx.root, encoding: 'utf8' });
  git('add', '-A');
  git('commit', '-qm', 'assets');
  await writeFile(join(SRC(), 'assets/notes.log'), 'db password is hunter2\n');
  await mkdir(join(SRC(), 'weights'), { recursive: true });
  await writeFile(join(SRC(), 'weights/w.bin'), 'fetched weights, not in git');
});
afterAll(() => fx?.cleanup());

describe('package refuses, naming the file, the rule and the fix; no artifact is written', () => {
  it('a git-ignored source file copied into the build output (notes.log)', async () => {
    await resetOutput({ 'assets/readme.txt': 'committed asset\n', 'assets/notes.log': 'db password is hunter2\n' });
    const error = await expectRefused('untracked-source', 'assets/notes.log');
    expect(error.message).toContain('apps/services/svc/assets/notes.log');
    expect(error.hint).toContain('allowUntracked');
  });

  it('the same file is packaged once the project opts its path in (allowUntracked)', async () => {
    await resetOutput({
      'assets/notes.log': 'db password is hunter2\n',
      'weights/w.bin': 'fetched weights, not in git',
    });
    await expectRefused('untracked-source', 'weights/w.bin', { allowUntracked: ['assets/notes.log'] });
    const manifest = await packageSvc({ allowUntracked: ['assets/*.log', 'weights/**'] });
    expect(manifest.dirty).toBe(false);
    expect(await artifacts()).toContain(manifest.file);
  });

  it('an untracked file the build copies from outside the project, whatever the build target is called', async () => {
    await mkdir(join(fx.root, 'libs/shared/assets'), { recursive: true });
    await writeFile(join(fx.root, 'libs/shared/assets/tokens.log'), 'api token 0xdeadbeef\n');
    await resetOutput({ 'tokens.log': 'api token 0xdeadbeef\n' });
    for (const target of ['build', 'compile']) {
      const context = fx.context('svc');
      context.projectsConfigurations!.projects.svc = {
        root: 'apps/services/svc',
        targets: { [target]: { options: { assets: [{ input: 'libs/shared/assets', glob: '*.log', output: '.' }] } } },
      };
      const error = await packageProject(
        { kind: 'service', buildOutput: 'dist/apps/services/svc' } as never,
        context,
        undefined,
        () => undefined,
      ).then(
        () => undefined,
        (e) => e,
      );
      expect(error?.code, `${target}: ${error?.message}`).toBe('PACKAGE_INPUT_INVALID');
      expect(error.message).toContain('libs/shared/assets/tokens.log');
      expect(await artifacts()).toEqual([]);
    }
  });

  it('a committed copy of a file is packaged: only untracked sources are refused', async () => {
    await resetOutput({ 'assets/readme.txt': 'committed asset\n' });
    const manifest = await packageSvc();
    expect(await artifacts()).toContain(manifest.file);
  });

  it('a symlink inside the build output, even one that stays inside it', async () => {
    await resetOutput({ 'lib/a.js': 'x' });
    await symlink('lib', join(OUT(), 'alias'));
    await expectRefused('symlink', 'alias');
  });

  it('a symlink to the repository .git (what an asset copy of ../../../../.git would make)', async () => {
    await resetOutput();
    await symlink(join(fx.root, '.git'), join(OUT(), 'git'));
    const error = await expectRefused('symlink', 'git');
    expect(error.message).toMatch(/points outside the project/);
  });

  it('a copied .git folder, under any name', async () => {
    await resetOutput({ 'vendor/.git/config': '[remote "origin"]\n\turl = git@example.com:geo/x.git\n' });
    await expectRefused('git-metadata', 'vendor/.git');
    await resetOutput({
      'assets/link/HEAD': 'ref: refs/heads/main\n',
      'assets/link/objects/info/packs': '',
      'assets/link/refs/heads/main': 'x',
      'assets/link/config': '[core]\n',
    });
    await expectRefused('git-metadata', 'assets/link');
  });

  it.each([
    ['.pypirc', '[pypi]\npassword = x\n'],
    ['.git-credentials', 'https://u:t@example.com\n'],
    ['.ssh/config', 'Host x\n'],
    ['id_dsa', 'k'],
    ['deep/id_ed25519', 'k'],
    ['tls/server.key', 'k'],
    ['credentials.json', '{}'],
    ['.docker/config.json', '{"auths":{}}'],
    ['infra/terraform.tfstate', '{}'],
    ['infra/terraform.tfstate.backup', '{}'],
    ['cert.p12', 'x'],
    ['cert.pfx', 'x'],
    ['.env', 'A=1'],
    ['.env.production', 'A=1'],
    ['.npmrc', '//registry/:_authToken=x'],
    ['.aws/credentials', '[default]\n'],
  ])('a credential file by name: %s', async (path, text) => {
    await resetOutput({ [path]: text });
    // A credential folder (.ssh, .aws) is refused as a whole.
    await expectRefused('credential-file', /^\.(ssh|aws)\//.test(path) ? path.slice(0, 4) : path);
  });

  it.each([
    ['private-key', 'certs/bundle.pem', '-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n'],
    ['private-key', 'main.js', 'const k = `-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n`;'],
    ['private-key', 'k.txt', '-----BEGIN PRIVATE KEY-----\nMIIE\n'],
    ['aws-access-key-id', 'config.js', 'module.exports = { id: "AKIAZ3MQW7XKJ2ABCDEF" };'],
    ['aws-access-key-id', 'session.json', '{"AccessKeyId":"ASIAZ3MQW7XKJ2ABCDEF"}'],
    ['aws-secret-access-key', 'settings.ini', 'aws_secret_access_key = Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy\n'],
  ])('a credential by content (%s): %s', async (rule, path, text) => {
    await resetOutput({ [path]: text });
    await expectRefused(rule, path);
  });

  it('allows what only looks sensitive: a CA bundle .pem, a public key, .env.example, SDK code naming the variable', async () => {
    await resetOutput({
      'certs/global-bundle.pem': '-----BEGIN CERTIFICATE-----\nMIIE\n-----END CERTIFICATE-----\n',
      'id_ed25519.pub': 'ssh-ed25519 AAAA',
      '.env.example': 'A=',
      'sdk.js': 'const s = process.env.AWS_SECRET_ACCESS_KEY; const doc = "AKIAIOSFODNN7EXAMPLE";',
    });
    const manifest = await packageSvc();
    expect(await artifacts()).toContain(manifest.file);
  });

  it('lists every refused file at once', async () => {
    await resetOutput({ '.pypirc': 'x', 'a/id_rsa': 'x' });
    const error = await expectRefused('credential-file', '.pypirc');
    expect(error.message).toContain('"a/id_rsa"');
  });
});

describe('model-build', () => {
  let root: string;
  const ctx = () =>
    ({
      root,
      projectName: 'm',
      projectsConfigurations: { version: 2, projects: { m: { root: 'apps/models/m' } } },
    }) as never;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'model-loop-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it.each([
    ['a loop to its own folder (model/self -> .)', 'self', '.'],
    ['a loop to the parent (model/up -> ..)', 'up', '..'],
    ['a symlink to a file inside the folder', 'alias.json', 'weights.json'],
  ])(
    'refuses %s at once, naming the link, and writes no build output',
    async (_label, link, target) => {
      await rm(join(root, 'apps'), { recursive: true, force: true });
      await mkdir(join(root, 'apps/models/m/model'), { recursive: true });
      await writeFile(join(root, 'apps/models/m/model/weights.json'), '{}');
      await symlink(target, join(root, 'apps/models/m/model', link));
      const error = await buildModel({ outputPath: 'dist/m' }, ctx()).then(
        () => undefined,
        (e) => e,
      );
      expect(error?.code, String(error?.stack)).toBe('PACKAGE_INPUT_INVALID');
      expect(error.message).toContain(`"${link}"`);
      expect(error.message).toContain('[symlink]');
      expect(existsSync(join(root, 'dist/m'))).toBe(false);
    },
    300_000,
  );

  it('refuses a private key in a model file by its content', async () => {
    await rm(join(root, 'apps'), { recursive: true, force: true });
    await mkdir(join(root, 'apps/models/m/model'), { recursive: true });
    await writeFile(join(root, 'apps/models/m/model/weights.json'), '{"note":"-----BEGIN EC PRIVATE KEY-----"}');
    const error = await buildModel({ outputPath: 'dist/m' }, ctx()).then(
      () => undefined,
      (e) => e,
    );
    expect(error?.code).toBe('PACKAGE_INPUT_INVALID');
    expect(error.message).toContain('[private-key]');
    expect(existsSync(join(root, 'dist/m'))).toBe(false);
    expect(await readFile(join(root, 'apps/models/m/model/weights.json'), 'utf8')).toContain('PRIVATE');
  });
});
