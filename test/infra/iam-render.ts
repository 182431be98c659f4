import { createHash } from 'node:crypto';
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { OfflineTerraform } from './terraform-cli';

/**
 * IAM documents exactly as the real hashicorp/aws provider renders them, from
 * a stack's own Terraform, with no AWS account and no network:
 *
 * 1. `terraform test` with a mocked provider applies the stack from an empty
 *    state: its state lists every resource and data source instance.
 * 2. A second `terraform test` applies it with the REAL provider (offline
 *    credentials, every proxy pointed at a closed loopback port) and an
 *    override for every one of those instances except the
 *    `aws_iam_policy_document` data sources, which the provider then renders
 *    itself. Overridden resources get the ARNs AWS would give them (built from
 *    their names), so trust policies, bucket policies and identity policies
 *    name each other as they would in the accounts.
 *
 * The JSON of the second state (`terraform test -json -verbose`) is what the
 * simulator (iam-simulate) judges.
 */

/** One resource or data source instance of the applied state. */
export interface StateInstance {
  address: string;
  mode: 'managed' | 'data';
  type: string;
  name: string;
  values: Record<string, unknown>;
  /** The account the instance lives in (from RenderOptions.accounts). */
  account?: string;
}

export interface RenderOptions {
  /** Folder of the stack inside a copy of infra/ (already `terraform init`ed). */
  stackDir: string;
  /** Provider aliases the stack declares ('' is the default provider). */
  providers: string[];
  /** The stack's input variables. */
  variables: Record<string, unknown>;
  /** Account of each module path prefix (longest match wins; '' is the root). */
  accounts: Record<string, string>;
  region?: string;
  /** Names the generated test files, so renders of one stack can run side by side. */
  label?: string;
}

const hcl = (value: unknown): string => JSON.stringify(value);

/** Flattens a state's modules into one list of instances. */
function instancesOf(state: { values?: { root_module?: StateModule }; root_module?: StateModule }): StateInstance[] {
  const out: StateInstance[] = [];
  const walk = (m: StateModule | undefined) => {
    for (const r of m?.resources ?? [])
      out.push({ address: r.address, mode: r.mode, type: r.type, name: r.name, values: r.values ?? {} });
    for (const c of m?.child_modules ?? []) walk(c);
  };
  walk(state.values?.root_module ?? state.root_module);
  return out;
}

interface StateModule {
  resources?: {
    address: string;
    mode: 'managed' | 'data';
    type: string;
    name: string;
    values?: Record<string, unknown>;
  }[];
  child_modules?: StateModule[];
}

/** The module path of an instance address (`module.a["x"].module.b`), '' for the root. */
function modulePathOf(address: string): string {
  const parts = address.match(/^((?:module\.[A-Za-z0-9_-]+(?:\[[^\]]*\])?\.)*)/)?.[1] ?? '';
  return parts.replace(/\.$/, '');
}

function accountOf(address: string, accounts: Record<string, string>): string {
  const path = modulePathOf(address).replace(/\[[^\]]*\]/g, '');
  const match = Object.keys(accounts)
    .filter((p) => p === '' || path === p || path.startsWith(`${p}.`))
    .sort((a, b) => b.length - a.length)[0];
  if (match === undefined) throw new Error(`no account for ${address}`);
  return accounts[match];
}

/** A stable fake id from an address (KMS key ids, unique ids): what the render gives a KMS key at that address. */
export const fakeKeyId = (address: string) => idOf(address);
const idOf = (address: string, length = 8) => createHash('sha256').update(address).digest('hex').slice(0, length);

/** The attributes AWS computes for an instance, built from its configured names the way AWS builds them. */
function computedValues(i: StateInstance, account: string, region: string): Record<string, unknown> {
  const v = i.values;
  const name = String(v.name ?? '');
  switch (i.type) {
    case 'aws_caller_identity':
      return { account_id: account, arn: `arn:aws:iam::${account}:role/terraform`, user_id: 'AROATERRAFORM' };
    case 'aws_partition':
      return { partition: 'aws', dns_suffix: 'amazonaws.com' };
    case 'aws_region':
      return { name: region, id: region };
    case 'aws_kms_alias':
      return {
        target_key_arn: `arn:aws:kms:${region}:${account}:key/${idOf(String(v.name))}`,
        target_key_id: idOf(String(v.name)),
      };
    case 'aws_availability_zones':
      return { names: [`${region}a`, `${region}b`, `${region}c`] };
    case 'aws_iam_role':
      return {
        arn: `arn:aws:iam::${account}:role/${name}`,
        id: name,
        unique_id: `AROA${idOf(i.address, 12).toUpperCase()}`,
      };
    case 'aws_iam_policy':
      return {
        arn: `arn:aws:iam::${account}:policy/${name}`,
        id: `arn:aws:iam::${account}:policy/${name}`,
        policy_id: `ANPA${idOf(i.address, 12).toUpperCase()}`,
      };
    case 'aws_iam_openid_connect_provider':
      return { arn: `arn:aws:iam::${account}:oidc-provider/${String(v.url).replace(/^https:\/\//, '')}` };
    case 'aws_s3_bucket':
      return {
        arn: `arn:aws:s3:::${v.bucket}`,
        id: v.bucket,
        bucket_regional_domain_name: `${v.bucket}.s3.${region}.amazonaws.com`,
      };
    case 'aws_kms_key':
      return {
        arn: `arn:aws:kms:${region}:${account}:key/${idOf(i.address)}`,
        key_id: idOf(i.address),
        id: idOf(i.address),
      };
    case 'aws_codebuild_project':
      return {
        arn: `arn:aws:codebuild:${region}:${account}:project/${name}`,
        id: `arn:aws:codebuild:${region}:${account}:project/${name}`,
      };
    case 'aws_cloudwatch_log_group':
      return { arn: `arn:aws:logs:${region}:${account}:log-group:${name}`, id: name };
    case 'aws_sqs_queue':
      return {
        arn: `arn:aws:sqs:${region}:${account}:${name}`,
        url: `https://sqs.${region}.amazonaws.com/${account}/${name}`,
        id: `https://sqs.${region}.amazonaws.com/${account}/${name}`,
      };
    case 'aws_lambda_function': {
      const arn = `arn:aws:lambda:${region}:${account}:function:${v.function_name}`;
      return {
        arn,
        qualified_arn: `${arn}:1`,
        invoke_arn: `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/${arn}/invocations`,
        version: '1',
      };
    }
    case 'aws_codestarconnections_connection':
    case 'aws_codestarconnections_host':
      return {
        arn: `arn:aws:codestar-connections:${region}:${account}:${i.type === 'aws_codestarconnections_host' ? 'host' : 'connection'}/${idOf(i.address)}`,
      };
    case 'aws_codepipeline':
      return { arn: `arn:aws:codepipeline:${region}:${account}:${name}` };
    default:
      return {};
  }
}

