import type { ExecutorContext } from '@nx/devkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCodeBuild } from '../../tools/nx-biome/src/adapters/codebuild';
import { createGit } from '../../tools/nx-biome/src/adapters/git';
import { CodeBuildOptions, defaultCodeBuildProject } from '../../tools/nx-biome/src/core/codebuild';
import { codebuildWith } from '../../tools/nx-biome/src/executors/codebuild/executor';
import { runExecutor } from '../../tools/nx-biome/src/executors/run';
import { withEnv } from '../support/s3rver';
import { WORKSPACE_ROOT } from '../support/workspace';
import { buildSteps, CodeBuildDouble, startCodeBuildDouble } from './doubles/codebuild';

const SHA = 'a'.repeat(40);
const context = {
  root: WORKSPACE_ROOT,
  cwd: WORKSPACE_ROOT,
  isVerbose: false,
  projectName: 'infra',
} as unknown as ExecutorContext;

describe('codebuild runner against a CodeBuild JSON 1.1 double, through the real SDK client', () => {
  let double: CodeBuildDouble;
  beforeAll(async () => {
    double = await startCodeBuildDouble({
      'geo-deploy': buildSteps('FINALIZING', 'SUCCEEDED'),
      'geo-broken': buildSteps('BUILD', 'FAILED', {
        statusCode: 'COMMAND_EXECUTION_ERROR',
        message: 'Error while executing command: npx nx affected -t deploy. Reason: exit status 1',
      }),
      'geo-stuck': buildSteps('BUILD', 'IN_PROGRESS'),
    });
  });
  afterAll(async () => double?.stop());

  /** Runs the executor the way Nx does (one top-level handler) and captures what a user sees. */
  async function run(options: Partial<CodeBuildOptions>, env: Record<string, string> = {}) {
    const lines: string[] = [];
    const errors: string[] = [];
    const originalError = console.error;
    console.error = (...args: unknown[]) => errors.push(args.join(' '));
    const started = Date.now();
    try {
      const result = await withEnv({ ...double.env, ...env }, () =>
        runExecutor('codebuild', () =>
          codebuildWith({ buildspec: 'deploy', sourceVersion: SHA, pollSeconds: 0.02, ...options }, context, {
            codebuild: createCodeBuild(),
            git: createGit(WORKSPACE_ROOT),
            env: { GITLAB_USER_LOGIN: 'bob', CI_JOB_URL: 'https://gitlab.example.invalid/geo/jobs/7', ...env },
            now: () => Date.now(),
            sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
            log: (line) => lines.push(line),
          }),
        ),
      );
      return { ...result, log: lines.join('\n'), error: errors.join('\n'), ms: Date.now() - started };
    } finally {
      console.error = originalError;
    }
  }

  it('starts the build with the buildspec, the commit and the variables, shows each phase, and succeeds', async () => {
    const r = await run({ codebuildProject: 'geo-deploy', biome: 'dev-mr-1', baseFallback: 'b'.repeat(40) });
    expect(r.success, r.error).toBe(true);
    const start = double.calls.find((c) => c.operation === 'StartBuild' && c.body.projectName === 'geo-deploy')!.body;
    expect(start.sourceVersion).toBe(SHA);
    expect(start.buildspecOverride).toBe('buildspecs/deploy.yml');
    expect(start.environmentVariablesOverride).toEqual([
      { name: 'BASE_FALLBACK', value: 'b'.repeat(40), type: 'PLAINTEXT' },
      { name: 'BIOME', value: 'dev-mr-1', type: 'PLAINTEXT' },
      { name: 'CI_JOB_URL', value: 'https://gitlab.example.invalid/geo/jobs/7', type: 'PLAINTEXT' },
      { name: 'GITLAB_USER_LOGIN', value: 'bob', type: 'PLAINTEXT' },
    ]);
    // Phases appear once each, in order, and the end result is reported.
    const phases = [...r.log.matchAll(/^ {2}(\w+)\s+SUCCEEDED/gm)].map((m) => m[1]);
    expect(phases).toEqual([
      'SUBMITTED',
      'QUEUED',
      'PROVISIONING',
      'DOWNLOAD_SOURCE',
      'INSTALL',
      'PRE_BUILD',
      'BUILD',
      'POST_BUILD',
      'UPLOAD_ARTIFACTS',
      'FINALIZING',
    ]);
    expect(r.log).toMatch(/BUILD\s+running…/);
    expect(r.log).toMatch(/build geo-deploy:build-\d+ SUCCEEDED/);
  });

  it('a fixed (main-biome) project gets no buildspec override and only the CI identity, and the run says what it withheld', async () => {
    const before = double.calls.length;
    const r = await run({
      codebuildProject: 'geo-deploy',
      biome: 'dev',
      baseFallback: 'all',
      variables: ['TERRAFORM_APPLY=true'],
      fixedProject: true,
    });
    expect(r.success, r.error).toBe(true);
    const start = double.calls.slice(before).find((c) => c.operation === 'StartBuild')!.body;
    expect(start.buildspecOverride).toBeUndefined();
    expect(start.sourceVersion).toBe(SHA);
    expect(start.environmentVariablesOverride).toEqual([
      { name: 'CI_JOB_URL', value: 'https://gitlab.example.invalid/geo/jobs/7', type: 'PLAINTEXT' },
      { name: 'GITLAB_USER_LOGIN', value: 'bob', type: 'PLAINTEXT' },
    ]);
    expect(r.log).toContain(
      'CodeBuild geo-deploy fixes its buildspec and variables: not sent: BASE_FALLBACK=all, BIOME=dev, TERRAFORM_APPLY=true',
    );
  });

  it("a failed phase fails the run, naming the phase and CodeBuild's message", async () => {
    const r = await run({ codebuildProject: 'geo-broken', biome: 'dev-mr-1' });
    expect(r.success).toBe(false);
    expect(r.error).toMatch(
      /CODEBUILD_FAILED: CodeBuild build geo-broken:build-\d+ \(geo-broken\) ended FAILED: phase BUILD FAILED: COMMAND_EXECUTION_ERROR: Error while executing command: npx nx affected -t deploy\. Reason: exit status 1/,
    );
    expect(r.error).toContain('Logs: https://console.example.invalid/logs/');
  });

  it('a missing CodeBuild project is a clear error, not a stack trace', async () => {
    const r = await run({ codebuildProject: 'geo-nope', biome: 'dev-mr-1' });
    expect(r.success).toBe(false);
    expect(r.error).toMatch(/CODEBUILD_FAILED: CodeBuild project "geo-nope" does not exist in us-east-1/);
    expect(r.error).toMatch(/fix: Create it with the devops stack/);
    expect(r.error).not.toMatch(/internal error/);
  });

  it('a build that outlives --timeoutSeconds is stopped and fails the run', async () => {
    const r = await run({ codebuildProject: 'geo-stuck', biome: 'dev-mr-1', timeoutSeconds: 1 });
    expect(r.success).toBe(false);
    // How far the build got in that second depends on the machine's load: any phase up to BUILD.
    expect(r.error).toMatch(
      /CODEBUILD_FAILED: CodeBuild build geo-stuck:build-\d+ \(geo-stuck\) did not finish within 1 s \(still in (SUBMITTED|QUEUED|PROVISIONING|DOWNLOAD_SOURCE|INSTALL|PRE_BUILD|BUILD)\); it was stopped/,
    );
    const id =
      double.calls.find((c) => c.operation === 'StartBuild' && c.body.projectName === 'geo-stuck') &&
      double.calls.filter((c) => c.operation === 'StopBuild').map((c) => c.body.id);
    expect(id).toEqual([expect.stringMatching(/^geo-stuck:build-\d+$/)]);
    expect(r.ms).toBeLessThan(30_000);
  });

  it('refuses bad options before calling CodeBuild', async () => {
    const before = double.calls.length;
    const noProject = await run({ buildspec: 'buildspecs/custom.yml' });
    expect(noProject.error).toMatch(/OPTIONS_INVALID: No CodeBuild project given/);
    const badBiome = await run({ codebuildProject: 'geo-deploy', biome: 'Dev_Bob' });
    expect(badBiome.error).toMatch(/BIOME_NAME_INVALID/);
    const badSpec = await run({ codebuildProject: 'geo-deploy', buildspec: '../../etc/passwd.yml' });
    expect(badSpec.error).toMatch(/OPTIONS_INVALID: Buildspec "..\/..\/etc\/passwd.yml" is not a known name/);
    expect(double.calls.length).toBe(before);
  });

  it('--dry-run prints the build it would start and starts nothing', async () => {
    const before = double.calls.length;
    const r = await run({ codebuildProject: 'geo-deploy', biome: 'dev-mr-1', dryRun: true });
    expect(r.success, r.error).toBe(true);
    expect(r.log).toContain(`[dry-run] would start CodeBuild project geo-deploy at ${SHA}: buildspecs/deploy.yml`);
    expect(r.log).toMatch(/BIOME\s+│\s+dev-mr-1|BIOME\s+\S?\s*dev-mr-1/);
    expect(double.calls.length).toBe(before);
  });

  it.each([
    [{ buildspec: 'deploy', biome: 'dev-bob' }, 'geo-deploy-dev-sandpit', 'buildspecs/deploy.yml'],
    [{ buildspec: 'deploy', biome: 'dev' }, 'geo-deploy-dev', 'buildspecs/deploy.yml'],
    [{ buildspec: 'destroy', biome: 'dev-mr-7' }, 'geo-destroy-dev', 'buildspecs/destroy.yml'],
    [{ buildspec: 'promote', from: 'dev', to: 'staging' }, 'geo-promote-staging', 'buildspecs/promote.yml'],
  ])(
    "--dry-run %j names the devops stack's project %s without --codebuildProject (the README's command)",
    async (options, project, what) => {
      const r = await run({ ...(options as Partial<CodeBuildOptions>), dryRun: true });
      expect(r.success, r.error).toBe(true);
      expect(r.log).toContain(`[dry-run] would start CodeBuild project ${project} at ${SHA}`);
      expect(r.log).toContain(what);
    },
  );

  it("a main biome's project is a fixed one: the run sends it no buildspec or variables", () => {
    expect(
      defaultCodeBuildProject({
        namePrefix: 'geo',
        buildspec: 'deploy',
        biome: { sandpit: false, environment: { name: 'dev' } },
      }),
    ).toEqual({ name: 'geo-deploy-dev', fixed: true });
    expect(
      defaultCodeBuildProject({
        namePrefix: 'geo',
        buildspec: 'deploy-batch',
        biome: { sandpit: true, environment: { name: 'dev' } },
      }),
    ).toEqual({ name: 'geo-deploy-dev-sandpit', fixed: false });
    expect(defaultCodeBuildProject({ namePrefix: 'geo', buildspec: 'promote', to: 'prod' })).toEqual({
      name: 'geo-promote-prod',
      fixed: true,
    });
    expect(
      defaultCodeBuildProject({
        namePrefix: 'geo',
        buildspec: 'buildspecs/custom.yml',
        biome: { sandpit: true, environment: { name: 'dev' } },
      }),
    ).toBeUndefined();
  });
});
