import { parse } from '@cdktf/hcl2json';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEPLOYED_AT_TAG,
  GIT_SHA_TAG,
  INCARNATION_TAG,
  SEQUENCE_TAG,
} from '../../apps/services/artifact-deployer/src/decide';
import { LedgerRecord } from '../../tools/nx-biome/src/core/ledger';
import { parseBiomeName } from '../../tools/nx-biome/src/core/names';
import { testConfig } from '../../tools/nx-biome/src/core/test-config';
import { renderTfvars } from '../../tools/nx-biome/src/core/tfvars';
import {
  checkTfvars,
  HclValue,
  INFRA_ROOT,
  isDirWithTf,
  listTfFiles,
  loadTerraformDir,
  loadWithModules,
  parseExpression,
  parseTypeExpression,
  policyStatements,
  show,
  strings,
  TerraformDir,
  terraformDirs,
  variableReferences,
} from './hcl';

const BIOME_STACK = join(INFRA_ROOT, 'stacks/biome');
const DEVOPS_STACK = join(INFRA_ROOT, 'stacks/devops');
const MODULE_META = new Set(['source', 'version', 'for_each', 'count', 'providers', 'depends_on']);

let configs: TerraformDir[];
const configOf = (dir: string) => configs.find((c) => c.dir === dir)!;

beforeAll(async () => {
  configs = await Promise.all(terraformDirs().map(loadTerraformDir));
});

describe('Terraform code in infra/ (static checks)', () => {
  it('has the three stacks and the modules, each module with main/variables/outputs/versions.tf and a README', () => {
    const dirs = configs.map((c) => show(c.dir));
    expect(dirs).toEqual(expect.arrayContaining(['infra/stacks/devops', 'infra/stacks/shared', 'infra/stacks/biome']));
    const modules = readdirSync(join(INFRA_ROOT, 'modules')).sort();
    expect(modules).toEqual(
      expect.arrayContaining([
        'artifact-bucket',
        'codebuild-job',
        'database-schema',
        'lambda-service',
        'model-placement',
        'state-machine',
      ]),
    );
    for (const m of modules) {
      for (const f of ['main.tf', 'variables.tf', 'outputs.tf', 'versions.tf', 'README.md'])
        expect(existsSync(join(INFRA_ROOT, 'modules', m, f)), `modules/${m}/${f}`).toBe(true);
    }
  });

  it('every .tf and .tfbackend file parses as HCL', async () => {
    const files = [...listTfFiles(INFRA_ROOT), ...listTfFiles(INFRA_ROOT, '.tfbackend')];
    expect(files.length).toBeGreaterThan(30);
    const failures: string[] = [];
    for (const f of files)
      await parse(f, readFileSync(f, 'utf8')).catch((e: Error) => failures.push(`${show(f)}: ${e.message}`));
    expect(failures).toEqual([]);
    // The parser is strict: a broken block is reported, not skipped.
    await expect(parse('broken.tf', 'variable "x" { type = string description = "y" }')).rejects.toThrow();
  });

  it('every variable has a description and a type that parses; names are snake_case', () => {
    const problems: string[] = [];
    for (const c of configs) {
      for (const [name, v] of Object.entries(c.variables)) {
        const where = `${show(c.dir)}: variable "${name}"`;
        if (!/^[a-z][a-z0-9_]*$/.test(name)) problems.push(`${where} is not snake_case`);
        if (typeof v.description !== 'string' || v.description.trim().length < 10)
          problems.push(`${where} has no description`);
        if (typeof v.type !== 'string') problems.push(`${where} has no type`);
        else {
          try {
            parseTypeExpression(v.type, name);
          } catch (e) {
            problems.push(`${where}: ${(e as Error).message}`);
          }
        }
      }
      for (const [name, o] of Object.entries(c.outputs))
        if (typeof o.description !== 'string') problems.push(`${show(c.dir)}: output "${name}" has no description`);
    }
    expect(problems).toEqual([]);
  });

  it('every module source resolves to a folder of .tf files, and every module call passes only declared variables and all required ones', async () => {
    const problems: string[] = [];
    let calls = 0;
    for (const c of configs) {
      for (const [name, m] of Object.entries(c.modules)) {
        calls++;
        const source = String(m.source);
        const target = resolve(c.dir, source);
        if (!source.startsWith('../') && !source.startsWith('./'))
          problems.push(`${show(c.dir)}: module "${name}" uses a non-local source ${source}`);
        if (!isDirWithTf(target)) {
          problems.push(`${show(c.dir)}: module "${name}" source ${source} is not a folder of .tf files`);
          continue;
        }
        const callee = configOf(target) ?? (await loadTerraformDir(target));
        for (const arg of Object.keys(m).filter((k) => !MODULE_META.has(k))) {
          if (!callee.variables[arg])
            problems.push(`${show(c.dir)}: module "${name}" passes ${arg}, which ${show(target)} does not declare`);
        }
        for (const [v, block] of Object.entries(callee.variables)) {
          if (!('default' in block) && !(v in m))
            problems.push(`${show(c.dir)}: module "${name}" does not pass required variable ${v} of ${show(target)}`);
        }
      }
    }
    expect(calls).toBeGreaterThan(8);
    expect(problems).toEqual([]);
  });

  it('every var.x used in a module or stack is declared there, and every declared variable is used', () => {
    const problems: string[] = [];
    for (const c of configs) {
      const used = new Set<string>();
      for (const parsed of Object.values(c.files)) {
        for (const { value } of strings(parsed)) for (const name of variableReferences(value)) used.add(name);
      }
      for (const name of used)
        if (!c.variables[name]) problems.push(`${show(c.dir)}: var.${name} is used but not declared`);
      for (const name of Object.keys(c.variables))
        if (!used.has(name)) problems.push(`${show(c.dir)}: variable "${name}" is declared but never used`);
    }
    expect(problems).toEqual([]);
  });

  it('each module README documents every variable and output of the module', () => {
    const problems: string[] = [];
    for (const c of configs.filter(
      (x) => show(x.dir).startsWith('infra/modules/') || show(x.dir).startsWith('infra/stacks/'),
    )) {
      const readme = join(c.dir, 'README.md');
      if (!existsSync(readme)) {
        problems.push(`${show(c.dir)} has no README.md`);
        continue;
      }
      const text = readFileSync(readme, 'utf8');
      for (const name of [...Object.keys(c.variables), ...Object.keys(c.outputs)])
        if (!text.includes(`\`${name}\``)) problems.push(`${show(readme)} does not mention \`${name}\``);
    }
    expect(problems).toEqual([]);
  });
});

