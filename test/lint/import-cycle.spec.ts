import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ESLint } from 'eslint';
import { afterAll, describe, expect, it } from 'vitest';
import { WORKSPACE_ROOT } from '../support/workspace';

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

/** Lints files laid out like the workspace with the workspace's own ESLint config. */
async function lint(files: Record<string, string>): Promise<ESLint.LintResult[]> {
  const root = await mkdtemp(join(tmpdir(), 'lint-cycle-'));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  const eslint = new ESLint({ cwd: root, overrideConfigFile: join(WORKSPACE_ROOT, 'eslint.config.mjs') });
  return eslint.lintFiles(Object.keys(files));
}

const messages = (results: ESLint.LintResult[]) =>
  results.flatMap((r) => r.messages.map((m) => `${r.filePath.split('/').slice(-1)[0]}: ${m.ruleId} ${m.message}`));

describe('npm run lint and import cycles', () => {
  it('fails on a cycle between plugin modules, named by import-x/no-cycle', async () => {
    const results = await lint({
      'tools/nx-biome/src/core/a.ts': "import { b } from './b';\nexport const a = () => b;\n",
      'tools/nx-biome/src/core/b.ts': "import { c } from './c';\nexport const b = c;\n",
      'tools/nx-biome/src/core/c.ts': "import { a } from './a';\nexport const c = a;\n",
    });
    expect(messages(results)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^a\.ts: import-x\/no-cycle Dependency cycle/)]),
    );
    expect(results.reduce((n, r) => n + r.errorCount, 0)).toBeGreaterThanOrEqual(3);
  });

  it('fails on a cycle in an app, and on one closed by a dynamic import()', async () => {
    const results = await lint({
      'apps/services/x/src/main.ts': "import { y } from './y';\nexport const x = y;\n",
      'apps/services/x/src/y.ts': "export const y = 1;\nexport const load = () => import('./main');\n",
    });
    expect(messages(results)).toEqual(expect.arrayContaining([expect.stringMatching(/^main\.ts: import-x\/no-cycle/)]));
  });

  it('accepts a type-only back edge (erased at compile time) and a one-way chain', async () => {
    const results = await lint({
      'tools/nx-biome/src/core/a.ts':
        "import { b } from './b';\nexport interface A { n: number }\nexport const a = b;\n",
      'tools/nx-biome/src/core/b.ts': "import type { A } from './a';\nexport const b: A = { n: 1 };\n",
    });
    expect(messages(results)).toEqual([]);
  });
});
