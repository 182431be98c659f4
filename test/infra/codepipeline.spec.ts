import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { Block, INFRA_ROOT, loadTerraformDir, policyStatements, TerraformDir } from './hcl';

/**
 * The devops stack's CodePipeline, the CodeBuild trust split and build cache,
 * read statically (HCL parsed by @cdktf/hcl2json). The same stack is planned
 * with mocked providers by infra/stacks/devops/tests/pipeline.tftest.hcl, which
 * terraform-real.spec.ts runs with the devops stack's other `terraform test`s.
 */

const DEVOPS = join(INFRA_ROOT, 'stacks/devops');
let devops: TerraformDir;
let module: TerraformDir;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed HCL, explored by path
const first = (v: unknown): any => (Array.isArray(v) ? v[0] : v);

beforeAll(async () => {
  devops = await loadTerraformDir(DEVOPS);
  module = await loadTerraformDir(join(INFRA_ROOT, 'modules/codebuild-job'));
});

describe('CodePipeline (V2) in the devops stack', () => {
  it('is a V2 pipeline, only when main_orchestrator is codepipeline, started by pushes to the pipeline branch', () => {
    const pipeline = devops.resources.aws_codepipeline.main;
    expect(pipeline).toMatchObject({ count: '${local.use_pipeline ? 1 : 0}', pipeline_type: 'V2' });
    expect(JSON.stringify(devops.locals)).toContain('var.main_orchestrator == \\"codepipeline\\"');
    const trigger = first(pipeline.trigger);
    expect(trigger.provider_type).toBe('CodeStarSourceConnection');
    expect(first(first(first(first(trigger.git_configuration).push).branches).includes)).toBe('${var.pipeline_branch}');
    expect(JSON.stringify(devops.variables.main_orchestrator.validation)).toContain(
      '[\\"gitlab\\", \\"codepipeline\\"]',
    );
  });

  it('takes its source from GitLab through a CodeConnections connection, as a full clone for the builds', () => {
    const source = first(devops.resources.aws_codepipeline.main.stage);
    expect(source.name).toBe('Source');
    const action = first(source.action);
    expect(action).toMatchObject({
      category: 'Source',
      owner: 'AWS',
      provider: 'CodeStarSourceConnection',
      output_artifacts: ['source'],
    });
    expect(action.configuration).toMatchObject({
      ConnectionArn: '${local.source_connection_arn}',
      FullRepositoryId: '${var.gitlab_project_path}',
      BranchName: '${var.pipeline_branch}',
      OutputArtifactFormat: 'CODEBUILD_CLONE_REF',
    });
    const connection = devops.resources.aws_codestarconnections_connection.gitlab;
    expect(connection.provider_type).toContain('GitLab');
    expect(connection.host_arn).toContain('aws_codestarconnections_host.gitlab[0].arn');
    expect(JSON.stringify(devops.variables.gitlab_provider_type.validation)).toContain(
      '[\\"GitLab\\", \\"GitLabSelfManaged\\"]',
    );
  });

  it('then deploys the first environment and, for each next one, a manual approval and a promotion; a failure fails the stage', () => {
    const steps = JSON.stringify(devops.locals.find((l) => 'pipeline_steps' in l)!.pipeline_steps);
    expect(steps).toMatch(/Deploy\$\{title\(local\.first_env\)\}.*deploy-\$\{local\.first_env\}/);
    expect(steps).toMatch(/Approve\$\{title\(env\)\}.*approval = true.*Promote\$\{title\(env\)\}.*promote-\$\{env\}/);
    const dynamicStage = first(first(devops.resources.aws_codepipeline.main.dynamic).stage);
    const content = first(dynamicStage.content);
    expect(first(content.on_failure).result).toBe('FAIL');
    const [approval, build] = content.dynamic.action.map((a: Block) => first(a.content));
    expect(approval).toMatchObject({ category: 'Approval', provider: 'Manual' });
    expect(build).toMatchObject({ category: 'Build', provider: 'CodeBuild', input_artifacts: ['source'] });
    expect(build.configuration).toEqual({ ProjectName: '${module.codebuild[action.value.project].project_name}' });
  });

  it('its role may start only the main-biome projects it runs and use only its connection and artifact store', () => {
    const statements = policyStatements(devops).filter((s) => s.document === 'pipeline');
    expect(statements.map((s) => JSON.stringify(s.actions)).join()).not.toMatch(/"\*"|codebuild:\*/);
    expect(
      JSON.stringify(statements.find((s) => JSON.stringify(s.actions).includes('codebuild:StartBuild'))!.resources),
    ).toContain('local.pipeline_projects');
  });

  it("nx-biome's GitLab pipeline and the stack agree on the orchestrator switch, and GitLab stands down when CodePipeline drives", () => {
    const ci = parse(readFileSync(join(INFRA_ROOT, '../.gitlab-ci.yml'), 'utf8'), {
      customTags: [{ tag: '!reference', collection: 'seq', resolve: (v: unknown) => v }],
    });
    expect(ci.variables.MAIN_ORCHESTRATOR).toBe(devops.variables.main_orchestrator.default);
    for (const job of ['deploy:dev', 'promote:staging', 'promote:prod'])
      expect(ci[job].rules[0].if, job).toContain('$MAIN_ORCHESTRATOR != "codepipeline"');
  });
});

