import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheServeDeps, cacheServeWith } from './executor';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cache-serve-'));
});
afterAll(async () => rm(root, { recursive: true, force: true }));

describe('cache-serve', () => {
  const context = (defaultBase?: string) =>
    ({
      root,
      projectName: 'infra',
      cwd: root,
      isVerbose: false,
      nxJsonConfiguration: { defaultBase },
    }) as unknown as ExecutorContext;
  const deps = (env: Record<string, string>, stop: Promise<void> = Promise.resolve()) => {
    const lines: string[] = [];
    const d: CacheServeDeps = { env, log: (l) => lines.push(l), untilStopped: () => stop };
    return { d, lines };
  };

  it('refuses a missing store, a bad port or pid, and a URL file outside the workspace, starting nothing', async () => {
    await expect(cacheServeWith({}, context(), deps({}).d)).rejects.toMatchObject({
      code: 'OPTIONS_INVALID',
      hint: expect.stringContaining('BIOME_NX_CACHE'),
    });
    await expect(cacheServeWith({ url: 'file://cache', port: 70000 }, context(), deps({}).d)).rejects.toMatchObject({
      code: 'OPTIONS_INVALID',
    });
    await expect(cacheServeWith({ url: 'file://cache', watchPid: -1 }, context(), deps({}).d)).rejects.toMatchObject({
      code: 'OPTIONS_INVALID',
    });
    await expect(
      cacheServeWith({ url: 'file://cache', urlFile: '../out.url' }, context(), deps({}).d),
    ).rejects.toMatchObject({ code: 'OPTIONS_INVALID' });
    await expect(cacheServeWith({ url: 'ftp://x' }, context(), deps({}).d)).rejects.toMatchObject({
      code: 'STORE_URL_INVALID',
    });
    expect(existsSync(join(root, '../out.url'))).toBe(false);
  });

  it('--dryRun names the store and the scopes, from the CI ref and the default branch (nx.json defaultBase)', async () => {
    const { d, lines } = deps({ BIOME_NX_CACHE: 'file://cache', CI_COMMIT_REF_NAME: 'feature/x' });
    await cacheServeWith({ dryRun: true, urlFile: 'dist/ci/url' }, context('trunk'), d);
    expect(lines.join('\n')).toMatch(
      /would serve store file:\/\/.*cache, writes branches\/feature~2fx\/, reads branches\/feature~2fx\/ then main\//,
    );
    expect(existsSync(join(root, 'dist/ci/url'))).toBe(false);
    const main = deps({ BIOME_NX_CACHE: 'file://cache', CI_COMMIT_REF_NAME: 'trunk' });
    await cacheServeWith({ dryRun: true }, context('trunk'), main.d);
    expect(main.lines.join('\n')).toContain('writes main/, reads main/');
  });

  it('a job signed in with an ID token writes the folder of its token subject; a stated scope wins; a job with no ref writes nothing', async () => {
    const token = join(root, 'id-token');
    await writeFile(
      token,
      `e30.${Buffer.from(JSON.stringify({ sub: 'project_path:geo/platform:ref_type:branch:ref:feat' })).toString('base64url')}.sig\n`,
    );
    const branch = deps({
      BIOME_NX_CACHE: 'file://cache',
      CI_COMMIT_REF_NAME: 'feat',
      AWS_WEB_IDENTITY_TOKEN_FILE: token,
    });
    await cacheServeWith({ dryRun: true }, context('main'), branch.d);
    expect(branch.lines.join('\n')).toContain(
      'writes branches/project_path:geo/platform:ref_type:branch:ref:feat/~/, reads branches/project_path:geo/platform:ref_type:branch:ref:feat/~/ then main/',
    );
    const pipeline = deps({
      BIOME_NX_CACHE: 'file://cache',
      BIOME_NX_CACHE_SCOPE: 'main',
      CODEBUILD_SOURCE_VERSION: 'a'.repeat(40),
    });
    await cacheServeWith({ dryRun: true }, context('main'), pipeline.d);
    expect(pipeline.lines.join('\n')).toContain('writes main/, reads main/');
    const anonymous = deps({ BIOME_NX_CACHE: 'file://cache' });
    await cacheServeWith({ dryRun: true }, context('main'), anonymous.d);
    expect(anonymous.lines.join('\n')).toContain('writes nothing, reads main/');
  });

  it('serves until stopped, writes its URL, and prints what it did', async () => {
    let stop!: () => void;
    const { d, lines } = deps(
      { BIOME_NX_CACHE: 'file://cache', CI_COMMIT_REF_NAME: 'main', NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: 't0ken' },
      new Promise<void>((r) => (stop = r)),
    );
    const running = cacheServeWith({ urlFile: 'dist/ci/nx-cache.url' }, context('main'), d);
    while (!existsSync(join(root, 'dist/ci/nx-cache.url'))) await new Promise((r) => setTimeout(r, 50));
    const url = (await readFile(join(root, 'dist/ci/nx-cache.url'), 'utf8')).trim();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${url}/v1/cache/123`)).status).toBe(401);
    expect((await fetch(`${url}/v1/cache/123`, { headers: { authorization: 'Bearer t0ken' } })).status).toBe(404);
    stop();
    await running;
    expect(lines.at(-1)).toBe('nx cache: 0 hits, 1 misses, 0 stored, 0 already there, 0 store errors, 1 rejected');
  });
});