describe('the biome stack', () => {
  it('creates only pay-per-use resources: the exact resource types of the stack and its modules', async () => {
    const all = await loadWithModules(BIOME_STACK);
    expect(all.map((c) => show(c.dir)).sort()).toEqual([
      'infra/modules/database-schema',
      'infra/modules/lambda-service',
      'infra/modules/model-placement',
      'infra/modules/state-machine',
      'infra/stacks/biome',
    ]);
    const types = [...new Set(all.flatMap((c) => Object.keys(c.resources)))].sort();
    expect(types).toEqual([
      'aws_cloudwatch_log_group',
      'aws_iam_role',
      'aws_iam_role_policy',
      'aws_iam_role_policy_attachment',
      'aws_lambda_function',
      'aws_lambda_invocation',
      'aws_s3_bucket',
      'aws_s3_bucket_ownership_controls',
      'aws_s3_bucket_policy',
      'aws_s3_bucket_public_access_block',
      'aws_s3_bucket_server_side_encryption_configuration',
      'aws_s3_object_copy',
      'aws_scheduler_schedule',
      'aws_sfn_alias',
      'aws_sfn_state_machine',
    ]);
    for (const alwaysOn of [
      'aws_db_instance',
      'aws_rds_cluster',
      'aws_sagemaker_endpoint',
      'aws_nat_gateway',
      'aws_lambda_provisioned_concurrency_config',
      'aws_vpc_endpoint',
      'aws_instance',
    ])
      expect(types).not.toContain(alwaysOn);
    const text = all
      .flatMap((c) =>
        listTfFiles(c.dir).filter((f) => f.startsWith(`${c.dir}/`) && !f.slice(c.dir.length + 1).includes('/')),
      )
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    expect(text).not.toMatch(/provisioned_concurrent_executions/);
  });

  it('creates every service, workflow and model with for_each over the rendered maps', () => {
    const biome = configOf(BIOME_STACK);
    expect(biome.modules.service).toMatchObject({
      source: '../../modules/lambda-service',
      for_each: '${var.services}',
    });
    expect(biome.modules.workflow).toMatchObject({
      source: '../../modules/state-machine',
      for_each: '${var.workflows}',
    });
    expect(biome.modules.model).toMatchObject({ source: '../../modules/model-placement', for_each: '${var.models}' });
    expect(biome.modules.service.s3_key).toBe('${each.value.s3_key}');
    expect(biome.modules.service.source_code_hash).toBe('${each.value.source_code_hash}');
  });

  it('sleeps without deleting: asleep gives reserved concurrency 0, disabled schedules and a role without connections', () => {
    const lambda = configOf(join(INFRA_ROOT, 'modules/lambda-service'));
    const fn = lambda.resources.aws_lambda_function.this;
    expect(fn.reserved_concurrent_executions).toBe('${local.reserved_concurrent_executions}');
    expect(JSON.stringify(lambda.locals)).toContain('var.asleep ? 0 : var.reserved_concurrent_executions');
    const biome = configOf(BIOME_STACK);
    expect(biome.modules.service.asleep).toBe('${var.asleep}');
    expect(biome.resources.aws_scheduler_schedule.this.state).toBe('${var.asleep ? "DISABLED" : "ENABLED"}');
    expect(biome.modules.database.asleep).toBe('${var.asleep}');
    expect(
      JSON.stringify(configOf(join(INFRA_ROOT, 'modules/database-schema')).resources.aws_lambda_invocation.this.input),
    ).toContain('connection_limit   = var.asleep ? 0 : var.connection_limit');
  });

  it('tags carry the biome, environment and owner on everything and the git SHA on each project', () => {
    const biome = configOf(BIOME_STACK);
    const provider = biome.providers.find((p) => 'default_tags' in p)!;
    expect(provider.default_tags).toEqual([{ tags: '${local.tags}' }]);
    const locals = JSON.stringify(biome.locals);
    for (const t of ['biome       = var.biome', 'environment = var.environment', 'owner       = var.owner'])
      expect(locals).toContain(t);
    for (const m of ['service', 'workflow', 'model'])
      expect(biome.modules[m].tags).toMatchObject({ git_sha: '${each.value.git_sha}', project: '${each.key}' });
    expect(biome.modules.workflow.git_sha).toBe('${each.value.git_sha}');
  });

  it('allows sandpits only in multi-tenant environments and refuses a workspace other than the biome', () => {
    const biome = configOf(BIOME_STACK);
    const conditions = ((biome.variables.sandpit.validation as { condition: string }[]) ?? []).map((v) => v.condition);
    expect(conditions).toContain('${!var.sandpit || contains(var.multi_tenant_environments, var.environment)}');
    expect(biome.variables.multi_tenant_environments.default).toEqual(['dev']);
    const bucket = biome.resources.aws_s3_bucket.data;
    expect(JSON.stringify(bucket.lifecycle)).toContain('terraform.workspace == local.expected_workspace');
    // The S3 backend's workspace is the biome; HCP Terraform's is <prefix>-<biome> (names are unique per organization).
    expect(JSON.stringify(biome.locals)).toContain(
      'var.state_backend == \\"cloud\\" ? \\"${var.name_prefix}-${var.biome}\\" : var.biome',
    );
  });
});