function providerBlocks(providers: string[], mock: boolean, region: string): string {
  return providers
    .map((alias) =>
      mock
        ? `mock_provider "aws" {\n${alias ? `  alias  = "${alias}"\n` : ''}  source = "../../tests/mocks"\n}\n`
        : [
            'provider "aws" {',
            ...(alias ? [`  alias = "${alias}"`] : []),
            `  region                      = "${region}"`,
            '  access_key                  = "offline"',
            '  secret_key                  = "offline"',
            '  skip_credentials_validation = true',
            '  skip_requesting_account_id  = true',
            '  skip_metadata_api_check     = true',
            '  skip_region_validation      = true',
            '}',
            '',
          ].join('\n'),
    )
    .join('\n');
}

/** Runs one generated test file and returns the state of its only run. */
async function applyTestFile(
  tf: OfflineTerraform,
  stackDir: string,
  name: string,
  text: string,
): Promise<StateInstance[]> {
  const file = join(stackDir, 'tests', name);
  await writeFile(file, text);
  try {
    // A call that escaped an override would go to a closed loopback port, never to AWS.
    const proxy = 'http://127.0.0.1:9';
    const out = await tf.exec(['test', '-no-color', '-json', '-verbose', `-filter=tests/${name}`], stackDir, {
      timeoutMs: 900_000,
      env: { HTTPS_PROXY: proxy, HTTP_PROXY: proxy, https_proxy: proxy, http_proxy: proxy, NO_PROXY: '', no_proxy: '' },
    });
    const lines = out.split('\n').filter((l) => l.startsWith('{'));
    const messages = lines.map(
      (l) =>
        JSON.parse(l) as {
          type: string;
          test_state?: Record<string, unknown>;
          test_run?: { status?: string };
          '@message'?: string;
          diagnostic?: { summary?: string; detail?: string };
        },
    );
    const failed = messages.filter((m) => m.diagnostic && (m as { '@level'?: string })['@level'] === 'error');
    if (failed.length > 0)
      throw new Error(
        `${name}: ${failed.map((m) => `${m.diagnostic!.summary}: ${m.diagnostic!.detail ?? ''}`).join('\n')}`,
      );
    const state = messages.find((m) => m.type === 'test_state')?.test_state;
    if (!state) throw new Error(`${name}: terraform test printed no state:\n${out.slice(-4000)}`);
    return instancesOf(state as never);
  } finally {
    await rm(file, { force: true });
  }
}

/**
 * Applies a stack offline (see above) and returns every instance of its state,
 * with the IAM documents rendered by the real provider.
 */
export async function renderStack(tf: OfflineTerraform, options: RenderOptions): Promise<StateInstance[]> {
  const region = options.region ?? 'ap-southeast-2';
  const variables = `variables {\n${Object.entries(options.variables)
    .map(([k, v]) => `  ${k} = ${hcl(v)}`)
    .join('\n')}\n}\n`;
  const label = options.label ?? 'default';
  const mocked = await applyTestFile(
    tf,
    options.stackDir,
    `zz-iam-enumerate-${label}.tftest.hcl`,
    `${providerBlocks(options.providers, true, region)}\n${variables}\nrun "enumerate" {\n  command = apply\n}\n`,
  );

  const overrides = mocked
    .filter((i) => !(i.mode === 'data' && i.type === 'aws_iam_policy_document'))
    .map((i) => {
      const values = computedValues(i, accountOf(i.address, options.accounts), region);
      return `${i.mode === 'data' ? 'override_data' : 'override_resource'} {\n  target = ${i.address}\n  values = ${hcl(values)}\n}\n`;
    });
  const text = `${providerBlocks(options.providers, false, region)}\n${variables}\n${overrides.join('\n')}\nrun "render" {\n  command = apply\n}\n`;
  const rendered = await applyTestFile(tf, options.stackDir, `zz-iam-render-${label}.tftest.hcl`, text);
  return rendered.map((i) => ({ ...i, account: accountOf(i.address, options.accounts) }));
}
