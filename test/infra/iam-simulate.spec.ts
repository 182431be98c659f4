import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeKeyId, renderStack } from './iam-render';
import { Decision, Principal, RenderedIam } from './iam-simulator';
import { copyInfraForCli, initOffline, OfflineTerraform, offlineTerraform, unavailable } from './terraform-cli';

/**
 * IAM as AWS judges it: the devops stack (with the workload accounts' baseline
 * it creates) applied offline with the REAL hashicorp/aws provider rendering
 * every policy document (iam-render.ts), and each question put to
 * @cloud-copilot/iam-simulate with the principal's identity policies, its
 * permissions boundary and the resource's policy (iam-simulator.ts).
 *
 * Rendered twice: with GitLab driving main (the default) and with CodePipeline.
 * Under CI=true a missing terraform or provider mirror fails these tests;
 * elsewhere they skip and say why.
 */

const DEVOPS = '444444444444';
const DEV = '111111111111';
const STAGING = '222222222222';
const PROD = '333333333333';

let tf: OfflineTerraform | undefined;
let why: string | undefined;
let copy: Awaited<ReturnType<typeof copyInfraForCli>> | undefined;
let gitlab: RenderedIam;
let pipeline: RenderedIam;

const variables = (orchestrator: 'gitlab' | 'codepipeline') => ({
  devops_account_id: DEVOPS,
  gitlab_project_path: 'geo/platform',
  source_location: 'https://gitlab.com/geo/platform.git',
  main_orchestrator: orchestrator,
  environments: {
    dev: { account_id: DEV, region: 'ap-southeast-2', multi_tenant: true },
    staging: { account_id: STAGING, region: 'ap-southeast-2' },
    prod: { account_id: PROD, region: 'ap-southeast-2' },
  },
});
const accounts = {
  '': DEVOPS,
  'module.workload_dev': DEV,
  'module.workload_staging': STAGING,
  'module.workload_prod': PROD,
};

beforeAll(async () => {
  tf = await offlineTerraform();
  why = unavailable(tf);
  if (why) return;
  copy = await copyInfraForCli();
  const stackDir = `${copy.root}/infra/stacks/devops`;
  await initOffline(tf!, stackDir);
  const render = (o: 'gitlab' | 'codepipeline') =>
    renderStack(tf!, {
      stackDir,
      providers: ['', 'dev', 'staging', 'prod'],
      variables: variables(o),
      accounts,
      label: o,
    });
  const [a, b] = await Promise.all([render('gitlab'), render('codepipeline')]);
  gitlab = new RenderedIam(a);
  pipeline = new RenderedIam(b);
  // For a look at what the provider rendered: IAM_RENDER_DUMP=<folder>.
  if (process.env.IAM_RENDER_DUMP)
    for (const [name, state] of [
      ['gitlab', a],
      ['codepipeline', b],
    ] as const)
      await writeFile(join(process.env.IAM_RENDER_DUMP, `devops-${name}.json`), JSON.stringify(state, null, 1));
}, 1_500_000);

afterAll(async () => {
  await copy?.cleanup();
});

/** Skips (saying why) off CI; fails under CI=true. */
function rendered(ctx: { skip(note?: string): void }): void {
  if (!why) return;
  if (process.env.CI === 'true')
    throw new Error(`${why}: under CI=true the IAM simulation must run (install terraform and the provider mirror).`);
  console.log(`${why}: skipping this IAM simulation.`);
  ctx.skip();
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
const STATE_KEY = arn('kms', `key/${fakeKeyId('module.workload_dev.module.state_bucket.aws_kms_key.this[0]')}`);
const ARTIFACT_KEY = arn('kms', `key/${fakeKeyId('module.workload_dev.module.artifact_bucket.aws_kms_key.this[0]')}`);

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
    ...['GetObject', 'PutObject', 'DeleteObject'].flatMap(
      (a) =>
        [
          [`s3:${a}`, n.state],
          [`s3:${a}`, `${n.state}.tflock`],
        ] as Row[],
    ),
    ...[
      'CreateFunction',
      'GetFunction',
      'GetFunctionConfiguration',
      'GetFunctionCodeSigningConfig',
      'GetFunctionConcurrency',
      'ListVersionsByFunction',
      'UpdateFunctionCode',
      'UpdateFunctionConfiguration',
      'PutFunctionConcurrency',
      'DeleteFunctionConcurrency',
      'TagResource',
      'UntagResource',
      'ListTags',
      'DeleteFunction',
    ].map((a) => [`lambda:${a}`, n.fn] as Row),
    ...[n.fnRole, n.smRole, n.schedulerRole].flatMap(
      (r) =>
        [
          ['iam:CreateRole', r, withBoundary],
          ['iam:PutRolePolicy', r, withBoundary],
          ['iam:DeleteRolePolicy', r, withBoundary],
          ['iam:DetachRolePolicy', r, withBoundary],
          ...[
            'GetRole',
            'DeleteRole',
            'TagRole',
            'UntagRole',
            'UpdateAssumeRolePolicy',
            'GetRolePolicy',
            'ListRolePolicies',
            'ListAttachedRolePolicies',
            'ListInstanceProfilesForRole',
          ].map((a) => [`iam:${a}`, r] as Row),
        ] as Row[],
    ),
    [
      'iam:AttachRolePolicy',
      n.fnRole,
      { ...withBoundary, 'iam:PolicyARN': 'arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole' },
    ],
    ['iam:PassRole', n.fnRole, { 'iam:PassedToService': 'lambda.amazonaws.com' }],
    ['iam:PassRole', n.smRole, { 'iam:PassedToService': 'states.amazonaws.com' }],
    ['iam:PassRole', n.schedulerRole, { 'iam:PassedToService': 'scheduler.amazonaws.com' }],
    ...[
      'CreateLogGroup',
      'DeleteLogGroup',
      'PutRetentionPolicy',
      'TagResource',
      'ListTagsForResource',
      'ListTagsLogGroup',
    ].flatMap(
      (a) =>
        [
          [`logs:${a}`, n.logGroup],
          [`logs:${a}`, n.smLogGroup],
        ] as Row[],
    ),
    ...[
      'CreateStateMachine',
      'DescribeStateMachine',
      'UpdateStateMachine',
      'DeleteStateMachine',
      'TagResource',
      'UntagResource',
      'ListTagsForResource',
      'PublishStateMachineVersion',
      'ListStateMachineVersions',
      'DeleteStateMachineVersion',
    ].map((a) => [`states:${a}`, n.sm] as Row),
    ['states:DescribeStateMachine', `${n.sm}:1`],
    ...[
      'CreateStateMachineAlias',
      'DescribeStateMachineAlias',
      'UpdateStateMachineAlias',
      'DeleteStateMachineAlias',
    ].map((a) => [`states:${a}`, `${n.sm}:live`] as Row),
    ...['CreateSchedule', 'GetSchedule', 'UpdateSchedule', 'DeleteSchedule'].map(
      (a) => [`scheduler:${a}`, n.schedule] as Row,
    ),
    ...['GetObject', 'PutObject', 'DeleteObject', 'GetObjectTagging', 'PutObjectTagging'].map(
      (a) => [`s3:${a}`, n.model] as Row,
    ),
    ...[
      'CreateBucket',
      'DeleteBucket',
      'ListBucket',
      'GetBucketTagging',
      'PutBucketTagging',
      'PutBucketPolicy',
      'GetBucketPolicy',
      'DeleteBucketPolicy',
      'PutBucketPublicAccessBlock',
      'PutBucketOwnershipControls',
      'PutEncryptionConfiguration',
      'GetEncryptionConfiguration',
    ].map((a) => [`s3:${a}`, n.dataBucket] as Row),
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
  // The plan's checksum check (data aws_s3_object: HeadObject, tags) and the pinned version Lambda fetches with the caller's rights.
  ['s3:GetObjectVersion', `${ARTIFACT_BUCKET}/artifacts/assay-ingest/assay-ingest-${'a'.repeat(40)}.zip`],
  ['s3:GetObjectTagging', `${ARTIFACT_BUCKET}/artifacts/assay-ingest/assay-ingest-${'a'.repeat(40)}.zip`],
  ['s3:ListBucket', ARTIFACT_BUCKET],
  ['kms:Decrypt', ARTIFACT_KEY],
  ['s3:ListBucket', MODELS_BUCKET],
  [
    'kms:GenerateDataKey',
    arn('kms', 'key/33333333-models'),
    { 'kms:ResourceAliases': ['alias/geo-models-dev-111111111111'] },
  ],
  ['rds:DescribeDBInstances', arn('rds', 'db:geo-dev')],
  ['sagemaker:DescribeEndpoint', arn('sagemaker', 'endpoint/geo-dev-models')],
  ...[
    'ec2:DescribeVpcs',
    'ec2:DescribeVpcAttribute',
    'ec2:DescribeSubnets',
    'ec2:DescribeSecurityGroups',
    'states:ValidateStateMachineDefinition',
    'logs:CreateLogDelivery',
    'logs:DescribeLogGroups',
  ].map((a) => [a, '*'] as Row),
];