// ---------------------------------------------------------------------------
// The rendered tfvars against the biome stack's variables
// ---------------------------------------------------------------------------

const SHA_A = 'a'.repeat(40);
const SHA_B = 'b'.repeat(40);
function record(
  project: string,
  kind: LedgerRecord['kind'],
  gitSha: string,
  settings: Record<string, unknown> = {},
): LedgerRecord {
  const ext = kind === 'model' ? 'tar.gz' : 'zip';
  return {
    schemaVersion: 1,
    project,
    kind,
    biome: 'dev-bob',
    environment: 'dev',
    artifactKey: `artifacts/${project}/${project}-${gitSha}.${ext}`,
    sha256: 'f'.repeat(64),
    size: 1,
    gitSha,
    dirty: false,
    deployedAt: '2026-11-20T10:00:00.000Z',
    deployedBy: 'bob',
    settings,
  };
}

/** What the plugin renders for a biome holding one project of each kind (the pure renderer, so all three maps are filled). */
function renderAllKinds(biomeName: string) {
  const config = testConfig();
  return renderTfvars({
    config,
    biome: parseBiomeName(biomeName, config),
    meta: {
      schemaVersion: 1,
      biome: biomeName,
      environment: biomeName.split('-')[0],
      owner: 'bob',
      created: '2026-11-20T10:00:00.000Z',
      expires: null,
      asleep: true,
    },
    records: [
      record('grade-predict', 'service', SHA_B, {
        memorySize: 512,
        timeout: 60,
        model: 'ore-grade',
        environment: { LOG_LEVEL: 'debug' },
      }),
      record('assay-ingest', 'service', SHA_A),
      record('ore-grade', 'model', SHA_A),
      record('plant-feed', 'workflow', SHA_B, {
        definition:
          '{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"${service:assay-ingest}"},"End":true}}}',
      }),
    ],
  }).tfvars as unknown as Record<string, unknown>;
}

