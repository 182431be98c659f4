import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../tools/nx-biome/src/adapters/store/open-store';
import { startS3rver, S3Server, withEnv } from '../support/s3rver';
import { copyWorkspace, nxEnv, TempWorkspace, WORKSPACE_ROOT } from '../support/workspace';
import { buildSteps, CodeBuildDouble, startCodeBuildDouble } from './doubles/codebuild';
import { GCL_ENTRY } from './gitlab-ci-local';

// This file runs jobs of the real pipeline, and the test job runs vitest: the
// nested run gets NESTED_PIPELINE_TEST=1 and a narrowed VITEST_ARGS, so it can
// never start this file (and the whole suite) again.
const nested = !!process.env.NESTED_PIPELINE_TEST;

// Each job runs the real Nx CLI: generous timeouts, since the suite shares two cores.
describe.skipIf(nested)('the GitLab pipeline, run for real with gitlab-ci-local (shell executor)', () => {
  let ws: TempWorkspace;
  let server: S3Server;
  let codebuild: CodeBuildDouble;
  let base: string;
  let head: string;

  beforeAll(async () => {
    ws = await copyWorkspace('ci-gitlab-');
    base = ws.git('rev-parse', 'HEAD').trim();
    // The merge request: one service changes on a branch.
    ws.git('checkout', '-q', '-b', 'feature/assay');
    const main = join(ws.root, 'apps/services/assay-ingest/src/main.ts');
    await writeFile(main, `${await readFile(main, 'utf8')}\nexport const pipelineVersion = 2;\n`);
    ws.git('commit', '-qam', 'assay-ingest: pipeline version 2');
    head = ws.git('rev-parse', 'HEAD').trim();
    // gitlab-ci-local derives the project from the origin remote (never contacted).
    ws.git('remote', 'add', 'origin', 'https://gitlab.example.invalid/geo/monorepo.git');
    ws.git('update-ref', 'refs/remotes/origin/main', base);
    ws.git('symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main');
    server = await startS3rver(['geo-artifacts-dev']);
    codebuild = await startCodeBuildDouble({ 'geo-deploy-dev-sandpit': buildSteps('BUILD', 'SUCCEEDED') });
  });
  afterAll(async () => {
    await ws?.cleanup();
    await server?.stop();
    await codebuild?.stop();
  });

  /** Runs pipeline jobs with gitlab-ci-local as a merge request pipeline of MR !1. */
  function gcl(jobs: string[], variables: Record<string, string> = {}): Promise<{ code: number; output: string }> {
    const vars: Record<string, string> = {
      CI_PIPELINE_SOURCE: 'merge_request_event',
      CI_MERGE_REQUEST_IID: '1',
      CI_MERGE_REQUEST_DIFF_BASE_SHA: base,
      GITLAB_USER_LOGIN: 'alice',
      NESTED_PIPELINE_TEST: '1',
      BIOME_STORE_DEV: 's3://geo-artifacts-dev',
      ...server.env,
      ...variables,
    };
    const args = [
      GCL_ENTRY,
      '--force-shell-executor',
      '--no-color',
      ...jobs,
      ...Object.entries(vars).flatMap(([k, v]) => ['--variable', `${k}=${v}`]),
    ];
    return new Promise((resolve) => {
      const child = spawn(process.execPath, args, {
        cwd: ws.root,
        env: {
          ...nxEnv(),
          GCL_IGNORE_PREDEFINED_VARS:
            'CI_PIPELINE_SOURCE,CI_MERGE_REQUEST_IID,CI_MERGE_REQUEST_DIFF_BASE_SHA,GITLAB_USER_LOGIN,CI_COMMIT_BRANCH,CI_DEFAULT_BRANCH',
        },
      });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      // eslint-disable-next-line no-control-regex -- strips ANSI colour codes from the job log
      child.on('close', (code) => resolve({ code: code ?? 1, output: output.replace(/\x1b\[[0-9;]*m/g, '') }));
    });
  }
  const keys = (prefix: string) =>
    withEnv(server.env, async () =>
      (await openStore('s3://geo-artifacts-dev', ws.root).list(prefix)).map((o) => o.key),
    );

  it('merge request: verify, deploy to dev-mr-1 what the MR changed, then the stop job destroys the biome', async () => {
    const verify = await gcl(['test', 'build'], { VITEST_ARGS: 'tools/nx-biome/src/core/names.spec.ts' });
    expect(verify.code, verify.output).toBe(0);
    expect(verify.output).toMatch(/names\.spec\.ts/);
    expect(verify.output).toMatch(/Tests\s+\d+ passed/);
    expect(verify.output).toMatch(/nx run assay-ingest:build/);
    // Only what the MR affects (and what that depends on) is built: the model is untouched.
    expect(verify.output).not.toMatch(/nx run ore-grade:build/);

    const deploy = await gcl(['deploy:mr']);
    expect(deploy.code, deploy.output).toBe(0);
    expect(deploy.output).toContain(
      'nx run infra:codebuild --buildspec=deploy --variables=TERRAFORM_APPLY=false --output-style=static --local --biome=dev-mr-1',
    );
    // The MR biome is seeded from dev first; this store has no dev yet, so there is nothing to copy.
    expect(deploy.output).toContain(
      'not seeded: dev records no deployed project yet: nothing to seed, the first deploy deploys every project.',
    );
    expect(deploy.output).toContain('nx run-many -t deploy --biome=dev-mr-1');
    // A new MR biome gets every project, at the MR's commit: a biome that lacks some is no test bed.
    const ledger = await keys('biomes/dev-mr-1/ledger/');
    for (const p of ['assay-ingest', 'grade-predict', 'ore-grade', 'plant-feed'])
      expect(ledger).toContain(`biomes/dev-mr-1/ledger/${p}.json`);
    expect(await keys('artifacts/assay-ingest/')).toEqual([`artifacts/assay-ingest/assay-ingest-${head}.zip`]);
    const record = await withEnv(server.env, async () =>
      JSON.parse(
        (await openStore('s3://geo-artifacts-dev', ws.root).get(
          'biomes/dev-mr-1/ledger/assay-ingest.json',
        ))!.toString(),
      ),
    );
    expect(record).toMatchObject({ biome: 'dev-mr-1', gitSha: head, deployedBy: 'alice' });
    expect(await readFile(join(ws.root, 'dist/terraform/dev-mr-1.tfvars.json'), 'utf8')).toContain(
      `assay-ingest-${head}.zip`,
    );

    const stop = await gcl(['stop:mr']);
    expect(stop.code, stop.output).toBe(0);
    expect(await keys('biomes/dev-mr-1/')).toEqual([]);
    expect(await keys('artifacts/')).toEqual([]);
    // Stopping again (the reaper was first, or the environment stops twice) succeeds and says why.
    const again = await gcl(['stop:mr']);
    expect(again.code, again.output).toBe(0);
    expect(again.output).toMatch(/dev-mr-1 does not exist in \S+: already destroyed, nothing to do/);
  }, 300_000);

  it("BIOME_RUNNER=codebuild hands the same deploy to the environment's CodeBuild project and follows it", async () => {
    const run = await gcl(['deploy:mr'], {
      BIOME_RUNNER: 'codebuild',
      CODEBUILD_POLL_SECONDS: '0.02',
      ...codebuild.env,
    });
    expect(run.code, run.output).toBe(0);
    const start = codebuild.calls.find((c) => c.operation === 'StartBuild')!.body;
    expect(start).toMatchObject({
      projectName: 'geo-deploy-dev-sandpit',
      buildspecOverride: 'buildspecs/deploy.yml',
      sourceVersion: head,
    });
    expect(start.environmentVariablesOverride).toEqual(
      expect.arrayContaining([
        { name: 'BIOME', value: 'dev-mr-1', type: 'PLAINTEXT' },
        { name: 'BASE_FALLBACK', value: 'all', type: 'PLAINTEXT' },
        { name: 'SEED_FROM', value: 'dev', type: 'PLAINTEXT' },
        { name: 'GITLAB_USER_LOGIN', value: 'alice', type: 'PLAINTEXT' },
        { name: 'TERRAFORM_APPLY', value: 'false', type: 'PLAINTEXT' },
      ]),
    );
    expect(run.output).toMatch(/build geo-deploy-dev-sandpit:build-\d+ SUCCEEDED/);
    // Nothing ran here: the store is untouched.
    expect(await keys('biomes/dev-mr-1/')).toEqual([]);
  }, 300_000);

  it('main: a staging promotion that fails leaves promote:prod unrun (gitlab-ci-local honours allow_failure: false)', async () => {
    // dev was never deployed in this store: the promotion fails for real (BIOME_NOT_FOUND).
    const run = await gcl(
      ['promote:staging', 'promote:prod', '--manual', 'promote:staging', '--manual', 'promote:prod'],
      {
        CI_PIPELINE_SOURCE: 'push',
        CI_COMMIT_BRANCH: 'main',
        CI_DEFAULT_BRANCH: 'main',
        CI_MERGE_REQUEST_IID: '',
        CI_MERGE_REQUEST_DIFF_BASE_SHA: '',
        BIOME_STORE_STAGING: 's3://geo-artifacts-dev/staging-copy',
        BIOME_STORE_PROD: 's3://geo-artifacts-dev/prod-copy',
      },
    );
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/promote:staging\s+starting/);
    expect(run.output).toMatch(/BIOME_NOT_FOUND: Biome dev does not exist/);
    expect(run.output).not.toMatch(/promote:prod\s+starting/);
  }, 300_000);

  it('a failing test job fails the pipeline', async () => {
    await mkdir(join(ws.root, 'test/ci-fixture'), { recursive: true });
    await writeFile(
      join(ws.root, 'test/ci-fixture/failing.spec.ts'),
      "import { expect, it } from 'vitest';\nit('breaks', () => expect(1 + 1).toBe(3));\n",
    );
    const run = await gcl(['test'], { VITEST_ARGS: 'test/ci-fixture/failing.spec.ts' });
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/Tests\s+1 failed/);
  }, 300_000);
});

