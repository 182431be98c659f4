import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { INFRA_ROOT, loadTerraformDir, show, strings, TerraformDir, terraformDirs } from './hcl';

/**
 * IAM as AWS evaluates it, read from the Terraform code: every ARN names its
 * service, and the deploy role's policy (module workload-baseline) allows what
 * the biome stack calls on the names it creates, and nothing on the
 * escalation paths (unbounded roles, the deploy role itself, account-level
 * functions, main-biome records, other environments).
 */

type Values = Record<string, string>;
interface Statement {
  sid: string;
  effect: string;
  actions: string[];
  resources: string[];
  conditions: { test: string; variable: string; values: string[] }[];
}

let configs: TerraformDir[];
const configAt = (path: string) => configs.find((c) => c.dir === join(INFRA_ROOT, path))!;

beforeAll(async () => {
  configs = await Promise.all(terraformDirs().map(loadTerraformDir));
});

/** String locals of a configuration (name → template). */
function stringLocals(config: TerraformDir): Values {
  const out: Values = {};
  for (const block of config.locals) for (const [k, v] of Object.entries(block)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** Fills `${local.x}` (recursively, string locals only) and the given references; other interpolations stay as written. */
function expand(template: string, config: TerraformDir, values: Values = {}, depth = 0): string {
  if (depth > 10) return template;
  const locals = stringLocals(config);
  const once = template.replace(/\$\{([^{}]+)\}/g, (whole, ref: string) => {
    const r = ref.trim();
    if (r in values) return values[r];
    const local = /^local\.(\w+)$/.exec(r);
    if (local && local[1] in locals) return expand(locals[local[1]], config, values, depth + 1);
    return whole;
  });
  return once === template ? once : expand(once, config, values, depth + 1);
}

/** The ARN templates inside a string: from each "arn:" to the end of the template (quotes, spaces, commas, brackets end it outside `${}`). */
function arnsIn(text: string): string[] {
  const out: string[] = [];
  for (let i = text.indexOf('arn:'); i >= 0; i = text.indexOf('arn:', i + 4)) {
    if (i > 0 && /[A-Za-z0-9_.-]/.test(text[i - 1])) continue;
    let depth = 0;
    let j = i;
    for (; j < text.length; j++) {
      const c = text[j];
      if (c === '$' && text[j + 1] === '{') {
        depth++;
        j++;
      } else if (c === '}' && depth > 0) depth--;
      else if (depth === 0 && /["\s,\])\\]/.test(c)) break;
    }
    out.push(text.slice(i, j));
  }
  return out;
}

const SERVICES = new Set(['s3', 'iam', 'sts', 'kms', 'lambda', 'logs', 'states', 'scheduler', 'rds', 'rds-db', 'secretsmanager', 'ssm', 'codepipeline', 'sagemaker', 'sqs', 'sns', 'ecr', 'ec2', 'codebuild', 'codeconnections', 'codestar-connections', 'events', 'cloudwatch', 'apigateway']);
const GLOBAL_SERVICES = new Set(['s3', 'iam', 'sts']);

/** What is wrong with one ARN template (unresolved interpolations count as a placeholder segment), or null. */
export function arnProblem(arn: string): string | null {
  const flat = arn.replace(/\$\{(?:[^{}]|\{[^{}]*\})*\}/g, 'X');
  const [prefix, partition, service, region, account, ...rest] = flat.split(':');
  if (prefix !== 'arn' || rest.length === 0 || rest.join(':') === '') return 'not arn:<partition>:<service>:<region>:<account>:<resource>';
  if (!['aws', 'aws-cn', 'aws-us-gov', 'X'].includes(partition)) return `partition "${partition}" is not a partition`;
  if (!SERVICES.has(service)) return `service "${service}" is not a service name`;
  if (service === 's3' && (region !== '' || account !== '')) return 'an S3 ARN has no region and no account';
  if (service === 'iam' && region !== '') return 'an IAM ARN has no region';
  // Step Functions service integrations: arn:aws:states:::<service>:<api>.
  if (service === 'states' && region === '' && account === '') return null;
  if (!GLOBAL_SERVICES.has(service) && !(region === 'X' || region === '*' || /^[a-z]{2}(-[a-z]+)+-\d$/.test(region))) return `region "${region}" is not a region`;
  if (service !== 's3' && !(account === 'X' || account === '*' || account === 'aws' || /^\d{12}$/.test(account))) return `account "${account}" is not an account id`;
  return null;
}

/** Every ARN written anywhere in a configuration (locals expanded), with the problems found. */
function arnProblems(config: TerraformDir): { arns: number; problems: string[] } {
  const problems: string[] = [];
  let arns = 0;
  for (const [file, parsed] of Object.entries(config.files)) {
    for (const { path, value } of strings(parsed)) {
      // A local's own value may be an ARN prefix; it is checked where it is used.
      if (path[0] === 'locals') continue;
      for (const arn of arnsIn(expand(value, config))) {
        arns++;
        const p = arnProblem(arn);
        if (p) problems.push(`${show(config.dir)}/${file}: ${path.join('.')}: ${arn}: ${p}`);
      }
    }
  }
  return { arns, problems };
}

describe('every ARN in infra/ is well formed (arn:<partition>:<service>:<region>:<account>:<resource>)', () => {
  it('in every policy document, module argument and resource of every stack and module', () => {
    let total = 0;
    const problems: string[] = [];
    for (const c of configs) {
      const r = arnProblems(c);
      total += r.arns;
      problems.push(...r.problems);
    }
    expect(total).toBeGreaterThan(40);
    expect(problems).toEqual([]);
  });

  it('every resource of every policy statement is "*", an ARN, or a reference to an ARN attribute', () => {
    const problems: string[] = [];
    for (const c of configs) {
      for (const [name, doc] of Object.entries(c.data.aws_iam_policy_document ?? {})) {
        const blocks = [...((doc.statement as Record<string, unknown>[]) ?? []), ...(((doc.dynamic as Record<string, unknown>)?.statement as Record<string, unknown>[]) ?? []).flatMap((d) => (d.content as Record<string, unknown>[]) ?? [])];
        for (const s of blocks) {
          const resources = s.resources === undefined ? [] : Array.isArray(s.resources) ? s.resources : [s.resources];
          for (const r of resources as string[]) {
            const text = expand(String(r), c);
            // Statements a module receives (dynamic "statement" over var.policy_statements) are written, and checked, at the caller.
            if (text.startsWith('${statement.value')) continue;
            // A map local of ARNs, indexed.
            const arnMaps = [...text.matchAll(/local\.(\w+)\[/g)].some(([, name]) => JSON.stringify(c.locals.find((l) => name in l)?.[name] ?? '').includes('arn:'));
            if (text !== '*' && !/arn/i.test(text) && !arnMaps) problems.push(`${show(c.dir)}: ${name}.${String(s.sid ?? '?')}: ${r}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('catches the malformed prefix of the old workload baseline (arn:<partition>:<region>:<account>, no service)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arn-bad-'));
    try {
      await writeFile(
        join(dir, 'main.tf'),
        [
          'locals {',
          '  arn_prefix = "${local.partition}:${local.region}:${local.account}"',
          '  partition  = "aws"',
          '}',
          'data "aws_iam_policy_document" "x" {',
          '  statement {',
          '    actions   = ["lambda:GetFunction", "s3:GetObject"]',
          '    resources = ["arn:${local.arn_prefix}:function:geo-dev-*", "arn:aws:s3:ap-southeast-2::b/*", "geo-dev-bucket"]',
          '  }',
          '}',
          '',
        ].join('\n'),
      );
      const bad = await loadTerraformDir(dir);
      const { problems } = arnProblems(bad);
      expect(problems.some((p) => p.includes('arn:aws:${local.region}') && p.includes('is not a service name'))).toBe(true);
      expect(problems.some((p) => p.includes('an S3 ARN has no region'))).toBe(true);
      expect(arnProblem('arn:aws:lambda:ap-southeast-2:111111111111:function:geo-dev-x')).toBeNull();
      expect(arnProblem('arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole')).toBeNull();
      expect(arnProblem('arn:aws:states:::lambda:invoke')).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------
// A small IAM evaluator: Allow statements, glob actions/resources, the
// condition operators the policies here use. No statement matching = denied.
// ---------------------------------------------------------------------------

/** IAM's wildcards: `*` any run of characters (also none), `?` exactly one. */
const glob = (pattern: string, flags = '') => new RegExp(`^${pattern.split('*').map((p) => p.split('?').map((q) => q.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.')).join('.*')}$`, flags);

function conditionHolds(c: Statement['conditions'][number], context: Record<string, string | string[]>): boolean {
  const actual = context[c.variable];
  if (actual === undefined) return false;
  const values = Array.isArray(actual) ? actual : [actual];
  const op = c.test.replace(/^ForAnyValue:/, '');
  const match = (v: string) => c.values.some((expected) => (/Like$/.test(op) ? glob(expected).test(v) : expected === v));
  if (!['StringEquals', 'ArnEquals', 'StringLike', 'ArnLike'].includes(op)) throw new Error(`evaluator does not know ${c.test}`);
  return values.some(match);
}

function allows(statements: Statement[], action: string, resource: string, context: Record<string, string | string[]> = {}): string | null {
  const hits = (s: Statement) => s.actions.some((a) => glob(a, 'i').test(action)) && s.resources.some((r) => glob(r).test(resource)) && s.conditions.every((c) => conditionHolds(c, context));
  if (statements.some((s) => s.effect === 'Deny' && hits(s))) return null;
  return statements.find((s) => s.effect === 'Allow' && hits(s))?.sid ?? null;
}

/**
 * The statements of one policy document with the given references filled in: its
 * `source_policy_documents` of the same configuration first, list locals
 * (`actions = local.x`) spread, `for` expressions over one variable expanded with `each`.
 */
function evaluateDocument(config: TerraformDir, document: string, values: Values, each: Values = {}): Statement[] {
  const doc = config.data.aws_iam_policy_document[document];
  if (!doc) throw new Error(`no aws_iam_policy_document.${document} in ${show(config.dir)}`);
  const list = (v: unknown) => (v === undefined ? [] : Array.isArray(v) ? v : [v]).map(String);
  const listLocal = (raw: string): unknown[] | undefined => {
    const name = /^\$\{local\.(\w+)\}$/.exec(raw)?.[1];
    const value = name === undefined ? undefined : config.locals.find((l) => name in l)?.[name];
    return Array.isArray(value) ? value : undefined;
  };
  const spread = (v: unknown) => list(v).flatMap((raw) => list(listLocal(raw) ?? raw));
  const resolve = (raw: string): string[] => {
    const loop = /^\$\{\[for (\w+) in [^:]+ : "(.*)"\]\}$/s.exec(raw);
    if (loop) return Object.values(each).map((item) => expand(loop[2].replace(/\\"/g, '"'), config, { ...values, [loop[1]]: item }));
    return [expand(raw, config, values)];
  };
  const sources = [...String(doc.source_policy_documents ?? '').matchAll(/data\.aws_iam_policy_document\.(\w+)\.json/g)].flatMap(([, name]) => evaluateDocument(config, name, values, each));
  return [...sources, ...((doc.statement as Record<string, unknown>[]) ?? []).map((s) => ({
    sid: String(s.sid ?? ''),
    effect: String(s.effect ?? 'Allow'),
    actions: spread(s.actions),
    resources: spread(s.resources).flatMap(resolve),
    conditions: ((s.condition as Record<string, unknown>[]) ?? []).map((c) => ({ test: String(c.test), variable: String(c.variable), values: list(c.values).flatMap(resolve) })),
  }))];
}

const ACCOUNT = '111111111111';
const REGION = 'ap-southeast-2';
const arn = (service: string, resource: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${resource}`;
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const BOUNDARY = `arn:aws:iam::${ACCOUNT}:policy/geo-boundary-dev`;
const STATE_BUCKET = 'arn:aws:s3:::geo-tfstate-dev-111111111111';
const ARTIFACT_BUCKET = 'arn:aws:s3:::geo-artifacts-dev-111111111111';
const MODELS_BUCKET = 'arn:aws:s3:::geo-models-dev-111111111111';
const DATA_BUCKET = 'arn:aws:s3:::geo-dev-bob-data-111111111111';
const STATE_KEY = arn('kms', 'key/11111111-state');
const ARTIFACT_KEY = arn('kms', 'key/22222222-artifacts');

/** The names the biome stack gives one biome's resources (tools/nx-biome/src/core/names.ts). */
function biomeNames(biome: string) {
  const project = (p: string) => `geo-${biome}--${p}`;
  return {
    fn: arn('lambda', `function:${project('assay-ingest')}`),
    sm: arn('states', `stateMachine:${project('plant-feed')}`),
    fnRole: role(project('assay-ingest')),
    smRole: role(project('plant-feed')),
    schedulerRole: role(`geo-${biome}-scheduler`),
    logGroup: arn('logs', `log-group:/aws/lambda/${project('assay-ingest')}`),
    smLogGroup: arn('logs', `log-group:/aws/vendedlogs/states/${project('plant-feed')}`),
    schedule: arn('scheduler', `schedule/default/${project('nightly')}`),
    dataBucket: `arn:aws:s3:::geo-${biome}-data-${ACCOUNT}`,
    state: `${STATE_BUCKET}/biomes/${biome}/biome.tfstate`,
    model: `${MODELS_BUCKET}/models/${biome}/ore-grade/ore-grade-${'a'.repeat(40)}.tar.gz`,
    dbUser: arn('rds-db', `dbuser:db-ABCDEFGHIJKL/biome_${biome.replace(/-/g, '_')}`),
  };
}

type Row = [string, string, Record<string, string | string[]>?];

/** What the biome stack calls on one biome's own resources, its roles carrying `boundary`. */
function biomeCalls(biome: string, boundary: string): Row[] {
  const n = biomeNames(biome);
  const withBoundary = { 'iam:PermissionsBoundary': boundary };
  return [
    ...['GetObject', 'PutObject', 'DeleteObject'].flatMap((a) => [[`s3:${a}`, n.state], [`s3:${a}`, `${n.state}.tflock`]] as Row[]),
    ...['CreateFunction', 'GetFunction', 'GetFunctionConfiguration', 'GetFunctionCodeSigningConfig', 'GetFunctionConcurrency', 'ListVersionsByFunction', 'UpdateFunctionCode', 'UpdateFunctionConfiguration', 'PutFunctionConcurrency', 'DeleteFunctionConcurrency', 'TagResource', 'UntagResource', 'ListTags', 'DeleteFunction'].map((a) => [`lambda:${a}`, n.fn] as Row),
    ...[n.fnRole, n.smRole, n.schedulerRole].flatMap((r) => [
      ['iam:CreateRole', r, withBoundary],
      ['iam:PutRolePolicy', r, withBoundary],
      ['iam:DeleteRolePolicy', r, withBoundary],
      ['iam:DetachRolePolicy', r, withBoundary],
      ...['GetRole', 'DeleteRole', 'TagRole', 'UntagRole', 'UpdateAssumeRolePolicy', 'GetRolePolicy', 'ListRolePolicies', 'ListAttachedRolePolicies', 'ListInstanceProfilesForRole'].map((a) => [`iam:${a}`, r] as Row),
    ] as Row[]),
    ['iam:AttachRolePolicy', n.fnRole, { ...withBoundary, 'iam:PolicyARN': 'arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole' }],
    ['iam:PassRole', n.fnRole, { 'iam:PassedToService': 'lambda.amazonaws.com' }],
    ['iam:PassRole', n.smRole, { 'iam:PassedToService': 'states.amazonaws.com' }],
    ['iam:PassRole', n.schedulerRole, { 'iam:PassedToService': 'scheduler.amazonaws.com' }],
    ...['CreateLogGroup', 'DeleteLogGroup', 'PutRetentionPolicy', 'TagResource', 'ListTagsForResource', 'ListTagsLogGroup'].flatMap((a) => [[`logs:${a}`, n.logGroup], [`logs:${a}`, `${n.logGroup}:*`], [`logs:${a}`, n.smLogGroup]] as Row[]),
    ...['CreateStateMachine', 'DescribeStateMachine', 'UpdateStateMachine', 'DeleteStateMachine', 'TagResource', 'UntagResource', 'ListTagsForResource', 'PublishStateMachineVersion', 'ListStateMachineVersions', 'DeleteStateMachineVersion'].map((a) => [`states:${a}`, n.sm] as Row),
    ['states:DescribeStateMachine', `${n.sm}:1`],
    ...['CreateStateMachineAlias', 'DescribeStateMachineAlias', 'UpdateStateMachineAlias', 'DeleteStateMachineAlias'].map((a) => [`states:${a}`, `${n.sm}:live`] as Row),
    ...['CreateSchedule', 'GetSchedule', 'UpdateSchedule', 'DeleteSchedule'].map((a) => [`scheduler:${a}`, n.schedule] as Row),
    ...['GetObject', 'PutObject', 'DeleteObject', 'GetObjectTagging', 'PutObjectTagging'].map((a) => [`s3:${a}`, n.model] as Row),
    ...['CreateBucket', 'DeleteBucket', 'ListBucket', 'GetBucketTagging', 'PutBucketTagging', 'PutBucketPolicy', 'GetBucketPolicy', 'DeleteBucketPolicy', 'PutBucketPublicAccessBlock', 'PutBucketOwnershipControls', 'PutEncryptionConfiguration', 'GetEncryptionConfiguration'].map((a) => [`s3:${a}`, n.dataBucket] as Row),
    ['s3:DeleteObject', `${n.dataBucket}/results/x.json`],
    ['s3:DeleteObjectVersion', `${n.dataBucket}/results/x.json`],
  ];
}

/** What any biome of the environment needs besides its own resources (shared layer, artifacts, plan-time reads). */
const sharedCalls: Row[] = [
  ['s3:ListBucket', STATE_BUCKET],
  ['kms:GenerateDataKey', STATE_KEY],
  ['kms:Decrypt', STATE_KEY],
  ['s3:GetObject', `${ARTIFACT_BUCKET}/artifacts/assay-ingest/assay-ingest-${'a'.repeat(40)}.zip`],
  ['s3:ListBucket', ARTIFACT_BUCKET],
  ['kms:Decrypt', ARTIFACT_KEY],
  ['s3:ListBucket', MODELS_BUCKET],
  ['kms:GenerateDataKey', arn('kms', 'key/33333333-models'), { 'kms:ResourceAliases': ['alias/geo-models-dev-111111111111'] }],
  ['rds:DescribeDBInstances', arn('rds', 'db:geo-dev')],
  ['sagemaker:DescribeEndpoint', arn('sagemaker', 'endpoint/geo-dev-models')],
  ...['ec2:DescribeVpcs', 'ec2:DescribeVpcAttribute', 'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups', 'states:ValidateStateMachineDefinition', 'logs:CreateLogDelivery', 'logs:DescribeLogGroups'].map((a) => [a, '*'] as Row),
];

describe("the deploy role's policy (module workload-baseline), evaluated for environment dev", () => {
  let deploy: Statement[];
  beforeAll(() => {
    deploy = evaluateDocument(configAt('modules/workload-baseline'), 'deploy', {
      'var.name_prefix': 'geo',
      'var.environment': 'dev',
      'var.model_prefix': 'models/',
      'data.aws_caller_identity.current.account_id': ACCOUNT,
      'data.aws_partition.current.partition': 'aws',
      'data.aws_region.current.name': REGION,
      'module.state_bucket.bucket_arn': STATE_BUCKET,
      'module.state_bucket.kms_key_arn': STATE_KEY,
      'module.artifact_bucket.bucket_arn': ARTIFACT_BUCKET,
      'module.artifact_bucket.kms_key_arn': ARTIFACT_KEY,
    });
    expect(JSON.stringify(deploy)).not.toContain('${');
  });

  const withBoundary = { 'iam:PermissionsBoundary': BOUNDARY };

  // What the biome stack (and its modules) call, on the names it creates: the
  // main biome's and a sandpit's (the main role may apply both; sandpit
  // projects use the sandpit role below), plus what only this table checks.
  const needs: Row[] = [
    ...biomeCalls('dev', BOUNDARY),
    ...biomeCalls('dev-bob', BOUNDARY),
    ...sharedCalls,
    // database-schema (aws_lambda_invocation): the main schema manager
    ['lambda:InvokeFunction', arn('lambda', 'function:geo-schema-manager-dev')],
    ['s3:GetObject', `${STATE_BUCKET}/biomes/dev/biome.tfstate`],
    ['lambda:GetFunction', arn('lambda', 'function:geo-dev--assay-ingest')],
    ['lambda:GetRuntimeManagementConfig', arn('lambda', 'function:geo-dev--assay-ingest')],
    // model-placement (aws_s3_object_copy) reads the package and its tags
    ['s3:GetObject', `${ARTIFACT_BUCKET}/artifacts/ore-grade/ore-grade-${'a'.repeat(40)}.tar.gz`],
    ['s3:GetObjectTagging', `${ARTIFACT_BUCKET}/artifacts/ore-grade/ore-grade-${'a'.repeat(40)}.tar.gz`],
    ...['ListBucketVersions', 'GetBucketLocation', 'GetBucketAcl', 'GetBucketCORS', 'GetBucketWebsite', 'GetBucketVersioning', 'GetBucketRequestPayment', 'GetBucketLogging', 'GetBucketObjectLockConfiguration', 'GetBucketOwnershipControls', 'GetBucketPublicAccessBlock', 'GetLifecycleConfiguration', 'GetReplicationConfiguration', 'GetAccelerateConfiguration'].map((a) => [`s3:${a}`, DATA_BUCKET] as Row),
    ...['GetLogDelivery', 'UpdateLogDelivery', 'DeleteLogDelivery', 'ListLogDeliveries', 'PutResourcePolicy', 'DescribeResourcePolicies'].map((a) => [`logs:${a}`, '*'] as Row),
  ];

  it.each(needs.map(([a, r, c]) => [a, r, c ?? {}] as const))('allows %s on %s', (action, resource, context) => {
    expect(allows(deploy, action, resource, context)).not.toBeNull();
  });

  it('the table covers every resource type of the biome stack and its modules (a new type needs its rows here)', () => {
    const covered = new Set(['aws_cloudwatch_log_group', 'aws_iam_role', 'aws_iam_role_policy', 'aws_iam_role_policy_attachment', 'aws_lambda_function', 'aws_lambda_invocation', 'aws_s3_bucket', 'aws_s3_bucket_ownership_controls', 'aws_s3_bucket_policy', 'aws_s3_bucket_public_access_block', 'aws_s3_bucket_server_side_encryption_configuration', 'aws_s3_object_copy', 'aws_scheduler_schedule', 'aws_sfn_alias', 'aws_sfn_state_machine']);
    const dirs = ['stacks/biome', 'modules/lambda-service', 'modules/state-machine', 'modules/model-placement', 'modules/database-schema'];
    const types = new Set(dirs.flatMap((d) => Object.keys(configAt(d).resources)));
    expect([...types].filter((t) => !covered.has(t))).toEqual([]);
    const dataTypes = new Set(dirs.flatMap((d) => Object.keys(configAt(d).data)));
    expect([...dataTypes].filter((t) => !['aws_iam_policy_document', 'aws_partition', 'aws_vpc', 'aws_subnets', 'aws_security_group', 'aws_db_instance'].includes(t))).toEqual([]);
  });

  it.each([
    ['iam:PutRolePolicy', role('geo-models-endpoint-dev'), {}, 'the shared SageMaker role (named outside the biome pattern)'],
    ['iam:UpdateAssumeRolePolicy', role('geo-models-endpoint-dev'), {}, 'the trust of the shared SageMaker role'],
    ['iam:PutRolePolicy', role('geo-dev-bob-assay-ingest'), {}, 'a biome role without the boundary'],
    ['iam:CreateRole', role('geo-dev-bob-admin'), {}, 'a new role without a boundary'],
    ['iam:CreateRole', role('geo-dev-bob-admin'), { 'iam:PermissionsBoundary': `arn:aws:iam::${ACCOUNT}:policy/other` }, 'a new role with another boundary'],
    ['iam:AttachRolePolicy', role('geo-dev-bob-assay-ingest'), { ...withBoundary, 'iam:PolicyARN': 'arn:aws:iam::aws:policy/AdministratorAccess' }, 'AdministratorAccess on a biome role'],
    ['iam:DeleteRolePermissionsBoundary', role('geo-dev-bob-assay-ingest'), withBoundary, 'removing a boundary'],
    ['iam:PutRolePolicy', role('geo-deploy-dev'), withBoundary, 'its own policy'],
    ['iam:UpdateAssumeRolePolicy', role('geo-deploy-dev'), {}, 'its own trust'],
    ['iam:CreatePolicyVersion', BOUNDARY, {}, 'the boundary itself'],
    ['iam:PassRole', role('geo-dev-bob-assay-ingest'), { 'iam:PassedToService': 'ec2.amazonaws.com' }, 'a biome role to EC2'],
    ['iam:PassRole', role('geo-deploy-dev'), { 'iam:PassedToService': 'lambda.amazonaws.com' }, 'itself to Lambda'],
    ['lambda:UpdateFunctionCode', arn('lambda', 'function:geo-schema-manager-dev'), {}, 'the schema manager (it holds the master secret)'],
    ['lambda:UpdateFunctionCode', arn('lambda', 'function:geo-artifact-deployer-dev'), {}, 'the artifact deployer'],
    ['lambda:UpdateFunctionCode', arn('lambda', 'function:geo-staging-assay-ingest'), {}, "another environment's function"],
    ['secretsmanager:GetSecretValue', arn('secretsmanager', 'secret:rds!db-1234-AbCdEf'), {}, 'the database master secret'],
    ['sts:AssumeRole', role('OrganizationAccountAccessRole'), {}, 'another role'],
    ['s3:PutObject', `${ARTIFACT_BUCKET}/biomes/dev/ledger/assay-ingest.json`, {}, 'a ledger record (deploys through the artifact deployer)'],
    ['s3:PutBucketPolicy', STATE_BUCKET, {}, 'the state bucket policy'],
  ])('denies %s on %s (%s)', (action, resource, context, _why) => {
    expect(allows(deploy, action, resource, context)).toBeNull();
  });

  it('every role the deploy role may touch carries the boundary: biome roles pass it, the shared stack names its roles outside <prefix>-<env>-*', () => {
    const pattern = glob('geo-dev-*');
    const biome = configAt('stacks/biome');
    for (const m of ['service', 'workflow']) expect(biome.modules[m].permissions_boundary, m).toBe('${local.permissions_boundary_arn}');
    expect(biome.resources.aws_iam_role.scheduler.permissions_boundary).toBe('${local.permissions_boundary_arn}');
    for (const dir of ['modules/lambda-service', 'modules/state-machine']) expect(configAt(dir).resources.aws_iam_role.this.permissions_boundary).toBe('${var.permissions_boundary}');
    const shared = configAt('stacks/shared');
    const values = { 'var.name_prefix': 'geo', 'var.environment': 'dev' };
    // The schema managers are one module over local.schema_managers: their names are the map's name fields.
    const schemaManagers = [...JSON.stringify(shared.locals.find((l) => 'schema_managers' in l)).matchAll(/\bname = (?:\\"([^"\\]*)\\"|(local\.\w+))/g)].map(([, quoted, local]) => quoted ?? `\${${local}}`);
    expect(shared.modules.schema_manager.function_name).toBe('${each.value.name}');
    const functionNames = Object.values(shared.modules)
      .filter((m) => m.source === '../../modules/lambda-service')
      .flatMap((m) => (m.function_name === '${each.value.name}' ? schemaManagers : [String(m.function_name)]));
    const names = [String(shared.resources.aws_iam_role.sagemaker.name), ...functionNames].map((n) => expand(n, shared, values));
    expect(names.sort()).toEqual(['geo-artifact-deployer-dev', 'geo-models-endpoint-dev', 'geo-schema-manager-dev', 'geo-schema-manager-dev-sandpit']);
    for (const n of names) expect(pattern.test(n), n).toBe(false);
    expect(pattern.test('geo-dev-bob-assay-ingest')).toBe(true);
  });
});

// ---------------------------------------------------------------------------
// The sandpit deploy role (workload-baseline sandpit.tf): what the sandpit
// CodeBuild projects, which run any branch's buildspec, assume.
// ---------------------------------------------------------------------------

describe('the sandpit deploy role (module workload-baseline, sandpit.tf), evaluated for environment dev', () => {
  const SANDPIT_BOUNDARY = `arn:aws:iam::${ACCOUNT}:policy/geo-boundary-dev-sandpit`;
  const values = {
    'var.name_prefix': 'geo',
    'var.environment': 'dev',
    'var.model_prefix': 'models/',
    'var.state_workspace_key_prefix': 'biomes',
    'data.aws_caller_identity.current.account_id': ACCOUNT,
    'data.aws_partition.current.partition': 'aws',
    'data.aws_region.current.name': REGION,
    'module.state_bucket.bucket_arn': STATE_BUCKET,
    'module.state_bucket.kms_key_arn': STATE_KEY,
    'module.artifact_bucket.bucket_arn': ARTIFACT_BUCKET,
    'module.artifact_bucket.kms_key_arn': ARTIFACT_KEY,
  };
  /** Its two inline policies: the sandpit allows and the explicit deny of the main biome. */
  let sandpit: Statement[];
  /** The allows alone: proves the name patterns themselves never match a main-biome name. */
  let allowsOnly: Statement[];
  /** The sandpit boundary (every role a sandpit creates). */
  let boundary: Statement[];
  beforeAll(() => {
    const config = configAt('modules/workload-baseline');
    allowsOnly = evaluateDocument(config, 'sandpit_deploy', values);
    sandpit = [...allowsOnly, ...evaluateDocument(config, 'never_main_biome', values)];
    boundary = evaluateDocument(config, 'sandpit_boundary', values);
    expect(JSON.stringify([sandpit, boundary])).not.toContain('${');
    expect(allowsOnly.every((s) => s.effect === 'Allow')).toBe(true);
  });

  const sandpitOnlyCalls: Row[] = [['lambda:InvokeFunction', arn('lambda', 'function:geo-schema-manager-dev-sandpit')]];

  it.each([...biomeCalls('dev-bob', SANDPIT_BOUNDARY), ...biomeCalls('dev-mr-142', SANDPIT_BOUNDARY), ...sharedCalls, ...sandpitOnlyCalls].map(([a, r, c]) => [a, r, c ?? {}] as const))('allows %s on %s', (action, resource, context) => {
    expect(allows(sandpit, action, resource, context)).not.toBeNull();
  });

  // Every call the biome stack makes on the MAIN biome's own resources, even with the right boundary.
  const mainCalls = [...biomeCalls('dev', SANDPIT_BOUNDARY), ...biomeCalls('dev', BOUNDARY)];

  it.each(mainCalls.map(([a, r, c]) => [a, r, c ?? {}] as const))('denies %s on main-biome %s', (action, resource, context) => {
    expect(allows(sandpit, action, resource, context)).toBeNull();
  });

  it('its name patterns alone (without the explicit deny) never match a main-biome name', () => {
    const leaks = mainCalls.filter(([a, r, c]) => allows(allowsOnly, a, r, c ?? {}) !== null);
    expect(leaks).toEqual([]);
    // The rows prove something: the same table passes for the sandpit.
    expect(biomeCalls('dev-bob', SANDPIT_BOUNDARY).filter(([a, r, c]) => allows(allowsOnly, a, r, c ?? {}) === null)).toEqual([]);
  });

  it.each([
    ['iam:PutRolePolicy', role('geo-dev--x-scheduler'), { 'iam:PermissionsBoundary': SANDPIT_BOUNDARY }, 'the role of a main project named "x-scheduler" (matches <prefix>-<env>-?*-scheduler)'],
    ['states:UpdateStateMachineAlias', arn('states', 'stateMachine:geo-dev--plant-feed:a--b'), {}, 'a main state machine through an alias named with "--"'],
    ['lambda:UpdateFunctionCode', arn('lambda', 'function:geo-dev--assay-ingest:a--b'), {}, 'a main function through a qualifier named with "--"'],
  ] as [string, string, Record<string, string>, string][])('the explicit deny closes what a pattern alone would let through: %s on %s (%s)', (action, resource, context, _why) => {
    expect(allows(allowsOnly, action, resource, context)).not.toBeNull();
    expect(allows(sandpit, action, resource, context)).toBeNull();
  });

  it.each([
    ['sts:AssumeRole', role('geo-deploy-dev'), {}, 'the main deploy role'],
    ['iam:UpdateAssumeRolePolicy', role('geo-deploy-dev'), {}, "the main deploy role's trust"],
    ['iam:PutRolePolicy', role('geo-deploy-dev-sandpit'), { 'iam:PermissionsBoundary': SANDPIT_BOUNDARY }, 'its own policy'],
    ['iam:UpdateAssumeRolePolicy', role('geo-deploy-dev-sandpit'), {}, 'its own trust'],
    ['iam:CreatePolicyVersion', SANDPIT_BOUNDARY, {}, 'its boundary'],
    ['iam:CreatePolicyVersion', BOUNDARY, {}, "the environment's boundary"],
    ['iam:CreateRole', role('geo-dev-bob--assay-ingest'), {}, 'a sandpit role without a boundary'],
    ['iam:CreateRole', role('geo-dev-bob--assay-ingest'), { 'iam:PermissionsBoundary': BOUNDARY }, "a sandpit role with the environment's boundary (allows the main biome)"],
    ['iam:PutRolePolicy', role('geo-dev-bob--assay-ingest'), { 'iam:PermissionsBoundary': BOUNDARY }, "a role bounded by the environment's boundary"],
    ['iam:AttachRolePolicy', role('geo-dev-bob--assay-ingest'), { 'iam:PermissionsBoundary': SANDPIT_BOUNDARY, 'iam:PolicyARN': 'arn:aws:iam::aws:policy/AdministratorAccess' }, 'AdministratorAccess'],
    ['iam:PassRole', role('geo-dev--assay-ingest'), { 'iam:PassedToService': 'lambda.amazonaws.com' }, 'a main role to Lambda'],
    ['iam:PassRole', role('geo-dev-bob--assay-ingest'), { 'iam:PassedToService': 'ec2.amazonaws.com' }, 'a sandpit role to EC2'],
    ['iam:PutRolePolicy', role('geo-models-endpoint-dev'), {}, 'the shared SageMaker role'],
    ['lambda:UpdateFunctionCode', arn('lambda', 'function:geo-schema-manager-dev'), {}, 'the schema manager'],
    ['lambda:InvokeFunction', arn('lambda', 'function:geo-schema-manager-dev'), {}, "the main schema manager (it would sleep or drop the main biome's schema)"],
    ['lambda:UpdateFunctionCode', arn('lambda', 'function:geo-schema-manager-dev-sandpit'), {}, 'the sandpit schema manager'],
    ['lambda:UpdateFunctionConfiguration', arn('lambda', 'function:geo-schema-manager-dev-sandpit'), {}, "the sandpit schema manager's SCHEMA_PREFIX"],
    ['lambda:UpdateFunctionCode', arn('lambda', 'function:geo-artifact-deployer-dev'), {}, 'the artifact deployer'],
    ['lambda:UpdateFunctionCode', arn('lambda', 'function:geo-staging-bob--assay-ingest'), {}, "another environment's function"],
    ['lambda:InvokeFunction', arn('lambda', 'function:geo-dev--assay-ingest'), {}, 'a main function'],
    ['states:StartExecution', arn('states', 'stateMachine:geo-dev--plant-feed'), {}, 'a main state machine'],
    ['s3:GetObject', `${STATE_BUCKET}/biomes/dev/biome.tfstate`, {}, "the main biome's state (workspace dev)"],
    ['s3:PutObject', `${STATE_BUCKET}/biomes/dev/biome.tfstate.tflock`, {}, "the main biome's state lock"],
    ['s3:GetObject', `${STATE_BUCKET}/biome.tfstate`, {}, 'the default workspace'],
    ['s3:PutObject', `${STATE_BUCKET}/shared.tfstate`, {}, "the shared stack's state"],
    ['s3:PutObject', `${STATE_BUCKET}/biomes/staging-x/biome.tfstate`, {}, 'a workspace of another environment'],
    ['s3:PutBucketPolicy', STATE_BUCKET, {}, 'the state bucket policy'],
    ['s3:PutObject', `${MODELS_BUCKET}/models/dev/ore-grade/ore-grade-${'a'.repeat(40)}.tar.gz`, {}, "the main biome's models"],
    ['s3:PutObject', `${MODELS_BUCKET}/models/devx/m.tar.gz`, {}, 'models outside any dev biome'],
    ['s3:PutObject', `${ARTIFACT_BUCKET}/biomes/dev/ledger/assay-ingest.json`, {}, 'a main ledger record'],
    ['s3:PutObject', `${ARTIFACT_BUCKET}/biomes/dev-bob/ledger/assay-ingest.json`, {}, 'any ledger record (the store is in the devops account)'],
    ['secretsmanager:GetSecretValue', arn('secretsmanager', 'secret:rds!db-1234-AbCdEf'), {}, 'the database master secret'],
  ])('denies %s on %s (%s)', (action, resource, context, _why) => {
    expect(allows(sandpit, action, resource, context)).toBeNull();
  });

  it("the sandpit boundary is the environment's boundary minus the main biome", () => {
    const sandpitSide: Row[] = [
      ['lambda:InvokeFunction', arn('lambda', 'function:geo-dev-bob--assay-ingest')],
      ['states:StartExecution', arn('states', 'stateMachine:geo-dev-bob--plant-feed')],
      ['s3:PutObject', `arn:aws:s3:::geo-dev-bob-data-${ACCOUNT}/results/x.json`],
      ['logs:PutLogEvents', arn('logs', 'log-group:/aws/lambda/geo-dev-bob--assay-ingest')],
      ['rds-db:connect', arn('rds-db', 'dbuser:db-ABCDEFGHIJKL/biome_dev_bob')],
      ['sagemaker:InvokeEndpoint', arn('sagemaker', 'endpoint/geo-dev-models')],
    ];
    const mainSide: Row[] = [
      ['lambda:InvokeFunction', arn('lambda', 'function:geo-dev--assay-ingest')],
      ['states:StartExecution', arn('states', 'stateMachine:geo-dev--plant-feed')],
      ['states:StopExecution', arn('states', 'execution:geo-dev--plant-feed:run-1')],
      ['s3:PutObject', `arn:aws:s3:::geo-dev-data-${ACCOUNT}/results/x.json`],
      ['s3:GetObject', `arn:aws:s3:::geo-dev-data-${ACCOUNT}/results/x.json`],
      ['logs:PutLogEvents', arn('logs', 'log-group:/aws/lambda/geo-dev--assay-ingest')],
      ['rds-db:connect', arn('rds-db', 'dbuser:db-ABCDEFGHIJKL/biome_dev')],
    ];
    for (const [a, r] of sandpitSide) expect(allows(boundary, a, r), `${a} ${r}`).not.toBeNull();
    for (const [a, r] of mainSide) expect(allows(boundary, a, r), `${a} ${r}`).toBeNull();
    // ...which the environment's own boundary allows: the sandpit boundary is what removes them.
    const envBoundary = evaluateDocument(configAt('modules/workload-baseline'), 'boundary', values);
    for (const [a, r] of mainSide) expect(allows(envBoundary, a, r), `${a} ${r}`).not.toBeNull();
  });

  it('is trusted only by the sandpit deployers, and the main deploy role never by them (devops stack wiring)', () => {
    const baseline = configAt('modules/workload-baseline');
    const principals = (doc: string) => JSON.stringify((baseline.data.aws_iam_policy_document[doc].statement as Record<string, unknown>[])[0].principals);
    expect(principals('sandpit_deploy_assume')).toContain('${var.sandpit_deployer_role_arns}');
    expect(principals('sandpit_deploy_assume')).not.toContain('var.deployer_role_arns');
    expect(principals('deploy_assume')).toContain('${var.deployer_role_arns}');
    expect(principals('deploy_assume')).not.toContain('sandpit');
    const devops = configAt('stacks/devops');
    const deployers = JSON.stringify(devops.locals.find((l) => 'deployers' in l));
    expect(deployers).toContain('job.trust == \\"main\\"');
    expect(deployers).toContain('job.trust == \\"sandpit\\"');
    for (const env of ['dev', 'staging', 'prod']) {
      expect(devops.modules[`workload_${env}`].sandpit_deployer_role_arns).toBe(`\${local.sandpit_deployers["${env}"]}`);
      expect(devops.modules[`workload_${env}`].multi_tenant).toBe(`\${var.environments["${env}"].multi_tenant}`);
    }
  });

  it('the sandpit projects open the state through the sandpit role: backends/<env>-sandpit.s3.tfbackend differs from <env>.s3.tfbackend only in the role', async () => {
    const dir = join(INFRA_ROOT, 'stacks/biome/backends');
    const read = async (f: string) => (await readFile(join(dir, f), 'utf8')).split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
    const main = await read('dev.s3.tfbackend');
    const sandpitBackend = await read('dev-sandpit.s3.tfbackend');
    expect(sandpitBackend).toEqual(main.map((l) => l.replace(':role/geo-deploy-dev"', ':role/geo-deploy-dev-sandpit"')));
    expect(sandpitBackend.join('\n')).toContain('workspace_key_prefix = "biomes"');
    expect(main.join('\n')).toContain('role/geo-deploy-dev"');
    const codebuild = JSON.stringify(configAt('stacks/devops').modules.codebuild.environment_variables);
    expect(codebuild).toContain('backends/${each.value.env}${each.value.trust == \\"sandpit\\" ? \\"-sandpit\\" : \\"\\"}.s3.tfbackend');
  });
});

describe('the any-branch GitLab role (devops stack)', () => {
  const STORE = 'arn:aws:s3:::geo-devops-artifacts-dev-444444444444';
  let sandpit: Statement[];
  beforeAll(() => {
    sandpit = evaluateDocument(configAt('stacks/devops'), 'gitlab_sandpit', { 'module.artifact_bucket[env].bucket_arn': STORE, 'module.artifact_bucket[env].kms_key_arn': arn('kms', 'key/44444444') }, { dev: 'dev' });
  });

  it.each([`${STORE}/artifacts/assay-ingest/assay-ingest-${'a'.repeat(40)}.zip`, `${STORE}/biomes/dev-bob/ledger/assay-ingest.json`, `${STORE}/biomes/dev-mr-12/biome.json`])('may publish %s', (key) => {
    expect(allows(sandpit, 's3:PutObject', key)).not.toBeNull();
  });

  it.each([
    ['s3:PutObject', `${STORE}/biomes/dev/ledger/assay-ingest.json`],
    ['s3:PutObject', `${STORE}/biomes/dev/biome.json`],
    ['s3:DeleteObject', `${STORE}/biomes/dev/ledger/assay-ingest.json`],
    ['s3:PutObject', `${STORE}/biomes/staging/ledger/assay-ingest.json`],
    ['s3:DeleteObject', `${STORE}/artifacts/assay-ingest/assay-ingest-${'a'.repeat(40)}.zip`],
    ['sts:AssumeRole', role('geo-deploy-dev')],
    ['sts:AssumeRole', 'arn:aws:iam::222222222222:role/geo-deploy-staging'],
  ])('may not %s on %s', (action, resource) => {
    expect(allows(sandpit, action, resource)).toBeNull();
  });
});