describe('tfvars checker (renderer output against infra/stacks/biome variables)', () => {
  it('accepts what the plugin renders for a biome with a service, a workflow and a model, asleep or awake, sandpit or main', () => {
    const variables = configOf(BIOME_STACK).variables;
    for (const b of ['dev-bob', 'dev', 'staging']) {
      const tfvars = renderAllKinds(b);
      expect(
        Object.keys(tfvars.workflows as object).length + Object.keys(tfvars.models as object).length,
      ).toBeGreaterThan(0);
      expect(checkTfvars(tfvars, variables), b).toEqual([]);
    }
  });

  it('fails when a rendered key is not declared: the same check on a copy of the stack with one variable renamed', async () => {
    const copy = await mkdtemp(join(tmpdir(), 'biome-stack-'));
    try {
      await cp(BIOME_STACK, copy, { recursive: true });
      const file = join(copy, 'variables.tf');
      await writeFile(
        file,
        (await readFile(file, 'utf8')).replace('variable "model_prefix" {', 'variable "models_prefix" {'),
      );
      const renamed = await loadTerraformDir(copy);
      const problems = checkTfvars(renderAllKinds('dev-bob'), renamed.variables);
      expect(problems).toContain('"model_prefix" is rendered but not declared as a variable');
      expect(problems).toContain('required variable "models_prefix" (no default) is not set');
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  it('fails on a value of another shape, a missing attribute, an undeclared attribute and an unset required variable', () => {
    const variables = configOf(BIOME_STACK).variables;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a copy to break on purpose, by path
    const tfvars = structuredClone(renderAllKinds('dev-bob')) as Record<string, any>;
    tfvars.services['assay-ingest'].memory_size = '256';
    delete tfvars.services['grade-predict'].function_name;
    tfvars.workflows['plant-feed'].schedule = 'rate(1 hour)';
    tfvars.models['ore-grade'].dirty = 'no';
    delete tfvars.owner;
    expect(checkTfvars(tfvars, variables).sort()).toEqual([
      'models["ore-grade"].dirty: expected bool, got string "no"',
      'required variable "owner" (no default) is not set',
      'services["assay-ingest"].memory_size: expected number, got string "256"',
      'services["grade-predict"]: attribute "function_name" is required by the type but not rendered',
      'workflows["plant-feed"]: attribute "schedule" is rendered but not declared in the type (Terraform would drop it)',
    ]);
  });

  it('reads Terraform type expressions: optional attributes, nested collections, tuples', () => {
    const t = parseTypeExpression(
      '${map(object({\n  a = string\n  b = optional(list(number), [])\n  c = optional(object({ d = bool }))\n  e = tuple([string, set(string)])\n}))}',
    );
    expect(t).toEqual({
      kind: 'map',
      of: {
        kind: 'object',
        attributes: {
          a: { type: { kind: 'string' }, optional: false },
          b: { type: { kind: 'list', of: { kind: 'number' } }, optional: true },
          c: {
            type: { kind: 'object', attributes: { d: { type: { kind: 'bool' }, optional: false } } },
            optional: true,
          },
          e: {
            type: { kind: 'tuple', items: [{ kind: 'string' }, { kind: 'set', of: { kind: 'string' } }] },
            optional: false,
          },
        },
      },
    });
    expect(
      checkTfvars(
        { x: { k: { a: 's', e: ['t', ['u']] } } },
        {
          x: {
            type: '${map(object({ a = string, b = optional(list(number), []), e = tuple([string, set(string)]) }))}',
            description: 'x',
          },
        },
      ),
    ).toEqual([]);
    expect(() => parseTypeExpression('${strng}')).toThrow(/unsupported type/);
  });
});

// ---------------------------------------------------------------------------
// IAM
// ---------------------------------------------------------------------------

/** Actions that support no resource-level permissions, so "*" is their only resource. */
const RESOURCELESS_ACTIONS = new Set([
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
  'ec2:DescribeSubnets',
  'ec2:DescribeVpcs',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeVpcAttribute',
  'states:ValidateStateMachineDefinition',
  'ecr:GetAuthorizationToken',
  'cloudwatch:PutMetricData',
]);

const literal = (v: HclValue) => (typeof v === 'string' ? v : null);

/** Problems of one statement: "*" action on "*" resource, Allow with NotAction, or "*" resource for actions that support resources. */
function policyProblems(s: ReturnType<typeof policyStatements>[number], keyPolicies: Set<string>): string[] {
  const problems: string[] = [];
  if (s.effect === 'unreadable') return [`${s.source}: a policy this check cannot read`];
  if (s.effect !== 'Allow') return problems;
  const actions = s.actions.map(literal);
  const resources = s.resources.map(literal);
  if (actions.includes('*') && (resources.includes('*') || s.resources.length === 0))
    problems.push(`${s.source}: allows action "*" on resource "*"`);
  if (actions.includes('*')) problems.push(`${s.source}: allows action "*"`);
  if (s.notActions.length > 0) problems.push(`${s.source}: Allow with NotAction`);
  // Key policies: "*" means "this key".
  const isKeyPolicy = s.document !== null && keyPolicies.has(s.document);
  if (resources.includes('*') && !isKeyPolicy) {
    for (const a of actions)
      if (a === null || !RESOURCELESS_ACTIONS.has(a))
        problems.push(`${s.source}: allows ${a ?? 'a computed action'} on "*" (that action supports resource ARNs)`);
  }
  return problems;
}

function keyPolicyDocuments(c: TerraformDir): Set<string> {
  const names = new Set<string>();
  for (const key of Object.values(c.resources.aws_kms_key ?? {})) {
    for (const m of String(key.policy ?? '').matchAll(/data\.aws_iam_policy_document\.([\w-]+)/g)) names.add(m[1]);
  }
  return names;
}

describe('IAM policies in infra/', () => {
  it('no policy allows "*" actions, "*" on "*", NotAction, or "*" resources for actions that take an ARN', () => {
    let count = 0;
    const problems: string[] = [];
    for (const c of configs) {
      const keys = keyPolicyDocuments(c);
      for (const s of policyStatements(c)) {
        count++;
        problems.push(...policyProblems(s, keys));
      }
    }
    expect(count).toBeGreaterThan(60);
    expect(problems).toEqual([]);
    // Statements handed to lambda-service and codebuild-job are among those checked.
    const sources = configs.flatMap((c) => policyStatements(c).map((s) => s.source));
    for (const s of [
      'infra/stacks/shared: module.artifact_deployer.policy_statements.UpdateBiomeFunctions',
      'infra/stacks/biome: module.service.policy_statements.UseDataBucketObjects',
      'infra/stacks/devops: module.codebuild.policy_statements.WriteStore',
    ]) {
      expect(sources).toContain(s);
    }
  });

  it('the check catches a bad policy written either way (policy document or jsonencode)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iam-bad-'));
    try {
      await writeFile(
        join(dir, 'main.tf'),
        [
          'data "aws_iam_policy_document" "admin" {',
          '  statement {',
          '    actions   = ["*"]',
          '    resources = ["*"]',
          '  }',
          '}',
          '',
          'resource "aws_iam_role_policy" "inline" {',
          '  name = "x"',
          '  role = "r"',
          '  policy = jsonencode({',
          '    Version = "2012-10-17"',
          '    Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }, { Effect = "Allow", Action = ["s3:GetObject"], Resource = ["*"] }]',
          '  })',
          '}',
          '',
          'module "fn" {',
          '  source = "../fn"',
          '  policy_statements = { ReadAll = { actions = ["s3:GetObject"], resources = ["*"] } }',
          '}',
          '',
          'module "filtered" {',
          '  source = "../fn"',
          '  policy_statements = {',
          '    for sid, s in {',
          '      Tag = { enabled = var.on, actions = ["lambda:TagResource"], resources = ["*"] }',
          '    } : sid => { actions = s.actions, resources = s.resources } if s.enabled',
          '  }',
          '}',
          '',
        ].join('\n'),
      );
      const bad = await loadTerraformDir(dir);
      const problems = policyStatements(bad).flatMap((s) => policyProblems(s, new Set()));
      expect(problems.filter((p) => p.includes('allows action "*" on resource "*"'))).toHaveLength(2);
      expect(problems.some((p) => p.includes('allows s3:GetObject on "*"'))).toBe(true);
      // Statements handed to a module are checked too, written out or filtered with a for expression.
      expect(problems).toContain(
        `${show(dir)}: module.fn.policy_statements.ReadAll: allows s3:GetObject on "*" (that action supports resource ARNs)`,
      );
      expect(problems).toContain(
        `${show(dir)}: module.filtered.policy_statements.Tag: allows lambda:TagResource on "*" (that action supports resource ARNs)`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('GitLab OIDC trust pins the audience, the exact project path, and for the release role the protected refs only', () => {
    const devops = configOf(DEVOPS_STACK);
    expect(devops.resources.aws_iam_openid_connect_provider.gitlab).toMatchObject({
      url: '${var.gitlab_url}',
      client_id_list: ['${var.gitlab_audience}'],
    });
    const trust = policyStatements(devops).filter((s) => s.actions.some((a) => a === 'sts:AssumeRoleWithWebIdentity'));
    expect(trust.map((s) => s.document).sort()).toEqual(['gitlab_release_trust', 'gitlab_sandpit_trust']);
    for (const s of trust) {
      const aud = s.conditions.find((c) => c.variable.endsWith(':aud'))!;
      expect(aud).toMatchObject({ test: 'StringEquals', values: ['${var.gitlab_audience}'] });
      const sub = s.conditions.find((c) => c.variable.endsWith(':sub'))!;
      expect(JSON.stringify(sub.values)).toContain('project_path:${var.gitlab_project_path}:ref_type:');
    }
    const release = trust.find((s) => s.document === 'gitlab_release_trust')!;
    const sub = release.conditions.find((c) => c.variable.endsWith(':sub'))!;
    expect(sub.test).toBe('StringEquals');
    const subjects = parseExpression(sub.values as string);
    expect(JSON.stringify(subjects)).toContain(
      'for ref in var.protected_branches : \\"project_path:${var.gitlab_project_path}:ref_type:branch:ref:${ref}\\"',
    );
    expect(JSON.stringify(subjects)).not.toMatch(/ref:\*/);
    const sandpit = trust.find((s) => s.document === 'gitlab_sandpit_trust')!;
    expect(sandpit.conditions.find((c) => c.variable.endsWith(':sub'))!.values).toEqual([
      'project_path:${var.gitlab_project_path}:ref_type:branch:ref:*',
    ]);
    // The path and refs cannot themselves be wildcards.
    for (const v of ['gitlab_project_path', 'protected_branches', 'protected_tags'])
      expect(JSON.stringify(devops.variables[v].validation), v).toMatch(/regex/);
    expect(devops.variables.gitlab_project_path.default).toBeUndefined();
    // No deploy role trusts the any-branch role (it starts the sandpit CodeBuild projects instead).
    expect(JSON.stringify(devops.locals.find((l) => 'deployers' in l))).not.toContain('gitlab_sandpit');
    expect(JSON.stringify(devops.variables.environments.validation)).toContain(
      '!var.environments[\\"staging\\"].multi_tenant && !var.environments[\\"prod\\"].multi_tenant',
    );
  });

  it('the artifact bucket is versioned, SSE-KMS, private, TLS-only, aborts stale multipart uploads and replicates', () => {
    const m = configOf(join(INFRA_ROOT, 'modules/artifact-bucket'));
    expect(m.resources.aws_s3_bucket_versioning.this.versioning_configuration).toEqual([{ status: 'Enabled' }]);
    expect(JSON.stringify(m.resources.aws_s3_bucket_server_side_encryption_configuration.this)).toContain(
      '"sse_algorithm":"aws:kms"',
    );
    expect(m.resources.aws_s3_bucket_public_access_block.this).toMatchObject({
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    const tls = policyStatements(m).find((s) => s.source.endsWith('.bucket') && s.effect === 'Deny')!;
    expect(tls.conditions).toEqual([{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }]);
    expect(JSON.stringify(m.resources.aws_s3_bucket_lifecycle_configuration.this)).toContain(
      'abort_incomplete_multipart_upload',
    );
    expect(m.resources.aws_s3_bucket_replication_configuration.this).toBeDefined();
    expect(JSON.stringify(configOf(DEVOPS_STACK).modules.artifact_bucket.replication_destinations)).toContain(
      'local.replicas[each.key].bucket_arn',
    );
  });
});

// ---------------------------------------------------------------------------
// The artifact deployer (apps/services/artifact-deployer) in the shared stack
// ---------------------------------------------------------------------------

/** Fills the interpolations of a name or ARN template with one environment's values; other references stay as written. */
function arnFor(template: string, env: Record<string, string>): string {
  return template.replace(/\$\{([^}]+)\}/g, (whole, ref: string) => env[ref] ?? whole);
}

/** IAM's `*` wildcard as a regular expression. */
const iamGlob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

describe('the artifact deployer (shared stack)', () => {
  const SHARED_STACK = join(INFRA_ROOT, 'stacks/shared');
  const DEV = {
    'var.name_prefix': 'geo',
    'var.environment': 'dev',
    'var.aws_region': 'ap-southeast-2',
    'var.aws_account_id': '111111111111',
    'data.aws_partition.current.partition': 'aws',
  };
  const shared = () => configOf(SHARED_STACK);
  const localValue = (name: string) => shared().locals.find((l) => name in l)?.[name] as string | undefined;
  /** A string of the shared stack with its locals (string templates) and the environment's values filled in. */
  const evaluate = (expression: string, env: Record<string, string>): string =>
    arnFor(expression, env).replace(/\$\{local\.(\w+)\}/g, (whole, name: string) => {
      const value = localValue(name);
      return typeof value === 'string' ? evaluate(value, env) : whole;
    });

  it('is one lambda-service per account: <prefix>-artifact-deployer-<env>, nodejs22.x, main.handler, 300 s, reserved concurrency 2, its settings', () => {
    const call = shared().modules.artifact_deployer;
    expect(call).toMatchObject({
      source: '../../modules/lambda-service',
      function_name: '${local.artifact_deployer_name}',
      s3_bucket: '${local.artifact_bucket}',
      s3_key: '${var.artifact_deployer_s3_key}',
      source_code_hash: '${var.artifact_deployer_source_code_hash}',
      runtime: 'nodejs22.x',
      handler: 'main.handler',
      timeout: 300,
      reserved_concurrent_executions: 2,
      environment_variables: {
        NAME_PREFIX: '${var.name_prefix}',
        ENVIRONMENT: '${var.environment}',
        QUEUE_URL: '${aws_sqs_queue.artifact_deployer[0].url}',
        DEAD_LETTER_QUEUE_URL: '${aws_sqs_queue.artifact_deployer_dlq[0].url}',
        MAX_WAIT_SECONDS: '120',
        POLL_SECONDS: '2',
      },
    });
    expect(evaluate('${local.artifact_deployer_name}', DEV)).toBe('geo-artifact-deployer-dev');
    // The bucket it reads is the replica the devops stack creates in the account.
    expect(evaluate('${local.artifact_bucket}', DEV)).toBe('geo-artifacts-dev-111111111111');
    expect(JSON.stringify(configOf(join(INFRA_ROOT, 'modules/workload-baseline')).locals)).toContain(
      '"artifact_bucket":"${var.name_prefix}-artifacts-${var.environment}-${local.account}"',
    );
  });

  it('may read ledger records and artifacts, and update, tag and read the tags of the biome functions of its environment only, never itself', () => {
    const statements = Object.fromEntries(
      policyStatements(shared())
        .filter((s) => s.source.includes('module.artifact_deployer.'))
        .map((s) => [
          s.source.split('.').pop()!,
          { actions: s.actions, resources: s.resources.map((r) => evaluate(String(r), DEV)) },
        ]),
    );
    expect(statements).toEqual({
      ReadLedgerAndArtifacts: {
        actions: ['s3:GetObject'],
        resources: [
          'arn:aws:s3:::geo-artifacts-dev-111111111111/biomes/*/ledger/*',
          'arn:aws:s3:::geo-artifacts-dev-111111111111/biomes/*/history/*',
          'arn:aws:s3:::geo-artifacts-dev-111111111111/artifacts/*',
        ],
      },
      ListArtifactBucket: { actions: ['s3:ListBucket'], resources: ['arn:aws:s3:::geo-artifacts-dev-111111111111'] },
      DecryptArtifacts: {
        actions: ['kms:Decrypt'],
        resources: [expect.stringContaining('data.aws_kms_alias.artifact_bucket')],
      },
      // GetFunction returns a function's tags only to a caller allowed lambda:ListTags.
      UpdateBiomeFunctions: {
        actions: ['lambda:GetFunction', 'lambda:ListTags', 'lambda:UpdateFunctionCode', 'lambda:TagResource'],
        resources: ['arn:aws:lambda:ap-southeast-2:111111111111:function:geo-dev-*'],
      },
      ConsumeLedgerEvents: {
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility'],
        resources: [expect.stringContaining('aws_sqs_queue.artifact_deployer[0].arn')],
      },
      DeadLetterUndeployable: {
        actions: ['sqs:SendMessage'],
        resources: [expect.stringContaining('aws_sqs_queue.artifact_deployer_dlq[0].arn')],
      },
    });
    expect(shared().data.aws_kms_alias.artifact_bucket.name).toBe('alias/${local.artifact_bucket}');
    const functions = iamGlob(statements.UpdateBiomeFunctions.resources[0] as string);
    const fn = (name: string) => `arn:aws:lambda:ap-southeast-2:111111111111:function:${name}`;
    expect(functions.test(fn('geo-dev-assay-ingest'))).toBe(true);
    expect(functions.test(fn('geo-dev-bob-assay-ingest'))).toBe(true);
    expect(functions.test(fn('geo-artifact-deployer-dev'))).toBe(false);
    expect(functions.test(fn('geo-staging-assay-ingest'))).toBe(false);
    expect(functions.test(fn('geo-deploy-dev'))).toBe(false);
  });

  it('is triggered by ledger records created in the artifact bucket, through an encrypted queue only that bucket can send to, with a dead-letter queue', () => {
    const r = shared().resources;
    expect(r.aws_s3_bucket_notification.artifact_bucket).toMatchObject({
      bucket: '${local.artifact_bucket}',
      queue: [
        {
          events: ['s3:ObjectCreated:*'],
          filter_prefix: 'biomes/',
          filter_suffix: '.json',
          queue_arn: '${aws_sqs_queue.artifact_deployer[0].arn}',
        },
      ],
    });
    expect(r.aws_sqs_queue.artifact_deployer).toMatchObject({
      visibility_timeout_seconds: 1800,
      sqs_managed_sse_enabled: true,
    });
    expect(r.aws_sqs_queue.artifact_deployer_dlq).toMatchObject({ sqs_managed_sse_enabled: true });
    expect(parseExpression(r.aws_sqs_queue.artifact_deployer.redrive_policy as string)).toEqual({
      $call: 'jsonencode',
      args: [{ deadLetterTargetArn: { $expr: 'aws_sqs_queue.artifact_deployer_dlq[0].arn' }, maxReceiveCount: 10 }],
    });
    const [send] = policyStatements(shared()).filter((s) => s.document === 'artifact_deployer_queue');
    expect(send).toMatchObject({
      actions: ['sqs:SendMessage'],
      resources: ['${aws_sqs_queue.artifact_deployer[0].arn}'],
    });
    expect(send.conditions).toContainEqual({
      test: 'ArnEquals',
      variable: 'aws:SourceArn',
      values: ['${local.artifact_bucket_arn}'],
    });
    expect(shared().data.aws_iam_policy_document.artifact_deployer_queue.statement).toMatchObject([
      { principals: [{ type: 'Service', identifiers: ['s3.amazonaws.com'] }] },
    ]);
    expect(r.aws_sqs_queue_policy.artifact_deployer.policy).toBe(
      '${data.aws_iam_policy_document.artifact_deployer_queue[0].json}',
    );
    expect(r.aws_lambda_event_source_mapping.artifact_deployer).toMatchObject({
      event_source_arn: '${aws_sqs_queue.artifact_deployer[0].arn}',
      function_name: '${module.artifact_deployer[0].function_arn}',
      batch_size: 1,
      function_response_types: ['ReportBatchItemFailures'],
    });
    // AWS: the mapping's maximum concurrency is at least 2 and never above the function's reserved concurrency.
    const maximum = (
      r.aws_lambda_event_source_mapping.artifact_deployer.scaling_config as { maximum_concurrency: number }[]
    )[0].maximum_concurrency;
    expect(maximum).toBeGreaterThanOrEqual(2);
    expect(maximum).toBeLessThanOrEqual(shared().modules.artifact_deployer.reserved_concurrent_executions as number);
    expect(r.aws_cloudwatch_metric_alarm.artifact_deployer_dlq).toMatchObject({
      namespace: 'AWS/SQS',
      metric_name: 'ApproximateNumberOfMessagesVisible',
      threshold: 0,
    });
  });

  it('biome functions keep the tags the deployer writes across applies (lambda-service ignores exactly those)', () => {
    const lifecycle = configOf(join(INFRA_ROOT, 'modules/lambda-service')).resources.aws_lambda_function.this
      .lifecycle as { ignore_changes: string[] }[];
    const tags = [DEPLOYED_AT_TAG, GIT_SHA_TAG, SEQUENCE_TAG, INCARNATION_TAG];
    expect(lifecycle[0].ignore_changes).toEqual([
      ...tags.map((t) => `\${tags["${t}"]}`),
      ...tags.map((t) => `\${tags_all["${t}"]}`),
    ]);
  });
});