describe('pipeline definition', () => {
  const ci = parse(readFileSync(join(WORKSPACE_ROOT, '.gitlab-ci.yml'), 'utf8'), {
    customTags: [{ tag: '!reference', collection: 'seq', resolve: (v: unknown) => v }],
  });

  it('merge requests get an environment that stops itself, and every biome job is serialised per biome', () => {
    expect(ci['deploy:mr'].environment).toEqual({
      name: 'dev-mr-$CI_MERGE_REQUEST_IID',
      on_stop: 'stop:mr',
      auto_stop_in: '3 days',
    });
    expect(ci['stop:mr'].environment).toEqual({ name: 'dev-mr-$CI_MERGE_REQUEST_IID', action: 'stop' });
    expect(ci['.biome-job'].resource_group).toBe('biome-$CI_ENVIRONMENT_NAME');
    expect(ci['.biome-job'].id_tokens.AWS_ID_TOKEN.aud).toBeTruthy();
    expect(ci.variables.GIT_DEPTH).toBe('0');
    expect(JSON.stringify(ci)).not.toMatch(/AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID/);
  });

  it("every job that writes a main biome holds that biome's resource group, and drift holds the one of the biome it reads", () => {
    const group = (job: string) =>
      (ci[job].resource_group ?? ci['.biome-job'].resource_group).replace(
        '$CI_ENVIRONMENT_NAME',
        ci[job].environment.name,
      );
    // promote:staging writes staging (it reads dev under dev's store lease), promote:prod writes prod.
    expect(group('promote:staging')).toBe('biome-staging');
    expect(group('promote:prod')).toBe('biome-prod');
    expect(group('deploy:dev')).toBe('biome-dev');
    const drift = ci.drift as { resource_group: string; parallel: { matrix: { BIOME: string }[] } };
    for (const { BIOME } of drift.parallel.matrix) {
      const writers = ['deploy:dev', 'promote:staging', 'promote:prod'].filter((j) => ci[j].environment.name === BIOME);
      expect(writers, BIOME).toHaveLength(1);
      expect(drift.resource_group.replace('$BIOME', BIOME)).toBe(group(writers[0]));
    }
  });

  it("the deploy fan-out holds the MR biome's resource group for its whole child pipeline, shards included", () => {
    const trigger = ci['deploy:fanout'];
    expect(trigger.resource_group).toBe('biome-dev-mr-$CI_MERGE_REQUEST_IID');
    expect(trigger.environment).toEqual(ci['deploy:mr'].environment);
    // strategy: depend makes the trigger job (and so its resource group) last until the child pipeline ends.
    expect(trigger.trigger).toEqual({ include: '.gitlab/ci/deploy-fanout.yml', strategy: 'depend' });
    expect(trigger.variables.BIOME).toBe('dev-mr-$CI_MERGE_REQUEST_IID');
    const child = parse(readFileSync(join(WORKSPACE_ROOT, trigger.trigger.include), 'utf8'));
    const jobs = Object.keys(child).filter((k) => k.startsWith('deploy:fanout:'));
    expect(jobs).toEqual(['deploy:fanout:plan', 'deploy:fanout:shard', 'deploy:fanout:render']);
    expect(child['deploy:fanout:shard'].parallel).toBe(4);
    // The render job gets the plan's BASE, so with every shard done it records the run from it as complete.
    expect(child['deploy:fanout:render'].needs).toEqual(['deploy:fanout:plan', 'deploy:fanout:shard']);
    expect(child['deploy:fanout:render'].script.join('\n')).toContain('--variables="BASE=$BASE"');
    // Nothing of the fan-out writes the biome outside the child pipeline the trigger job waits for.
    expect(Object.keys(ci).filter((k) => k.startsWith('deploy:fanout'))).toEqual(['deploy:fanout']);
    // The child's copy of .biome-job's setup (it cannot !reference the parent's) stays the same.
    expect(child['.fanout-job'].before_script).toEqual(ci['.biome-job'].before_script);
    expect(child['.fanout-job'].id_tokens).toEqual(ci['.biome-job'].id_tokens);
    expect(child.default.image).toBe(ci.default.image);
  });

  /** Runs the personal-biome script as a job of environment `environment` would, by `login`; its BIOME and exit code. */
  const personalBiome = (environment: string, login = 'bob.smith') =>
    new Promise<{ biome: string; code: number }>((resolve) => {
      const script = ci['.personal-biome'].script[0] as string;
      const child = spawn('bash', ['-c', `${script}\nprintf '%s' "$BIOME"`], {
        env: { PATH: process.env.PATH, CI_ENVIRONMENT_NAME: environment, GITLAB_USER_LOGIN: login },
      });
      let s = '';
      child.stdout.on('data', (d) => (s += d));
      child.on('close', (code) => resolve({ biome: s.split('\n').pop()!, code: code ?? 1 }));
    });

  it('the personal biome is dev-u<GitLab user id>, read from the environment the pipeline fixed (whoever runs the stop job)', async () => {
    expect(ci['.personal-biome'].environment).toEqual({ name: 'personal/dev-u$GITLAB_USER_ID' });
    // Logins that used to meet in one biome (bob.smith, bob_smith, Bob-Smith) have different ids.
    for (const [id, login] of [
      ['42', 'bob.smith'],
      ['43', 'bob_smith'],
      ['44', 'Bob-Smith'],
      ['9223372036854775807', 'x'],
    ]) {
      const { biome, code } = await personalBiome(`personal/dev-u${id}`, login);
      expect(code).toBe(0);
      expect(biome).toBe(`dev-u${id}`);
      expect(biome.length).toBeLessThanOrEqual(24);
      expect(biome).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
    }
  });

  it.each([
    ['personal/dev-u'],
    ['personal/dev-bob'],
    ['personal/dev-u12a'],
    ['personal/dev-u0'],
    ['dev'],
    ['personal/dev-u1-x'],
    [''],
  ])('refuses environment %j', async (environment) => {
    expect((await personalBiome(environment)).code).not.toBe(0);
  });
});
