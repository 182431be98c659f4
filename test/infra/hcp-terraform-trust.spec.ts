import { createValidatedPolicy, validateTrustPolicy } from '@cloud-copilot/iam-policy';
import { runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyInfraForCli, OfflineTerraform, offlineTerraform, unavailable } from './terraform-cli';

/**
 * The HCP Terraform trust of the two deploy roles, as AWS judges it: the
 * policy documents are rendered by the real hashicorp/aws provider (offline
 * mirror) from modules/workload-baseline, then each workspace's web identity
 * request is evaluated with @cloud-copilot/iam-simulate.
 *
 * Rendering: a wrapper configuration calls the module for dev (multi-tenant)
 * and prod, with the real provider (fake keys, no API call: policy documents
 * are computed locally), in `terraform test` where the account lookups are
 * overridden; a `check` block hands the rendered JSON out through its
 * diagnostic (a plan-time value has no other way out of `terraform test`).
 *
 * Simulation: iam-data 0.21 lists AssumeRoleWithWebIdentity's condition keys
 * only for known providers (Google, Cognito, GitHub, …), so runSimulation
 * would drop `app.terraform.io:sub`/`:aud` as unknown keys and deny
 * everything; AWS evaluates `<provider host>:aud` and `:sub` for any OIDC
 * provider. The decisions therefore come from runUnsafeSimulation (no key
 * filtering), with each trust document validated by iam-policy's
 * validateTrustPolicy first.
 */

const ACCOUNT = { dev: '111111111111', prod: '333333333333' } as const;
const ORG = 'geo-platform';
const HOST = 'app.terraform.io';
const AUDIENCE = 'aws.workload.identity';

type Trust = { Version: string; Statement: Array<Record<string, unknown>> };
let rendered: { dev_main: Trust; dev_sandpit: Trust; prod_main: Trust; plain_main: Trust } | undefined;
let tf: OfflineTerraform | undefined;
let why: string | undefined;
let copy: Awaited<ReturnType<typeof copyInfraForCli>> | undefined;

const WRAPPER = `
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

# The real provider, offline: nothing here calls an AWS API at plan time.
provider "aws" {
  region                      = "ap-southeast-2"
  access_key                  = "offline"
  secret_key                  = "offline"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

module "dev" {
  source                     = "../infra/modules/workload-baseline"
  name_prefix                = "geo"
  environment                = "dev"
  multi_tenant               = true
  deployer_role_arns         = ["arn:aws:iam::999999999999:role/geo-deploy-dev-codebuild"]
  sandpit_deployer_role_arns = ["arn:aws:iam::999999999999:role/geo-deploy-dev-sandpit-codebuild"]
  hcp_terraform              = { organization = "${ORG}", project = "geo-dev", sandpit_project = "geo-dev-sandpits" }
}

module "prod" {
  source             = "../infra/modules/workload-baseline"
  name_prefix        = "geo"
  environment        = "prod"
  deployer_role_arns = ["arn:aws:iam::999999999999:role/geo-deploy-prod-codebuild"]
  hcp_terraform      = { organization = "${ORG}", project = "geo-prod", sandpit_project = "geo-prod-sandpits" }
}

# The default (S3 backend): no hcp_terraform at all.
module "plain" {
  source             = "../infra/modules/workload-baseline"
  name_prefix        = "geo"
  environment        = "staging"
  deployer_role_arns = ["arn:aws:iam::999999999999:role/geo-deploy-staging-codebuild"]
}

check "rendered" {
  assert {
    condition     = module.dev.deploy_role_trust_policy == ""
    error_message = jsonencode({ dev_main = module.dev.deploy_role_trust_policy, dev_sandpit = module.dev.sandpit_deploy_role_trust_policy, prod_main = module.prod.deploy_role_trust_policy, plain_main = module.plain.deploy_role_trust_policy })
  }
}
`;

const override = (target: string, account: string) =>
  `override_data {\n  target = ${target}\n  values = { account_id = "${account}" }\n}\n`;
const TEST_FILE = [
  ...(['dev', 'prod', 'plain'] as const).flatMap((m) => {
    const account = m === 'prod' ? ACCOUNT.prod : m === 'plain' ? '222222222222' : ACCOUNT.dev;
    return [
      `module.${m}.data.aws_caller_identity.current`,
      `module.${m}.module.artifact_bucket.data.aws_caller_identity.current`,
      `module.${m}.module.state_bucket.data.aws_caller_identity.current`,
    ].map((t) => override(t, account));
  }),
  'run "render" {\n  command = plan\n}\n',
].join('\n');

