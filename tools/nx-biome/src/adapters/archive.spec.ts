import { chmod, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectFolder, createArchive } from './archive';

let base: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'archive-'));
});
afterAll(async () => rm(base, { recursive: true, force: true }));

async function makeTree(dir: string, options: { mtime: Date; mode: number; order: string[] }) {
  await mkdir(join(dir, 'lib'), { recursive: true });
  const files: Record<string, string> = {
    'main.js': 'exports.handler = async () => 42;\n',
    'lib/util.js': 'module.exports = 1;\n',
    'model/coef.json': '{"a":1}',
  };
  for (const name of options.order) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), files[name]);
    await chmod(join(dir, name), options.mode);
    await utimes(join(dir, name), options.mtime, options.mtime);
  }
}

describe('createArchive', () => {
  it.each(['zip', 'tar.gz'] as const)(
    'gives identical %s bytes for the same files whatever their mtime, mode bits, creation order and folder',
    async (format) => {
      const a = join(base, `a-${format}`);
      const b = join(base, `elsewhere/deeper/b-${format}`);
      await makeTree(a, {
        mtime: new Date('2020-01-01'),
        mode: 0o644,
        order: ['main.js', 'lib/util.js', 'model/coef.json'],
      });
      await makeTree(b, {
        mtime: new Date('2026-06-30T23:59:59Z'),
        mode: 0o600,
        order: ['model/coef.json', 'lib/util.js', 'main.js'],
      });
      const first = await createArchive(await collectFolder(a), format, a);
      const second = await createArchive(await collectFolder(b), format, b);
      expect(second.sha256).toBe(first.sha256);
      expect(second.body.equals(first.body)).toBe(true);
    },
  );

  it('a changed byte changes the archive', async () => {
    const a = join(base, 'c1');
    await makeTree(a, { mtime: new Date(), mode: 0o644, order: ['main.js'] });
    const before = await createArchive(await collectFolder(a), 'zip', a);
    await writeFile(join(a, 'main.js'), 'exports.handler = async () => 43;\n');
    expect((await createArchive(await collectFolder(a), 'zip', a)).sha256).not.toBe(before.sha256);
  });

  it('tar.gz entries are sorted, owned by 0:0 with a fixed mtime (what SageMaker extracts)', async () => {
    const a = join(base, 'tar');
    await makeTree(a, { mtime: new Date(), mode: 0o755, order: ['main.js', 'model/coef.json'] });
    const { body } = await createArchive(await collectFolder(a), 'tar.gz', a);
    const tar = gunzipSync(body);
    const names: string[] = [];
    for (let off = 0; off + 512 <= tar.length && tar[off] !== 0;) {
      const name = tar
        .subarray(off, off + 100)
        .toString()
        .replace(/\0.*$/s, '');
      const size = parseInt(
        tar
          .subarray(off + 124, off + 136)
          .toString()
          .replace(/\0.*$/s, '')
          .trim(),
        8,
      );
      const mtime = parseInt(
        tar
          .subarray(off + 136, off + 148)
          .toString()
          .replace(/\0.*$/s, '')
          .trim(),
        8,
      );
      const uid = parseInt(
        tar
          .subarray(off + 108, off + 116)
          .toString()
          .replace(/\0.*$/s, '')
          .trim() || '0',
        8,
      );
      names.push(name);
      expect(mtime).toBe(Date.parse('1980-01-01T00:00:00Z') / 1000);
      expect(uid).toBe(0);
      off += 512 + Math.ceil(size / 512) * 512;
    }
    expect(names).toEqual(['main.js', 'model/coef.json']);
  });

  it('refuses .env and .npmrc, any symlink, and leaves out .DS_Store', async () => {
    const a = join(base, 'secrets');
    await makeTree(a, { mtime: new Date(), mode: 0o644, order: ['main.js'] });
    await writeFile(join(a, '.DS_Store'), 'finder');
    const input = await collectFolder(a);
    expect(input.entries.map((e) => e.path)).toEqual(['main.js']);
    expect(input.skipped).toEqual(['.DS_Store']);
    await writeFile(join(a, '.env'), 'AWS_SECRET_ACCESS_KEY=planted');
    await writeFile(join(a, '.npmrc'), '//registry/:_authToken=planted');
    await expect(collectFolder(a)).rejects.toMatchObject({
      code: 'PACKAGE_INPUT_INVALID',
      message: expect.stringMatching(/"\.env" \[credential-file\][\s\S]*"\.npmrc" \[credential-file\]/),
    });
    await rm(join(a, '.env'));
    await rm(join(a, '.npmrc'));
    await symlink('/etc/passwd', join(a, 'passwd'));
    await expect(collectFolder(a)).rejects.toMatchObject({
      code: 'PACKAGE_INPUT_INVALID',
      message: expect.stringContaining('"passwd" [symlink]: points outside the project'),
    });
    await rm(join(a, 'passwd'));
    await symlink('main.js', join(a, 'alias.js'));
    await expect(collectFolder(a)).rejects.toMatchObject({
      message: expect.stringContaining('"alias.js" [symlink]: points to main.js inside the folder'),
    });
  });

  it('a missing or empty build output is a clear error', async () => {
    await expect(collectFolder(join(base, 'nope'))).rejects.toMatchObject({ code: 'BUILD_OUTPUT_MISSING' });
    await mkdir(join(base, 'empty'));
    await expect(createArchive(await collectFolder(join(base, 'empty')), 'zip', 'empty')).rejects.toMatchObject({
      code: 'BUILD_OUTPUT_MISSING',
    });
  });
});
