import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ciRunnerName, requireExplicitStore, requireExplicitStores } from '../../tools/nx-biome/src/core/ci-store';
import { parseWorkspaceConfig } from '../../tools/nx-biome/src/core/config';
import { copyWorkspace, TempWorkspace } from '../support/workspace';

const config = parseWorkspaceConfig({
  namePrefix: 'geo',
  promotionOrder: ['dev', 'staging'],
  environments: {
    dev: { account: '111111111111', region: 'ap-southeast-2', multiTenant: true },
    staging: { account: '222222222222', region: 'ap-southeast-2', store: 's3://geo-staging-store' },
  },
});

describe('in GitLab CI or CodeBuild, a store must be configured explicitly', () => {
  it('the runner is recognised by GITLAB_CI=true or CODEBUILD_BUILD_ID, not by CI=true', () => {
    expect(ciRunnerName({ CI: 'true' })).toBeUndefined();
    expect(ciRunnerName({ GITLAB_CI: 'false', CI: 'true' })).toBeUndefined();
    expect(ciRunnerName({ GITLAB_CI: 'true' })).toBe('GitLab CI');
    expect(ciRunnerName({ CODEBUILD_BUILD_ID: 'geo-deploy-dev:1' })).toBe('CodeBuild');
  });

  it('no store in GitLab CI is STORE_NOT_CONFIGURED, naming the variables and nx-biome.json', () => {
    expect(() => requireExplicitStore(config.environments.dev, { GITLAB_CI: 'true' })).toThrow(
      expect.objectContaining({
        code: 'STORE_NOT_CONFIGURED',
        message: expect.stringContaining('No store is configured for environment dev in GitLab CI'),
        hint: expect.stringMatching(/BIOME_STORE_DEV \(or BIOME_STORE\)[\s\S]*environments\.dev in nx-biome\.json/),
      }),
    );
    expect(() => requireExplicitStore(config.environments.dev, { CODEBUILD_BUILD_ID: 'x:1' })).toThrow(/in CodeBuild/);
  });

  it("a variable or the environment's configured store satisfies it; outside CI the local store stays the default", () => {
    expect(() =>
      requireExplicitStore(config.environments.dev, { GITLAB_CI: 'true', BIOME_STORE_DEV: 's3://b' }),
    ).not.toThrow();
    expect(() =>
      requireExplicitStore(config.environments.dev, { GITLAB_CI: 'true', BIOME_STORE: 's3://b' }),
    ).not.toThrow();
    expect(() => requireExplicitStore(config.environments.staging, { GITLAB_CI: 'true' })).not.toThrow();
    expect(() => requireExplicitStore(config.environments.dev, { CI: 'true' })).not.toThrow();
    expect(() => requireExplicitStores(config, ['staging', 'dev'], { CODEBUILD_BUILD_ID: 'x:1' })).toThrow(
      /environment dev/,
    );
  });
});

describe('the Nx CLI under a CI runner without a store, and idempotent stop jobs', () => {
  let ws: TempWorkspace;
  beforeAll(async () => {
    ws = await copyWorkspace('ci-store-');
  });
  afterAll(async () => ws?.cleanup());

  it('a command that opens the store fails with STORE_NOT_CONFIGURED under GITLAB_CI=true and writes no local store', async () => {
    const run = await ws.nx(['run', 'infra:biome-list', '--output-style=static'], { GITLAB_CI: 'true' });
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/STORE_NOT_CONFIGURED: No store is configured for environment dev in GitLab CI/);
    expect(run.output).toMatch(/fix: Set BIOME_STORE_DEV/);
    expect(existsSync(join(ws.root, '.biome-store'))).toBe(false);
  }, 300_000);

  it('a deploy under GITLAB_CI=true with no store fails once, before any task runs, and uploads nothing', async () => {
    const run = await ws.nx(
      ['run-many', '-t', 'deploy', '--biome=dev-ci', '--projects=assay-ingest', '--output-style=static'],
      { GITLAB_CI: 'true' },
    );
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/STORE_NOT_CONFIGURED: No store is configured for environment dev in GitLab CI/);
    expect(run.output).not.toMatch(/nx run assay-ingest:(build|package|deploy)/);
    expect(run.output).not.toMatch(/uploaded/);
    expect(existsSync(join(ws.root, '.biome-store'))).toBe(false);
  }, 300_000);

  it("the CodeBuild runner's local mode refuses before any phase runs", async () => {
    const run = await ws.nx(
      ['run', 'infra:codebuild', '--buildspec=deploy', '--local', '--biome=dev-x', '--output-style=static'],
      { CODEBUILD_BUILD_ID: 'geo-deploy-dev-sandpit:1' },
    );
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/STORE_NOT_CONFIGURED: No store is configured for environment dev in CodeBuild/);
    expect(run.output).not.toMatch(/INSTALL\s+running/);
  }, 300_000);

  it('with a store configured, or with CI=true alone, the same command runs', async () => {
    const store = `file://${join(ws.root, 'explicit-store')}`;
    expect(
      (await ws.nx(['run', 'infra:biome-list', '--output-style=static'], { GITLAB_CI: 'true', BIOME_STORE: store }))
        .code,
    ).toBe(0);
    expect((await ws.nx(['run', 'infra:biome-list', '--output-style=static'], { CI: 'true' })).code).toBe(0);
  }, 300_000);

  it('destroying a biome that is gone: BIOME_NOT_FOUND, or with --ifExists success that says so', async () => {
    const strict = await ws.nx(['run', 'infra:biome-destroy', '--biome=dev-mr-9', '--output-style=static']);
    expect(strict.code).not.toBe(0);
    expect(strict.output).toMatch(/BIOME_NOT_FOUND: Biome dev-mr-9 does not exist/);
    const lenient = await ws.nx([
      'run',
      'infra:biome-destroy',
      '--biome=dev-mr-9',
      '--ifExists',
      '--output-style=static',
    ]);
    expect(lenient.code, lenient.output).toBe(0);
    expect(lenient.output).toMatch(/dev-mr-9 does not exist in file:.*: already destroyed, nothing to do/);
    // Main biomes stay protected whatever the flag.
    const main = await ws.nx(['run', 'infra:biome-destroy', '--biome=dev', '--ifExists', '--output-style=static']);
    expect(main.output).toMatch(/BIOME_MAIN_PROTECTED/);
  }, 300_000);
});