beforeAll(async () => {
  tf = await offlineTerraform();
  why = unavailable(tf);
  if (why) return;
  copy = await copyInfraForCli();
  const dir = join(copy.root, 'wrapper');
  await mkdir(join(dir, 'tests'), { recursive: true });
  await writeFile(join(dir, 'main.tf'), WRAPPER);
  await writeFile(join(dir, 'tests/render.tftest.hcl'), TEST_FILE);
  await tf!.exec(['init', '-input=false', '-no-color', '-backend=false'], dir, { timeoutMs: 300_000 });
  // The check fails on purpose, so the command exits non-zero: read its JSON diagnostics either way.
  const out = await tf!.exec(['test', '-json'], dir, { timeoutMs: 300_000 }).catch((e: Error) => e.message);
  for (const line of out.split('\n')) {
    if (!line.startsWith('{')) continue;
    const event = JSON.parse(line) as { diagnostic?: { summary: string; detail: string } };
    if (event.diagnostic?.summary === 'Check block assertion failed') {
      const raw = JSON.parse(event.diagnostic.detail) as Record<string, string>;
      rendered = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, JSON.parse(v)])) as typeof rendered;
    }
  }
  if (!rendered) throw new Error(`terraform test did not hand out the rendered trust policies:\n${out}`);
}, 400_000);

afterAll(() => copy?.cleanup());

function requireRendered(ctx: { skip(note?: string): void }) {
  if (why) {
    if (process.env.CI === 'true') throw new Error(`${why}: under CI=true the real-provider checks must run.`);
    console.log(`${why}: skipping the HCP Terraform trust checks.`);
    ctx.skip();
  }
  return rendered!;
}

/** Where the plugin puts a dev workspace: sandpits in geo-dev-sandpits, the main biome in geo-dev. */
const devProject = (workspace: string) => (workspace.startsWith('geo-dev-') ? 'geo-dev-sandpits' : 'geo-dev');
const sub = (workspace: string, phase: 'plan' | 'apply', project = devProject(workspace), org = ORG) =>
  `organization:${org}:project:${project}:workspace:${workspace}:run_phase:${phase}`;

/** Whether a run whose token carries `sub` (and `aud`) may assume the role with this trust policy, as AWS decides. */
function decide(
  trust: Trust,
  role: string,
  account: string,
  claims: { sub: string; aud?: string; provider?: string },
): string {
  const provider = claims.provider ?? `arn:aws:iam::${account}:oidc-provider/${HOST}`;
  const host = provider.split('oidc-provider/')[1];
  const resourcePolicy = createValidatedPolicy(trust, validateTrustPolicy, { name: `${role}-trust` });
  return runUnsafeSimulation(
    {
      request: {
        principal: provider,
        action: 'sts:AssumeRoleWithWebIdentity',
        resource: { resource: `arn:aws:iam::${account}:role/${role}`, accountId: account },
        contextVariables: { [`${host}:sub`]: claims.sub, [`${host}:aud`]: claims.aud ?? AUDIENCE },
      },
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: resourcePolicy as never,
    },
    {},
  );
}

