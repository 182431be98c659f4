import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as prettier from 'prettier';
import { describe, expect, it } from 'vitest';
import { WORKSPACE_ROOT } from '../support/workspace';

const scripts = JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'package.json'), 'utf8')).scripts as Record<
  string,
  string
>;
const configFor = async (file: string) => ({
  ...(await prettier.resolveConfig(join(WORKSPACE_ROOT, file))),
  filepath: join(WORKSPACE_ROOT, file),
});

describe('the formatter (Prettier) in npm run lint', () => {
  it('npm run lint runs the format check after ESLint', () => {
    expect(scripts.lint).toBe('eslint . && npm run format:check');
    expect(scripts['format:check']).toBe('prettier --check .');
    expect(scripts.format).toBe('prettier --write .');
  });

  it('fails on unformatted code and passes once it is formatted, with lines up to 120 columns', async () => {
    const file = 'tools/nx-biome/src/core/example.ts';
    const messy = `export const  x = {a:1,b:"two"}\nexport function f( a:number ){ return a+1 }\n`;
    expect(await prettier.check(messy, await configFor(file))).toBe(false);
    const formatted = await prettier.format(messy, await configFor(file));
    expect(formatted).toBe(
      "export const x = { a: 1, b: 'two' };\nexport function f(a: number) {\n  return a + 1;\n}\n",
    );
    expect(await prettier.check(formatted, await configFor(file))).toBe(true);
    const long = `export const message = ${JSON.stringify('w'.repeat(90))} + ${JSON.stringify('v'.repeat(30))};\n`;
    expect((await prettier.format(long, await configFor(file))).split('\n').every((l) => l.length <= 120)).toBe(true);
  });

  it('the prettier CLI exits non-zero on an unformatted file (what npm run lint sees)', () => {
    const bin = join(WORKSPACE_ROOT, 'node_modules/prettier/bin/prettier.cjs');
    let code = 0;
    try {
      execFileSync(process.execPath, [bin, '--check', '--stdin-filepath', 'tools/nx-biome/src/core/x.ts'], {
        cwd: WORKSPACE_ROOT,
        input: 'const a = {b:1}\n',
        stdio: ['pipe', 'ignore', 'ignore'],
      });
    } catch (e) {
      code = (e as { status: number }).status;
    }
    expect(code).not.toBe(0);
  });

  it('leaves generator templates, the compiled plugin and the lock file alone', async () => {
    for (const file of [
      'tools/nx-biome/src/generators/service/files/src/main.ts.template',
      'tools/nx-biome/dist/index.js',
      'package-lock.json',
      'infra/stacks/biome/main.tf',
    ]) {
      const info = await prettier.getFileInfo(join(WORKSPACE_ROOT, file), {
        ignorePath: join(WORKSPACE_ROOT, '.prettierignore'),
      });
      expect(info.ignored || info.inferredParser === null, file).toBe(true);
    }
  });
});