const SANDPIT_BOUNDARY = `arn:aws:iam::${ACCOUNT}:policy/geo-boundary-dev-sandpit`;
const STORE = `arn:aws:s3:::geo-devops-artifacts-dev-${DEVOPS}`;
const STAGING_STORE = `arn:aws:s3:::geo-devops-artifacts-staging-${DEVOPS}`;
const CACHE = `arn:aws:s3:::geo-devops-nx-cache-${DEVOPS}/nx`;
const project = (name: string) => `arn:aws:codebuild:${REGION}:${DEVOPS}:project/${name}`;
const ZIP = `artifacts/assay-ingest/assay-ingest-${'a'.repeat(40)}.zip`;
const SUB = (ref: string) => `project_path:geo/platform:ref_type:branch:ref:${ref}`;
const WRITE_ONCE = { 's3:if-none-match': '*' };

const allowed = (d: Decision) => d === 'Allowed';

describe("the deploy role's policy (module workload-baseline), simulated for environment dev", () => {
  let deploy: Principal;
  beforeAll(() => {
    if (why) return;
    deploy = gitlab.role('geo-deploy-dev', DEV);
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
    ...[
      'ListBucketVersions',
      'GetBucketLocation',
      'GetBucketAcl',
      'GetBucketCORS',
      'GetBucketWebsite',
      'GetBucketVersioning',
      'GetBucketRequestPayment',
      'GetBucketLogging',
      'GetBucketObjectLockConfiguration',
      'GetBucketOwnershipControls',
      'GetBucketPublicAccessBlock',
      'GetLifecycleConfiguration',
      'GetReplicationConfiguration',
      'GetAccelerateConfiguration',
    ].map((a) => [`s3:${a}`, DATA_BUCKET] as Row),
    ...[
      'GetLogDelivery',
      'UpdateLogDelivery',
      'DeleteLogDelivery',
      'ListLogDeliveries',
      'PutResourcePolicy',
      'DescribeResourcePolicies',
    ].map((a) => [`logs:${a}`, '*'] as Row),
  ];

  it.for(needs.map(([a, r, c]) => [a, r, c ?? {}] as const))(
    'allows %s on %s',
    async ([action, resource, context], ctx) => {
      rendered(ctx);
      expect(await gitlab.decide(deploy, action, resource, context)).toBe('Allowed');
    },
  );

  it.for([
    [
      'iam:PutRolePolicy',
      role('geo-models-endpoint-dev'),
      {},
      'the shared SageMaker role (named outside the biome pattern)',
    ],
    ['iam:UpdateAssumeRolePolicy', role('geo-models-endpoint-dev'), {}, 'the trust of the shared SageMaker role'],
    ['iam:PutRolePolicy', role('geo-dev-bob-assay-ingest'), {}, 'a biome role without the boundary'],
    ['iam:CreateRole', role('geo-dev-bob-admin'), {}, 'a new role without a boundary'],
    [
      'iam:CreateRole',
      role('geo-dev-bob-admin'),
      { 'iam:PermissionsBoundary': `arn:aws:iam::${ACCOUNT}:policy/other` },
      'a new role with another boundary',
    ],
    [
      'iam:AttachRolePolicy',
      role('geo-dev-bob-assay-ingest'),
      { ...withBoundary, 'iam:PolicyARN': 'arn:aws:iam::aws:policy/AdministratorAccess' },
      'AdministratorAccess on a biome role',
    ],
    ['iam:DeleteRolePermissionsBoundary', role('geo-dev-bob-assay-ingest'), withBoundary, 'removing a boundary'],
    ['iam:PutRolePolicy', role('geo-deploy-dev'), withBoundary, 'its own policy'],
    ['iam:UpdateAssumeRolePolicy', role('geo-deploy-dev'), {}, 'its own trust'],
    ['iam:CreatePolicyVersion', BOUNDARY, {}, 'the boundary itself'],
    [
      'iam:PassRole',
      role('geo-dev-bob-assay-ingest'),
      { 'iam:PassedToService': 'ec2.amazonaws.com' },
      'a biome role to EC2',
    ],
    ['iam:PassRole', role('geo-deploy-dev'), { 'iam:PassedToService': 'lambda.amazonaws.com' }, 'itself to Lambda'],
    [
      'lambda:UpdateFunctionCode',
      arn('lambda', 'function:geo-schema-manager-dev'),
      {},
      'the schema manager (it holds the master secret)',
    ],
    ['lambda:UpdateFunctionCode', arn('lambda', 'function:geo-artifact-deployer-dev'), {}, 'the artifact deployer'],
    [
      'lambda:UpdateFunctionCode',
      arn('lambda', 'function:geo-staging-assay-ingest'),
      {},
      "another environment's function",
    ],
    [
      'secretsmanager:GetSecretValue',
      arn('secretsmanager', 'secret:rds!db-1234-AbCdEf'),
      {},
      'the database master secret',
    ],
    ['sts:AssumeRole', role('OrganizationAccountAccessRole'), {}, 'another role'],
    [
      's3:PutObject',
      `${ARTIFACT_BUCKET}/biomes/dev/ledger/assay-ingest.json`,
      {},
      'a ledger record (deploys through the artifact deployer)',
    ],
    ['s3:PutBucketPolicy', STATE_BUCKET, {}, 'the state bucket policy'],
  ] as [string, string, Record<string, string>, string][])(
    'denies %s on %s (%s)',
    async ([action, resource, context, _why], ctx) => {
      rendered(ctx);
      expect(await gitlab.decide(deploy, action, resource, context)).not.toBe('Allowed');
    },
  );
});

describe('the sandpit deploy role (module workload-baseline, sandpit.tf), simulated for environment dev', () => {
  let sandpit: Principal;
  /** Its allows alone, without the never-main-biome deny: the name patterns themselves never match a main-biome name. */
  let allowsOnly: Principal;
  beforeAll(() => {
    if (why) return;
    sandpit = gitlab.role('geo-deploy-dev-sandpit', DEV);
    allowsOnly = { ...sandpit, identity: sandpit.identity.filter((p) => p.name !== 'never-main-biome') };
    expect(sandpit.identity.map((p) => p.name).sort()).toEqual(['deploy-sandpits', 'never-main-biome']);
  });

  const sandpitOnlyCalls: Row[] = [['lambda:InvokeFunction', arn('lambda', 'function:geo-schema-manager-dev-sandpit')]];
  // The trust policy a role keeps: a sandpit role's may not be rewritten (UpdateAssumeRolePolicy is asked for below).
  const sandpitCalls = (biome: string) =>
    biomeCalls(biome, SANDPIT_BOUNDARY).filter(([a]) => a !== 'iam:UpdateAssumeRolePolicy');

  it.for(
    [...sandpitCalls('dev-bob'), ...sandpitCalls('dev-mr-142'), ...sharedCalls, ...sandpitOnlyCalls].map(
      ([a, r, c]) => [a, r, c ?? {}] as const,
    ),
  )('allows %s on %s', async ([action, resource, context], ctx) => {
    rendered(ctx);
    expect(await gitlab.decide(sandpit, action, resource, context)).toBe('Allowed');
  });

  // Every call the biome stack makes on the MAIN biome's own resources, even with the right boundary.
  const mainCalls = [...biomeCalls('dev', SANDPIT_BOUNDARY), ...biomeCalls('dev', BOUNDARY)];

  it.for(mainCalls.map(([a, r, c]) => [a, r, c ?? {}] as const))(
    'denies %s on main-biome %s, and its name patterns alone never match it',
    async ([action, resource, context], ctx) => {
      rendered(ctx);
      expect(await gitlab.decide(sandpit, action, resource, context)).not.toBe('Allowed');
      expect(await gitlab.decide(allowsOnly, action, resource, context)).not.toBe('Allowed');
    },
  );

  it.for([
    [
      'iam:PutRolePolicy',
      role('geo-dev--x-scheduler'),
      { 'iam:PermissionsBoundary': SANDPIT_BOUNDARY },
      'the role of a main project named "x-scheduler" (matches <prefix>-<env>-?*-scheduler)',
    ],
    [
      'states:UpdateStateMachineAlias',
      arn('states', 'stateMachine:geo-dev--plant-feed:a--b'),
      {},
      'a main state machine through an alias named with "--"',
    ],
    [
      'lambda:UpdateFunctionCode',
      arn('lambda', 'function:geo-dev--assay-ingest:a--b'),
      {},
      'a main function through a qualifier named with "--"',
    ],
  ] as [string, string, Record<string, string>, string][])(
    'the explicit deny closes what a pattern alone would let through: %s on %s (%s)',
    async ([action, resource, context, _why], ctx) => {
      rendered(ctx);
      expect(await gitlab.decide(allowsOnly, action, resource, context)).toBe('Allowed');
      expect(await gitlab.decide(sandpit, action, resource, context)).toBe('ExplicitlyDenied');
    },
  );

  it.for([
    ['sts:AssumeRole', role('geo-deploy-dev'), {}, 'the main deploy role'],
    ['iam:UpdateAssumeRolePolicy', role('geo-deploy-dev'), {}, "the main deploy role's trust"],
    [
      'iam:PutRolePolicy',
      role('geo-deploy-dev-sandpit'),
      { 'iam:PermissionsBoundary': SANDPIT_BOUNDARY },
      'its own policy',
    ],
    ['iam:UpdateAssumeRolePolicy', role('geo-deploy-dev-sandpit'), {}, 'its own trust'],
    ['iam:CreatePolicyVersion', SANDPIT_BOUNDARY, {}, 'its boundary'],
    ['iam:CreatePolicyVersion', BOUNDARY, {}, "the environment's boundary"],
    ['iam:CreateRole', role('geo-dev-bob--assay-ingest'), {}, 'a sandpit role without a boundary'],
    [
      'iam:CreateRole',
      role('geo-dev-bob--assay-ingest'),
      { 'iam:PermissionsBoundary': BOUNDARY },
      "a sandpit role with the environment's boundary (allows the main biome)",
    ],
    [
      'iam:PutRolePolicy',
      role('geo-dev-bob--assay-ingest'),
      { 'iam:PermissionsBoundary': BOUNDARY },
      "a role bounded by the environment's boundary",
    ],
    [
      'iam:AttachRolePolicy',
      role('geo-dev-bob--assay-ingest'),
      { 'iam:PermissionsBoundary': SANDPIT_BOUNDARY, 'iam:PolicyARN': 'arn:aws:iam::aws:policy/AdministratorAccess' },
      'AdministratorAccess',
    ],
    [
      'iam:PassRole',
      role('geo-dev--assay-ingest'),
      { 'iam:PassedToService': 'lambda.amazonaws.com' },
      'a main role to Lambda',
    ],
    [
      'iam:PassRole',
      role('geo-dev-bob--assay-ingest'),
      { 'iam:PassedToService': 'ec2.amazonaws.com' },
      'a sandpit role to EC2',
    ],
    ['iam:PutRolePolicy', role('geo-models-endpoint-dev'), {}, 'the shared SageMaker role'],
    ['lambda:UpdateFunctionCode', arn('lambda', 'function:geo-schema-manager-dev'), {}, 'the schema manager'],
    [
      'lambda:InvokeFunction',
      arn('lambda', 'function:geo-schema-manager-dev'),
      {},
      "the main schema manager (it would sleep or drop the main biome's schema)",
    ],
    [
      'lambda:UpdateFunctionCode',
      arn('lambda', 'function:geo-schema-manager-dev-sandpit'),
      {},
      'the sandpit schema manager',
    ],
    [
      'lambda:UpdateFunctionConfiguration',
      arn('lambda', 'function:geo-schema-manager-dev-sandpit'),
      {},
      "the sandpit schema manager's SCHEMA_PREFIX",
    ],
    ['lambda:UpdateFunctionCode', arn('lambda', 'function:geo-artifact-deployer-dev'), {}, 'the artifact deployer'],
    [
      'lambda:UpdateFunctionCode',
      arn('lambda', 'function:geo-staging-bob--assay-ingest'),
      {},
      "another environment's function",
    ],
    ['lambda:InvokeFunction', arn('lambda', 'function:geo-dev--assay-ingest'), {}, 'a main function'],
    ['states:StartExecution', arn('states', 'stateMachine:geo-dev--plant-feed'), {}, 'a main state machine'],
    ['s3:GetObject', `${STATE_BUCKET}/biomes/dev/biome.tfstate`, {}, "the main biome's state (workspace dev)"],
    ['s3:PutObject', `${STATE_BUCKET}/biomes/dev/biome.tfstate.tflock`, {}, "the main biome's state lock"],
    ['s3:GetObject', `${STATE_BUCKET}/biome.tfstate`, {}, 'the default workspace'],
    ['s3:PutObject', `${STATE_BUCKET}/shared.tfstate`, {}, "the shared stack's state"],
    ['s3:PutObject', `${STATE_BUCKET}/biomes/staging-x/biome.tfstate`, {}, 'a workspace of another environment'],
    ['s3:PutBucketPolicy', STATE_BUCKET, {}, 'the state bucket policy'],
    [
      's3:PutObject',
      `${MODELS_BUCKET}/models/dev/ore-grade/ore-grade-${'a'.repeat(40)}.tar.gz`,
      {},
      "the main biome's models",
    ],
    ['s3:PutObject', `${MODELS_BUCKET}/models/devx/m.tar.gz`, {}, 'models outside any dev biome'],
    ['s3:PutObject', `${ARTIFACT_BUCKET}/biomes/dev/ledger/assay-ingest.json`, {}, 'a main ledger record'],
    [
      's3:PutObject',
      `${ARTIFACT_BUCKET}/biomes/dev-bob/ledger/assay-ingest.json`,
      {},
      'any ledger record (the store is in the devops account)',
    ],
    [
      'secretsmanager:GetSecretValue',
      arn('secretsmanager', 'secret:rds!db-1234-AbCdEf'),
      {},
      'the database master secret',
    ],
    [
      'iam:UpdateAssumeRolePolicy',
      role('geo-dev-bob--assay-ingest'),
      {},
      'the trust of a sandpit role it created (a branch would make it assumable from anywhere)',
    ],
    ['iam:UpdateAssumeRolePolicy', role('geo-dev-bob-scheduler'), {}, "the trust of a sandpit's scheduler role"],
  ] as [string, string, Record<string, string>, string][])(
    'denies %s on %s (%s)',
    async ([action, resource, context, _why], ctx) => {
      rendered(ctx);
      expect(await gitlab.decide(sandpit, action, resource, context)).not.toBe('Allowed');
    },
  );
});

// ---------------------------------------------------------------------------
// What a role a branch mints can reach: any inline policy, under the sandpit
// boundary (the only boundary the sandpit deploy role may set), tagged as the
// biome stack tags it.
// ---------------------------------------------------------------------------

describe('a role a sandpit creates (any policy, sandpit boundary)', () => {
  const minted = (biome: string, dbUser = `biome_${biome.replace(/-/g, '_')}`) =>
    gitlab.mintedRole(`geo-${biome}--assay-ingest`, ACCOUNT, SANDPIT_BOUNDARY, { biome, database_user: dbUser });
  const param = (path: string) => arn('ssm', `parameter/geo/dev/${path}`);
  const secret = (path: string) => arn('secretsmanager', `secret:geo/dev/${path}-AbCdEf`);

  it.for([
    ['lambda:InvokeFunction', arn('lambda', 'function:geo-dev-bob--grade-predict')],
    ['states:StartExecution', arn('states', 'stateMachine:geo-dev-bob--plant-feed')],
    ['s3:PutObject', `arn:aws:s3:::geo-dev-bob-data-${ACCOUNT}/results/x.json`],
    ['s3:GetObject', `arn:aws:s3:::geo-datasets-dev-${ACCOUNT}/assays/2026.csv`],
    ['logs:PutLogEvents', arn('logs', 'log-group:/aws/lambda/geo-dev-bob--assay-ingest:log-stream:2026/01/01/x')],
    ['rds-db:connect', arn('rds-db', 'dbuser:db-ABCDEFGHIJKL/biome_dev_bob')],
    ['sagemaker:InvokeEndpoint', arn('sagemaker', 'endpoint/geo-dev-models')],
    ['ssm:GetParameter', param('dev-bob/api-key')],
    ['secretsmanager:GetSecretValue', secret('dev-bob/token')],
  ])('tagged biome=dev-bob, may %s on its own %s', async ([action, resource], ctx) => {
    rendered(ctx);
    expect(await gitlab.decide(minted('dev-bob'), action, resource)).toBe('Allowed');
  });

  it.for([
    ['lambda:InvokeFunction', arn('lambda', 'function:geo-dev--assay-ingest'), 'a main function'],
    ['states:StartExecution', arn('states', 'stateMachine:geo-dev--plant-feed'), 'a main state machine'],
    ['states:StopExecution', arn('states', 'execution:geo-dev--plant-feed:run-1'), 'a main execution'],
    ['s3:GetObject', `arn:aws:s3:::geo-dev-data-${ACCOUNT}/results/x.json`, "the main biome's data"],
    ['s3:PutObject', `arn:aws:s3:::geo-dev-alice-data-${ACCOUNT}/results/x.json`, "another sandpit's data"],
    ['s3:PutObject', `arn:aws:s3:::geo-datasets-dev-${ACCOUNT}/assays/2026.csv`, 'a shared data set'],
    [
      'logs:PutLogEvents',
      arn('logs', 'log-group:/aws/lambda/geo-dev--assay-ingest:log-stream:2026/01/01/x'),
      "the main biome's logs",
    ],
    ['rds-db:connect', arn('rds-db', 'dbuser:db-ABCDEFGHIJKL/biome_dev'), "the main biome's database user"],
    ['rds-db:connect', arn('rds-db', 'dbuser:db-ABCDEFGHIJKL/biome_dev_alice'), "another sandpit's database user"],
    ['ssm:GetParameter', param('db-password'), "the environment's (main biome's) parameter"],
    ['ssm:GetParameter', param('dev-alice/api-key'), "another sandpit's parameter"],
    ['secretsmanager:GetSecretValue', secret('db-password'), "the environment's secret"],
    ['secretsmanager:GetSecretValue', arn('secretsmanager', 'secret:rds!db-1234-AbCdEf'), 'the database master secret'],
    ['iam:UpdateAssumeRolePolicy', role('geo-dev-bob--assay-ingest'), 'its own trust'],
    ['sts:AssumeRole', role('geo-deploy-dev'), 'the main deploy role'],
    ['lambda:UpdateFunctionCode', arn('lambda', 'function:geo-dev--assay-ingest'), 'a main function'],
  ])('tagged biome=dev-bob, may not %s on %s (%s)', async ([action, resource, _why], ctx) => {
    rendered(ctx);
    expect(await gitlab.decide(minted('dev-bob'), action, resource)).not.toBe('Allowed');
  });

  it.for([
    ['s3:GetObject', `arn:aws:s3:::geo-dev-data-${ACCOUNT}/results/x.json`],
    ['ssm:GetParameter', param('dev/api-key')],
    ['rds-db:connect', arn('rds-db', 'dbuser:db-ABCDEFGHIJKL/biome_dev')],
  ])(
    'tagged as the main biome (biome=dev, database_user=biome_dev), still may not %s on %s',
    async ([action, resource], ctx) => {
      rendered(ctx);
      expect(await gitlab.decide(minted('dev', 'biome_dev'), action, resource)).not.toBe('Allowed');
    },
  );

  it("the same rows are allowed by the environment's own boundary: the sandpit boundary is what removes them", async (ctx) => {
    rendered(ctx);
    const envBounded = { ...minted('dev-bob'), boundary: gitlab.policy(BOUNDARY) };
    for (const [a, r] of [
      ['ssm:GetParameter', param('db-password')],
      ['rds-db:connect', arn('rds-db', 'dbuser:db-ABCDEFGHIJKL/biome_dev')],
      ['s3:PutObject', `arn:aws:s3:::geo-dev-data-${ACCOUNT}/results/x.json`],
    ]) {
      expect(await gitlab.decide(envBounded, a, r), `${a} ${r}`).toBe('Allowed');
    }
  });
});

// ---------------------------------------------------------------------------
// The GitLab roles (devops stack): who may assume them, and what they may do.
// ---------------------------------------------------------------------------

describe('who may assume the GitLab roles (trust policies, web identity)', () => {
  const claims = (ref: string, protectedRef: boolean, project = 'geo/platform') => ({
    'gitlab.com:aud': 'sts.amazonaws.com',
    'gitlab.com:sub': `project_path:${project}:ref_type:branch:ref:${ref}`,
    'gitlab.com:ref_protected': String(protectedRef),
  });

  it.for([
    ['geo-gitlab-sandpit', DEVOPS, claims('feature/x', false), 'Allowed'],
    ['geo-gitlab-sandpit', DEVOPS, claims('feature/x', false, 'evil/fork'), 'ImplicitlyDenied'],
    ['geo-gitlab-release', DEVOPS, claims('main', true), 'Allowed'],
    ['geo-gitlab-release', DEVOPS, claims('main', false), 'ImplicitlyDenied'],
    ['geo-gitlab-release', DEVOPS, claims('feature/x', true), 'ImplicitlyDenied'],
    ['geo-gitlab-release', DEVOPS, claims('feature/x', false), 'ImplicitlyDenied'],
    ['geo-gitlab-board', DEVOPS, claims('main', true), 'Allowed'],
    ['geo-gitlab-board', DEVOPS, claims('feature/x', false), 'ImplicitlyDenied'],
    ['geo-gitlab-board', DEVOPS, claims('main', false), 'ImplicitlyDenied'],
    ['geo-drift-dev', DEV, claims('main', true), 'Allowed'],
    ['geo-drift-prod', PROD, claims('main', true), 'Allowed'],
    ['geo-drift-prod', PROD, claims('main', false), 'ImplicitlyDenied'],
    ['geo-drift-staging', STAGING, claims('feature/x', false), 'ImplicitlyDenied'],
  ] as const)('%s (account %s) with claims %j: %s', async ([roleName, account, c, expected], ctx) => {
    rendered(ctx);
    expect(await gitlab.assumeWithWebIdentity(roleName, account, c)).toBe(expected);
  });
});

describe('the any-branch GitLab role (devops stack)', () => {
  let sandpit: Principal;
  beforeAll(() => {
    if (why) return;
    sandpit = gitlab.role('geo-gitlab-sandpit', DEVOPS);
  });
  const ownSub = { 'gitlab.com:sub': SUB('feature/x') };

  it.for([
    [`${STORE}/${ZIP}`, WRITE_ONCE],
    [`${STORE}/biomes/dev-bob/ledger/assay-ingest.json`, {}],
    [`${STORE}/biomes/dev-mr-12/biome.json`, {}],
  ] as [string, Record<string, string>][])('may publish %s (%j)', async ([key, context], ctx) => {
    rendered(ctx);
    expect(await gitlab.decide(sandpit, 's3:PutObject', key, context)).toBe('Allowed');
  });

  it.for([
    ['s3:PutObject', `${STORE}/biomes/dev/ledger/assay-ingest.json`, {}, "a main biome's record"],
    ['s3:PutObject', `${STORE}/biomes/dev/biome.json`, {}, "a main biome's metadata"],
    ['s3:DeleteObject', `${STORE}/biomes/dev/ledger/assay-ingest.json`, {}, "a main biome's record"],
    ['s3:PutObject', `${STORE}/biomes/staging/ledger/assay-ingest.json`, {}, 'a staging record'],
    ['s3:PutObject', `${STAGING_STORE}/biomes/staging/ledger/assay-ingest.json`, {}, "staging's store"],
    ['s3:PutObject', `${STORE}/${ZIP}`, {}, 'an artifact without If-None-Match (would replace recorded bytes)'],
    ['s3:DeleteObject', `${STORE}/${ZIP}`, {}, 'an artifact'],
    ['s3:DeleteObjectVersion', `${STORE}/${ZIP}`, {}, 'an artifact version'],
    ['codebuild:StartBuild', project('geo-deploy-dev'), {}, 'the main deploy project'],
    ['codebuild:StartBuildBatch', project('geo-deploy-dev'), {}, 'a batch of the main deploy project'],
    ['codebuild:StartBuild', project('geo-promote-prod'), {}, 'the prod promotion'],
    ['sts:AssumeRole', `arn:aws:iam::${DEV}:role/geo-deploy-dev`, {}, 'the dev deploy role'],
    [
      'sts:AssumeRole',
      `arn:aws:iam::${DEV}:role/geo-deploy-dev-sandpit`,
      {},
      'even the sandpit deploy role (only the sandpit projects hold workload credentials)',
    ],
    ['sts:AssumeRole', `arn:aws:iam::${STAGING}:role/geo-deploy-staging`, {}, 'the staging deploy role'],
    ['s3:PutObject', `${CACHE}/main/123.tar.gz`, { ...WRITE_ONCE, ...ownSub }, "main's cache scope"],
    [
      's3:PutObject',
      `${CACHE}/branches/${SUB('other')}/~/123.tar.gz`,
      { ...WRITE_ONCE, ...ownSub },
      "another branch's cache scope",
    ],
    [
      's3:PutObject',
      `${CACHE}/branches/${SUB('feature')}/~/123.tar.gz`,
      { ...WRITE_ONCE, 'gitlab.com:sub': SUB('feature/x') },
      'the scope of a branch whose name prefixes its own',
    ],
    [
      's3:PutObject',
      `${CACHE}/branches/${SUB('feature/x')}/~/123.tar.gz`,
      ownSub,
      'its own scope without If-None-Match (would replace an entry)',
    ],
    ['s3:DeleteObject', `${CACHE}/branches/${SUB('feature/x')}/~/123.tar.gz`, ownSub, 'an entry of its own scope'],
  ] as [string, string, Record<string, string>, string][])(
    'may not %s on %s (%s)',
    async ([action, resource, context, _why], ctx) => {
      rendered(ctx);
      expect(await gitlab.decide(sandpit, action, resource, context, { oidcSub: context['gitlab.com:sub'] })).not.toBe(
        'Allowed',
      );
    },
  );

  it('writes its own cache scope (bound to its token sub) once, reads main, and starts batches of the sandpit project only', async (ctx) => {
    rendered(ctx);
    expect(
      await gitlab.decide(sandpit, 's3:PutObject', `${CACHE}/branches/${SUB('feature/x')}/~/123.tar.gz`, WRITE_ONCE, {
        oidcSub: SUB('feature/x'),
      }),
    ).toBe('Allowed');
    expect(await gitlab.decide(sandpit, 's3:GetObject', `${CACHE}/main/123.tar.gz`)).toBe('Allowed');
    for (const action of [
      'codebuild:StartBuild',
      'codebuild:StartBuildBatch',
      'codebuild:RetryBuildBatch',
      'codebuild:BatchGetBuildBatches',
    ]) {
      expect(await gitlab.decide(sandpit, action, project('geo-deploy-dev-sandpit')), action).toBe('Allowed');
    }
  });
});

describe("the sandpit CodeBuild projects (run any branch's buildspec)", () => {
  it.for(['geo-deploy-dev-sandpit', 'geo-destroy-dev'])(
    "%s: writes artifacts once, never deletes them, never writes a main record, main's cache or assumes a main role",
    async (name, ctx) => {
      rendered(ctx);
      const p = gitlab.role(name, DEVOPS);
      expect(await gitlab.decide(p, 's3:PutObject', `${STORE}/${ZIP}`, WRITE_ONCE)).toBe('Allowed');
      expect(await gitlab.decide(p, 's3:PutObject', `${STORE}/biomes/dev-bob/ledger/assay-ingest.json`)).toBe(
        'Allowed',
      );
      for (const [action, resource, context] of [
        ['s3:PutObject', `${STORE}/${ZIP}`, {}],
        ['s3:DeleteObject', `${STORE}/${ZIP}`, {}],
        ['s3:PutObject', `${STORE}/biomes/dev/ledger/assay-ingest.json`, {}],
        ['s3:DeleteObject', `${STORE}/biomes/dev/history/assay-ingest/x.json`, {}],
        ['s3:PutObject', `${CACHE}/main/123.tar.gz`, WRITE_ONCE],
        ['s3:PutObject', `${CACHE}/branches/x/123.tar.gz`, WRITE_ONCE],
        ['sts:AssumeRole', `arn:aws:iam::${DEV}:role/geo-deploy-dev`, {}],
        ['codebuild:StartBuild', project('geo-deploy-dev'), {}],
      ] as [string, string, Record<string, string>][]) {
        expect(await gitlab.decide(p, action, resource, context), `${action} ${resource}`).not.toBe('Allowed');
      }
    },
  );
});

// ---------------------------------------------------------------------------
// Leases in the store (tools/nx-biome/src/operations/store-lock.ts): a lease
// is an object written, listed, read and deleted below locks/<scope>/.
// ---------------------------------------------------------------------------

describe('leases in the store: sandpits take their own, never a main one', () => {
  const SANDPIT_PRINCIPALS = ['geo-gitlab-sandpit', 'geo-deploy-dev-sandpit', 'geo-destroy-dev'];
  const MAIN_PRINCIPALS = ['geo-gitlab-release', 'geo-deploy-dev'];
  const entry = (scope: string) => `${STORE}/locks/${scope}/exclusive.0123456789abcdef.0.json`;
  const LEASE_ACTIONS = ['s3:PutObject', 's3:DeleteObject', 's3:GetObject'];
  // What a sandpit deploy or destroy writes: its biome's lease folder (entries, the
  // permanent scope.json marker, the incarnation) and the sandpits' collection scope.
  const SANDPIT_KEYS = [
    entry('biomes/dev-bob'),
    `${STORE}/locks/biomes/dev-bob/scope.json`,
    `${STORE}/locks/biomes/dev-mr-12/incarnation.json`,
    entry('gc-sandpits'),
    `${STORE}/locks/gc-sandpits/scope.json`,
  ];
  // What would let a branch make a main deploy wait (and fail BIOME_LOCKED), or
  // change a main biome's incarnation: the main biome's leases and main's collection.
  const MAIN_KEYS = [
    entry('biomes/dev'),
    `${STORE}/locks/biomes/dev/scope.json`,
    `${STORE}/locks/biomes/dev/incarnation.json`,
    entry('gc'),
    `${STORE}/locks/gc/scope.json`,
  ];

  it.for(
    SANDPIT_PRINCIPALS.flatMap((name) =>
      SANDPIT_KEYS.flatMap((key) => LEASE_ACTIONS.map((action) => [name, action, key] as const)),
    ),
  )('%s may %s %s', async ([name, action, key], ctx) => {
    rendered(ctx);
    expect(await gitlab.decide(gitlab.role(name, DEVOPS), action, key)).toBe('Allowed');
  });

  it.for(
    SANDPIT_PRINCIPALS.flatMap((name) =>
      MAIN_KEYS.flatMap((key) => ['s3:PutObject', 's3:DeleteObject'].map((action) => [name, action, key] as const)),
    ),
  )('%s may not %s %s', async ([name, action, key], ctx) => {
    rendered(ctx);
    expect(await gitlab.decide(gitlab.role(name, DEVOPS), action, key)).not.toBe('Allowed');
  });

  it.for(
    MAIN_PRINCIPALS.flatMap((name) =>
      [...MAIN_KEYS, ...SANDPIT_KEYS].flatMap((key) => LEASE_ACTIONS.map((action) => [name, action, key] as const)),
    ),
  )('GitLab drives main: %s may %s %s', async ([name, action, key], ctx) => {
    rendered(ctx);
    expect(await gitlab.decide(gitlab.role(name, DEVOPS), action, key)).toBe('Allowed');
  });

  it.for(LEASE_ACTIONS.flatMap((action) => MAIN_KEYS.map((key) => [action, key] as const)))(
    'CodePipeline drives main: its deploy project may %s %s',
    async ([action, key], ctx) => {
      rendered(ctx);
      expect(await pipeline.decide(pipeline.role('geo-deploy-dev', DEVOPS), action, key)).toBe('Allowed');
    },
  );
});

// ---------------------------------------------------------------------------
// One orchestrator of main, and what main restores from the cache.
// ---------------------------------------------------------------------------

describe('one orchestrator of main: the release role under GitLab and under CodePipeline', () => {
  const calls: [string, string, Record<string, string>][] = [
    ['codebuild:StartBuild', project('geo-deploy-dev'), {}],
    ['codebuild:StartBuild', project('geo-promote-prod'), {}],
    ['codebuild:StartBuildBatch', project('geo-deploy-dev'), {}],
    ['s3:PutObject', `${STORE}/biomes/dev/ledger/assay-ingest.json`, {}],
    ['s3:PutObject', `${STORE}/${ZIP}`, WRITE_ONCE],
    ['sts:AssumeRole', `arn:aws:iam::${DEV}:role/geo-deploy-dev`, {}],
    ['sts:AssumeRole', `arn:aws:iam::${PROD}:role/geo-deploy-prod`, {}],
    ['s3:PutObject', `${CACHE}/main/123.tar.gz`, WRITE_ONCE],
  ];

  it.for(calls)('GitLab drives main: the release role may %s on %s', async ([action, resource, context], ctx) => {
    rendered(ctx);
    expect(await gitlab.decide(gitlab.role('geo-gitlab-release', DEVOPS), action, resource, context)).toBe('Allowed');
  });

  it.for(calls)(
    'CodePipeline drives main: the release role may not %s on %s',
    async ([action, resource, context], ctx) => {
      rendered(ctx);
      expect(await pipeline.decide(pipeline.role('geo-gitlab-release', DEVOPS), action, resource, context)).not.toBe(
        'Allowed',
      );
    },
  );

  it('CodePipeline drives main: its role starts the main projects, whose builds alone assume the deploy roles', async (ctx) => {
    rendered(ctx);
    const role = pipeline.role('geo-main-pipeline', DEVOPS);
    expect(await pipeline.decide(role, 'codebuild:StartBuild', project('geo-deploy-dev'))).toBe('Allowed');
    expect(await pipeline.decide(role, 'codebuild:StartBuild', project('geo-deploy-dev-sandpit'))).not.toBe('Allowed');
    expect(
      await pipeline.decide(
        pipeline.role('geo-deploy-dev', DEVOPS),
        'sts:AssumeRole',
        `arn:aws:iam::${DEV}:role/geo-deploy-dev`,
      ),
    ).toBe('Allowed');
    expect(
      await pipeline.decide(
        pipeline.role('geo-promote-prod', DEVOPS),
        'sts:AssumeRole',
        `arn:aws:iam::${PROD}:role/geo-deploy-prod`,
      ),
    ).toBe('Allowed');
  });

  it.for([
    ['gitlab', 'geo-gitlab-release', true],
    ['gitlab', 'geo-deploy-dev', true],
    ['gitlab', 'geo-gitlab-sandpit', false],
    ['gitlab', 'geo-deploy-dev-sandpit', false],
    ['gitlab', 'geo-destroy-dev', false],
    ['codepipeline', 'geo-deploy-dev', true],
    ['codepipeline', 'geo-gitlab-release', false],
    ['codepipeline', 'geo-gitlab-sandpit', false],
    ['codepipeline', 'geo-deploy-dev-sandpit', false],
  ] as const)("orchestrator %s: %s writes main's cache scope: %s", async ([orchestrator, name, expected], ctx) => {
    rendered(ctx);
    const iam = orchestrator === 'gitlab' ? gitlab : pipeline;
    const decision = await iam.decide(iam.role(name, DEVOPS), 's3:PutObject', `${CACHE}/main/123.tar.gz`, WRITE_ONCE, {
      oidcSub: SUB('main'),
    });
    expect(allowed(decision)).toBe(expected);
  });

  it("the bucket policy refuses main's scope to a role whose identity policy allows everything, and replacing or deleting any entry", async (ctx) => {
    rendered(ctx);
    const admin: Principal = {
      arn: `arn:aws:iam::${DEVOPS}:role/geo-something-else`,
      account: DEVOPS,
      identity: [
        {
          name: 'anything',
          policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
        },
      ],
    };
    expect(await gitlab.decide(admin, 's3:PutObject', `${CACHE}/main/123.tar.gz`, WRITE_ONCE)).toBe('ExplicitlyDenied');
    expect(await gitlab.decide(admin, 's3:PutObject', `${CACHE}/branches/x/~/123.tar.gz`, WRITE_ONCE)).toBe('Allowed');
    expect(await gitlab.decide(admin, 's3:PutObject', `${CACHE}/branches/x/~/123.tar.gz`)).toBe('ExplicitlyDenied');
    expect(
      await gitlab.decide(gitlab.role('geo-gitlab-release', DEVOPS), 's3:PutObject', `${CACHE}/main/123.tar.gz`),
    ).toBe('ExplicitlyDenied');
    expect(await gitlab.decide(admin, 's3:DeleteObject', `${CACHE}/main/123.tar.gz`)).toBe('ExplicitlyDenied');
  });

  it('the main CodeBuild projects state the main cache scope, the sandpit ones none (rendered project environment)', async (ctx) => {
    rendered(ctx);
    for (const iam of [gitlab, pipeline]) {
      const scope = (name: string) => {
        const p = iam.state.find((i) => i.type === 'aws_codebuild_project' && i.values.name === name)!;
        const env = (p.values.environment as { environment_variable: { name: string; value: string }[] }[])[0]
          .environment_variable;
        return env.find((v) => v.name === 'BIOME_NX_CACHE_SCOPE')?.value;
      };
      expect(scope('geo-deploy-dev')).toBe('main');
      expect(scope('geo-deploy-dev-sandpit')).toBe('none');
    }
  });
});

describe('the read-only roles of the scheduled jobs', () => {
  it('the board reads every store and writes nothing', async (ctx) => {
    rendered(ctx);
    const board = gitlab.role('geo-gitlab-board', DEVOPS);
    expect(await gitlab.decide(board, 's3:GetObject', `${STAGING_STORE}/biomes/staging/ledger/assay-ingest.json`)).toBe(
      'Allowed',
    );
    for (const [a, r] of [
      ['s3:PutObject', `${STORE}/biomes/dev/ledger/assay-ingest.json`],
      ['s3:DeleteObject', `${STORE}/biomes/dev-bob/biome.json`],
      ['codebuild:StartBuild', project('geo-deploy-dev')],
    ])
      expect(await gitlab.decide(board, a, r), `${a} ${r}`).not.toBe('Allowed');
  });

  it("the drift role reads its account's functions and its store's ledgers (across accounts) and changes nothing", async (ctx) => {
    rendered(ctx);
    const drift = gitlab.role('geo-drift-prod', PROD);
    const prodFn = `arn:aws:lambda:${REGION}:${PROD}:function:geo-prod--assay-ingest`;
    expect(await gitlab.decide(drift, 'lambda:GetFunction', prodFn)).toBe('Allowed');
    expect(
      await gitlab.decide(
        drift,
        's3:GetObject',
        `arn:aws:s3:::geo-devops-artifacts-prod-${DEVOPS}/biomes/prod/ledger/assay-ingest.json`,
      ),
    ).toBe('Allowed');
    for (const [a, r] of [
      ['lambda:UpdateFunctionCode', prodFn],
      ['s3:PutObject', `arn:aws:s3:::geo-devops-artifacts-prod-${DEVOPS}/biomes/prod/ledger/assay-ingest.json`],
      ['s3:GetObject', `arn:aws:s3:::geo-devops-artifacts-dev-${DEVOPS}/biomes/dev/ledger/assay-ingest.json`],
    ])
      expect(await gitlab.decide(drift, a, r), `${a} ${r}`).not.toBe('Allowed');
  });
});