describe('HCP Terraform dynamic credentials: who may assume which deploy role', () => {
  it('the rendered trust documents are valid trust policies (iam-policy), with the OIDC statement only when hcp_terraform is set', (ctx) => {
    const r = requireRendered(ctx);
    for (const [name, doc] of Object.entries(r)) expect(validateTrustPolicy(doc), name).toEqual([]);
    const federated = (t: Trust) => t.Statement.filter((s) => JSON.stringify(s.Principal ?? {}).includes('Federated'));
    expect(federated(r.dev_main)).toHaveLength(1);
    expect(federated(r.dev_sandpit)).toHaveLength(1);
    expect(federated(r.plain_main)).toEqual([]);
    expect(r.plain_main.Statement).toHaveLength(1);
  });

  it("the main biome's workspace geo-dev assumes the main deploy role in plan and apply; no sandpit workspace can, in either project", (ctx) => {
    const { dev_main } = requireRendered(ctx);
    const main = (claims: Parameters<typeof decide>[3]) => decide(dev_main, 'geo-deploy-dev', ACCOUNT.dev, claims);
    expect(main({ sub: sub('geo-dev', 'plan', 'geo-dev') })).toBe('Allowed');
    expect(main({ sub: sub('geo-dev', 'apply', 'geo-dev') })).toBe('Allowed');
    expect(
      main({ sub: sub('geo-dev', 'apply', 'geo-dev-sandpits') }),
      'the main workspace name in the sandpit project',
    ).toBe('ImplicitlyDenied');
    for (const ws of ['geo-dev-bob', 'geo-dev-mr-142', 'geo-devx', 'geo-staging', 'geo-prod']) {
      for (const project of ['geo-dev', 'geo-dev-sandpits']) {
        expect(main({ sub: sub(ws, 'apply', project) }), `${project}/${ws}`).toBe('ImplicitlyDenied');
        expect(main({ sub: sub(ws, 'plan', project) }), `${project}/${ws}`).toBe('ImplicitlyDenied');
      }
    }
  });

  it('a sandpit workspace of the sandpit project assumes the sandpit deploy role; the main workspace and other environments cannot', (ctx) => {
    const { dev_sandpit } = requireRendered(ctx);
    const sandpit = (claims: Parameters<typeof decide>[3]) =>
      decide(dev_sandpit, 'geo-deploy-dev-sandpit', ACCOUNT.dev, claims);
    expect(sandpit({ sub: sub('geo-dev-bob', 'plan', 'geo-dev-sandpits') })).toBe('Allowed');
    expect(sandpit({ sub: sub('geo-dev-mr-142', 'apply', 'geo-dev-sandpits') })).toBe('Allowed');
    for (const ws of ['geo-dev', 'geo-dev-', 'geo-devx-bob', 'geo-staging-bob']) {
      for (const project of ['geo-dev', 'geo-dev-sandpits'])
        expect(sandpit({ sub: sub(ws, 'apply', project) }), `${project}/${ws}`).toBe('ImplicitlyDenied');
    }
    // A sandpit-named workspace placed in the main project gets neither role.
    expect(sandpit({ sub: sub('geo-dev-bob', 'apply', 'geo-dev') })).toBe('ImplicitlyDenied');
  });

  it('organization, project, audience and the identity provider are all pinned', (ctx) => {
    const { dev_main, dev_sandpit } = requireRendered(ctx);
    const main = (claims: Parameters<typeof decide>[3]) => decide(dev_main, 'geo-deploy-dev', ACCOUNT.dev, claims);
    const sandpit = (claims: Parameters<typeof decide>[3]) =>
      decide(dev_sandpit, 'geo-deploy-dev-sandpit', ACCOUNT.dev, claims);
    for (const check of [main, sandpit]) {
      const ws = check === main ? 'geo-dev' : 'geo-dev-bob';
      expect(check({ sub: sub(ws, 'apply') }), 'the control case').toBe('Allowed');
      expect(check({ sub: sub(ws, 'apply', undefined, 'someone-else') }), 'another organization').toBe(
        'ImplicitlyDenied',
      );
      expect(check({ sub: sub(ws, 'apply', 'Default Project') }), 'another project').toBe('ImplicitlyDenied');
      expect(check({ sub: sub(ws, 'apply'), aud: 'sts.amazonaws.com' }), 'another audience').toBe('ImplicitlyDenied');
      expect(
        check({ sub: sub(ws, 'apply'), provider: `arn:aws:iam::${ACCOUNT.dev}:oidc-provider/gitlab.example.com` }),
        'another identity provider',
      ).toBe('ImplicitlyDenied');
      expect(check({ sub: `${sub(ws, 'apply')}:extra` }), 'a longer subject').toBe('ImplicitlyDenied');
    }
  });

  it('prod: only geo-prod of project geo-prod; the dev workspaces get nothing there', (ctx) => {
    const { prod_main } = requireRendered(ctx);
    const prod = (claims: Parameters<typeof decide>[3]) => decide(prod_main, 'geo-deploy-prod', ACCOUNT.prod, claims);
    expect(prod({ sub: sub('geo-prod', 'apply', 'geo-prod') })).toBe('Allowed');
    for (const [ws, project] of [
      ['geo-dev', 'geo-dev'],
      ['geo-dev-bob', 'geo-dev'],
      ['geo-prod', 'geo-dev'],
      ['geo-prod-x', 'geo-prod'],
    ])
      expect(prod({ sub: sub(ws, 'apply', project) }), `${project}/${ws}`).toBe('ImplicitlyDenied');
  });

  it('the CodeBuild deployers keep their AssumeRole trust unchanged', (ctx) => {
    const { dev_main, plain_main } = requireRendered(ctx);
    const awsPrincipal = (t: Trust) => t.Statement.filter((s) => JSON.stringify(s.Principal ?? {}).includes('"AWS"'));
    expect(awsPrincipal(dev_main)).toEqual([
      {
        Effect: 'Allow',
        Action: ['sts:TagSession', 'sts:AssumeRole'],
        Principal: { AWS: 'arn:aws:iam::999999999999:role/geo-deploy-dev-codebuild' },
      },
    ]);
    expect(awsPrincipal(plain_main)).toHaveLength(1);
  });
});
