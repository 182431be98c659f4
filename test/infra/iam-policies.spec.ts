import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { INFRA_ROOT, loadTerraformDir, show, strings, TerraformDir, terraformDirs } from './hcl';

/**
 * The IAM code read statically: every ARN names its service, and the wiring
 * the IAM simulation (iam-simulate.spec.ts, over the documents the real
 * provider renders) relies on. What a principal may do is judged there.
 */

type Values = Record<string, string>;

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

const SERVICES = new Set([
  's3',
  'iam',
  'sts',
  'kms',
  'lambda',
  'logs',
  'states',
  'scheduler',
  'rds',
  'rds-db',
  'secretsmanager',
  'ssm',
  'codepipeline',
  'sagemaker',
  'sqs',
  'sns',
  'ecr',
  'ec2',
  'codebuild',
  'codeconnections',
  'codestar-connections',
  'events',
  'cloudwatch',
  'apigateway',
]);
const GLOBAL_SERVICES = new Set(['s3', 'iam', 'sts']);

/** What is wrong with one ARN template (unresolved interpolations count as a placeholder segment), or null. */
export function arnProblem(arn: string): string | null {
  const flat = arn.replace(/\$\{(?:[^{}]|\{[^{}]*\})*\}/g, 'X');
  const [prefix, partition, service, region, account, ...rest] = flat.split(':');
  if (prefix !== 'arn' || rest.length === 0 || rest.join(':') === '')
    return 'not arn:<partition>:<service>:<region>:<account>:<resource>';
  if (!['aws', 'aws-cn', 'aws-us-gov', 'X'].includes(partition)) return `partition "${partition}" is not a partition`;
  if (!SERVICES.has(service)) return `service "${service}" is not a service name`;
  if (service === 's3' && (region !== '' || account !== '')) return 'an S3 ARN has no region and no account';
  if (service === 'iam' && region !== '') return 'an IAM ARN has no region';
  // Step Functions service integrations: arn:aws:states:::<service>:<api>.
  if (service === 'states' && region === '' && account === '') return null;
  if (!GLOBAL_SERVICES.has(service) && !(region === 'X' || region === '*' || /^[a-z]{2}(-[a-z]+)+-\d$/.test(region)))
    return `region "${region}" is not a region`;
  if (service !== 's3' && !(account === 'X' || account === '*' || account === 'aws' || /^\d{12}$/.test(account)))
    return `account "${account}" is not an account id`;
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
        const blocks = [
          ...((doc.statement as Record<string, unknown>[]) ?? []),
          ...(((doc.dynamic as Record<string, unknown>)?.statement as Record<string, unknown>[]) ?? []).flatMap(
            (d) => (d.content as Record<string, unknown>[]) ?? [],
          ),
        ];
        for (const s of blocks) {
          const resources = s.resources === undefined ? [] : Array.isArray(s.resources) ? s.resources : [s.resources];
          for (const r of resources as string[]) {
            const text = expand(String(r), c);
            // Statements a module receives (dynamic "statement" over var.policy_statements) are written, and checked, at the caller.
            if (text.startsWith('${statement.value')) continue;
            // A map local of ARNs, indexed.
            const arnMaps = [...text.matchAll(/local\.(\w+)\[/g)].some(([, name]) =>
              JSON.stringify(c.locals.find((l) => name in l)?.[name] ?? '').includes('arn:'),
            );
            if (text !== '*' && !/arn/i.test(text) && !arnMaps)
              problems.push(`${show(c.dir)}: ${name}.${String(s.sid ?? '?')}: ${r}`);
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
      expect(problems.some((p) => p.includes('arn:aws:${local.region}') && p.includes('is not a service name'))).toBe(
        true,
      );
      expect(problems.some((p) => p.includes('an S3 ARN has no region'))).toBe(true);
      expect(arnProblem('arn:aws:lambda:ap-southeast-2:111111111111:function:geo-dev-x')).toBeNull();
      expect(arnProblem('arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole')).toBeNull();
      expect(arnProblem('arn:aws:states:::lambda:invoke')).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** IAM's wildcards: `*` any run of characters (also none), `?` exactly one. */
const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) =>
        p
          .split('?')
          .map((q) => q.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('.'),
      )
      .join('.*')}$`,
  );

describe('what the IAM simulation relies on (static reading)', () => {
  it('the deploy-role table of iam-simulate.spec.ts covers every resource type of the biome stack and its modules (a new type needs its rows there)', () => {
    const covered = new Set([
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
    const dirs = [
      'stacks/biome',
      'modules/lambda-service',
      'modules/state-machine',
      'modules/model-placement',
      'modules/database-schema',
    ];
    const types = new Set(dirs.flatMap((d) => Object.keys(configAt(d).resources)));
    expect([...types].filter((t) => !covered.has(t))).toEqual([]);
    const dataTypes = new Set(dirs.flatMap((d) => Object.keys(configAt(d).data)));
    expect(
      [...dataTypes].filter(
        (t) =>
          ![
            'aws_iam_policy_document',
            'aws_partition',
            'aws_vpc',
            'aws_subnets',
            'aws_security_group',
            'aws_db_instance',
            'aws_s3_object',
          ].includes(t),
      ),
    ).toEqual([]);
  });

  it('every role the deploy role may touch carries the boundary: biome roles pass it, the shared stack names its roles outside <prefix>-<env>-*', () => {
    const pattern = glob('geo-dev-*');
    const biome = configAt('stacks/biome');
    for (const m of ['service', 'workflow'])
      expect(biome.modules[m].permissions_boundary, m).toBe('${local.permissions_boundary_arn}');
    expect(biome.resources.aws_iam_role.scheduler.permissions_boundary).toBe('${local.permissions_boundary_arn}');
    for (const dir of ['modules/lambda-service', 'modules/state-machine'])
      expect(configAt(dir).resources.aws_iam_role.this.permissions_boundary).toBe('${var.permissions_boundary}');
    const shared = configAt('stacks/shared');
    const values = { 'var.name_prefix': 'geo', 'var.environment': 'dev' };
    // The schema managers are one module over local.schema_managers: their names are the map's name fields.
    const schemaManagers = [
      ...JSON.stringify(shared.locals.find((l) => 'schema_managers' in l)).matchAll(
        /\bname = (?:\\"([^"\\]*)\\"|(local\.\w+))/g,
      ),
    ].map(([, quoted, local]) => quoted ?? `\${${local}}`);
    expect(shared.modules.schema_manager.function_name).toBe('${each.value.name}');
    const functionNames = Object.values(shared.modules)
      .filter((m) => m.source === '../../modules/lambda-service')
      .flatMap((m) => (m.function_name === '${each.value.name}' ? schemaManagers : [String(m.function_name)]));
    const names = [String(shared.resources.aws_iam_role.sagemaker.name), ...functionNames].map((n) =>
      expand(n, shared, values),
    );
    expect(names.sort()).toEqual([
      'geo-artifact-deployer-dev',
      'geo-models-endpoint-dev',
      'geo-schema-manager-dev',
      'geo-schema-manager-dev-sandpit',
    ]);
    for (const n of names) expect(pattern.test(n), n).toBe(false);
    expect(pattern.test('geo-dev-bob-assay-ingest')).toBe(true);
  });

  it('is trusted only by the sandpit deployers, and the main deploy role never by them (devops stack wiring)', () => {
    const baseline = configAt('modules/workload-baseline');
    const principals = (doc: string) =>
      JSON.stringify((baseline.data.aws_iam_policy_document[doc].statement as Record<string, unknown>[])[0].principals);
    expect(principals('sandpit_deploy_assume')).toContain('${var.sandpit_deployer_role_arns}');
    expect(principals('sandpit_deploy_assume')).not.toContain('var.deployer_role_arns');
    expect(principals('deploy_assume')).toContain('${var.deployer_role_arns}');
    expect(principals('deploy_assume')).not.toContain('sandpit');
    const devops = configAt('stacks/devops');
    const deployers = JSON.stringify(devops.locals.find((l) => 'deployers' in l));
    expect(deployers).toContain('job.trust == \\"main\\"');
    expect(deployers).toContain('job.trust == \\"sandpit\\"');
    for (const env of ['dev', 'staging', 'prod']) {
      expect(devops.modules[`workload_${env}`].sandpit_deployer_role_arns).toBe(
        `\${local.sandpit_deployers["${env}"]}`,
      );
      expect(devops.modules[`workload_${env}`].multi_tenant).toBe(`\${var.environments["${env}"].multi_tenant}`);
    }
  });

  it('the sandpit projects open the state through the sandpit role: backends/<env>-sandpit.s3.tfbackend differs from <env>.s3.tfbackend only in the role', async () => {
    const dir = join(INFRA_ROOT, 'stacks/biome/backends');
    const read = async (f: string) =>
      (await readFile(join(dir, f), 'utf8')).split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
    const main = await read('dev.s3.tfbackend');
    const sandpitBackend = await read('dev-sandpit.s3.tfbackend');
    expect(sandpitBackend).toEqual(
      main.map((l) => l.replace(':role/geo-deploy-dev"', ':role/geo-deploy-dev-sandpit"')),
    );
    expect(sandpitBackend.join('\n')).toContain('workspace_key_prefix = "biomes"');
    expect(main.join('\n')).toContain('role/geo-deploy-dev"');
    const codebuild = JSON.stringify(configAt('stacks/devops').modules.codebuild.environment_variables);
    expect(codebuild).toContain(
      'backends/${each.value.env}${each.value.trust == \\"sandpit\\" ? \\"-sandpit\\" : \\"\\"}.s3.tfbackend',
    );
  });
});