describe('CodeBuild projects split by trust', () => {
  it('every job is sandpit or main; the main ones fix the biome, and IAM denies overriding buildspec, source, role, image and variables', () => {
    const jobs = JSON.stringify(devops.locals.find((l) => 'jobs' in l)!.jobs);
    expect(jobs).toContain('deploy-${env}-sandpit');
    expect(jobs.match(/trust = \\"(sandpit|main)\\"/g)!.length).toBe(4);
    const settings = JSON.stringify(devops.locals.find((l) => 'job_settings' in l)!.job_settings);
    expect(settings).toMatch(/ALLOWED_BIOMES = \\"\$\{job\.env\}-\*\\"/);
    expect(settings).toMatch(/BIOME += job\.env/);
    expect(settings).toMatch(/ALLOWED_PROMOTIONS = \\"\$\{job\.from\}:\$\{job\.env\}\\"/);

    const deny = policyStatements(devops).filter((s) => s.document === 'main_projects_fixed');
    expect(
      deny.every((s) => s.effect === 'Deny' && JSON.stringify(s.resources).includes('local.main_project_arns')),
    ).toBe(true);
    const conditions = deny.flatMap((s) =>
      s.conditions.map((c) => `${c.test} ${c.variable} ${JSON.stringify(c.values)}`),
    );
    expect(conditions).toEqual(
      expect.arrayContaining([
        'Null codebuild:source.buildspec ["false"]',
        'Null codebuild:source.location ["false"]',
        'Null codebuild:serviceRole ["false"]',
        'Null codebuild:environment.image ["false"]',
        'ForAnyValue:StringNotEquals codebuild:environment.environmentVariables.name "${local.ci_identity_variables}"',
      ]),
    );
    const attached = devops.resources.aws_iam_role_policy_attachment.main_projects_fixed;
    expect(JSON.stringify(attached.for_each)).toMatch(
      /aws_iam_role\.gitlab_release\.name[\s\S]*aws_iam_role\.gitlab_sandpit\.name/,
    );
  });

  it("sandpit roles (CodeBuild and GitLab) may not write or delete a main biome's keys", () => {
    const [s] = policyStatements(devops).filter((x) => x.document === 'sandpit_not_main_biomes');
    expect(s.effect).toBe('Deny');
    expect(JSON.stringify(s.actions)).toContain('s3:PutObject');
    expect(JSON.stringify(s.resources)).toContain('/biomes/${env}/*');
    expect(JSON.stringify(devops.resources.aws_iam_role_policy.sandpit_not_main_biomes.for_each)).toMatch(
      /local\.sandpit_project_keys[\s\S]*gitlab_sandpit/,
    );
  });

  it('the GitLab sandpit role may start sandpit projects only', () => {
    expect(JSON.stringify(devops.locals)).toContain('job.trust == \\"sandpit\\"');
  });
});

describe('the CodeBuild build cache', () => {
  it("codebuild-job has a cache (LOCAL by default, or S3 with the role allowed on its prefix) that the buildspecs' cache.paths use", () => {
    const cache = first(module.resources.aws_codebuild_project.this.cache);
    expect(cache).toMatchObject({ type: '${var.cache.type}' });
    expect(module.variables.cache.default).toEqual({ type: 'LOCAL' });
    expect(JSON.stringify(module.variables.cache.type)).toContain('LOCAL_CUSTOM_CACHE');
    expect(
      JSON.stringify(
        policyStatements(module)
          .filter((s) => s.source.includes('data.aws_iam_policy_document.this'))
          .map((s) => s.actions),
      ),
    ).toContain('s3:PutObject');
    for (const spec of ['deploy', 'promote', 'destroy']) {
      const doc = parse(readFileSync(join(INFRA_ROOT, '../buildspecs', `${spec}.yml`), 'utf8'));
      expect(doc.cache.paths, spec).toEqual(expect.arrayContaining(['.nx/cache/**/*', '/root/.npm/**/*']));
    }
  });

  it('the devops stack gives every project its own cache (per-project S3 prefix when build_cache_bucket is set)', () => {
    expect(devops.modules.codebuild.cache).toBe('${local.job_settings[each.key].cache}');
    expect(JSON.stringify(devops.locals.find((l) => 'job_settings' in l)!.job_settings)).toContain(
      'codebuild-cache/${var.name_prefix}-${key}',
    );
  });
});

describe('CodeBuild batch builds (the deploy fan-out)', () => {
  it('every project accepts a batch of at most 8 builds of its own compute type, run by its own role', () => {
    const project = module.resources.aws_codebuild_project.this;
    const batch = first(first(project.dynamic).build_batch_config);
    expect(batch.for_each).toBe('${var.batch_builds == null ? [] : [var.batch_builds]}');
    const content = first(batch.content);
    expect(content).toMatchObject({ service_role: '${aws_iam_role.this.arn}', combine_artifacts: false });
    expect(first(content.restrictions)).toMatchObject({
      maximum_builds_allowed: '${build_batch_config.value.maximum_builds}',
      compute_types_allowed: ['${var.compute_type}'],
    });
    expect(module.variables.batch_builds.default).toEqual({ maximum_builds: 8, timeout_minutes: 120 });
  });

  it('the role may start, stop and retry builds of its own project only', () => {
    const statement = policyStatements(module).find((s) => s.actions.includes('codebuild:StartBuild'));
    expect(statement?.actions.sort()).toEqual(['codebuild:RetryBuild', 'codebuild:StartBuild', 'codebuild:StopBuild']);
    expect(JSON.stringify(module.locals)).toContain(
      ':codebuild:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:project/${var.name}',
    );
  });
});
