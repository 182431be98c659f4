import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cloudSchema, parseWorkspaceConfig, terraformSchema } from './config';
import {
  apiOrigin,
  cloudEnvironment,
  findRunUrl,
  planHcpWorkspace,
  planStateMigration,
  renderRunReport,
  tokenVariableName,
} from './hcp-terraform';
import { parseBiomeName } from './names';
import { displayRunCommand, planBiomeTerraform, planTerraformCommands } from './terraform-plan';
import { testConfig } from './test-config';

const cloudConfig = (cloud: Record<string, unknown> = { organization: 'geo-platform' }) =>
  testConfig({ terraform: { backend: 'cloud', cloud } });
const STACK = 'infra/stacks/biome';
const TFVARS = '../../../dist/terraform/dev-bob.tfvars.json';

describe('terraform.backend in nx-biome.json', () => {
  it('defaults to s3, with no cloud settings', () => {
    expect(testConfig().terraform).toEqual({ backend: 's3' });
  });

  it('the editor schema (config.schema.json) declares the same fields and the same host rule', () => {
    const schema = JSON.parse(readFileSync(join(__dirname, '../../config.schema.json'), 'utf8')).properties.terraform;
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(terraformSchema.shape).sort());
    expect(Object.keys(schema.properties.cloud.properties).sort()).toEqual(Object.keys(cloudSchema.shape).sort());
    const host = new RegExp(schema.properties.cloud.properties.hostname.pattern);
    for (const h of ['app.terraform.io', 'tfe.example-corp.com', '127.0.0.1:8443']) expect(host.test(h), h).toBe(true);
    for (const h of ['https://app.terraform.io', 'app.terraform.io/api', '']) expect(host.test(h), h).toBe(false);
  });

  it('cloud fills hostname and projectPerEnvironment', () => {
    expect(cloudConfig().terraform.cloud).toEqual({
      organization: 'geo-platform',
      hostname: 'app.terraform.io',
      projectPerEnvironment: true,
    });
  });

  it('refuses cloud without an organization, a hostname with a scheme, and unknown fields, naming each', () => {
    expect(() => testConfig({ terraform: { backend: 'cloud' } })).toThrow(
      /terraform\.cloud: backend "cloud" needs terraform\.cloud\.organization/,
    );
    expect(() => cloudConfig({ organization: 'geo', hostname: 'https://tfe.example.com' })).toThrow(
      /terraform\.cloud\.hostname: must be a host name such as app\.terraform\.io/,
    );
    expect(() => testConfig({ terraform: { backend: 'remote' } })).toThrow(/terraform\.backend/);
    expect(() => cloudConfig({ organization: 'geo', workspace: 'x' })).toThrow(/CONFIG_INVALID|Unrecognized key/);
  });
});

describe("the biome's HCP Terraform workspace", () => {
  const config = cloudConfig();
  it('is <prefix>-<biome>; main biomes in project <prefix>-<env>, sandpits in <prefix>-<env>-sandpits; tagged with the environment, biome and its kind', () => {
    const plan = planHcpWorkspace(config, parseBiomeName('dev-bob', config), STACK);
    expect(plan).toMatchObject({
      hostname: 'app.terraform.io',
      organization: 'geo-platform',
      project: 'geo-dev-sandpits',
      createProject: true,
      workspace: 'geo-dev-bob',
      tags: ['dev', 'biome', 'sandpit'],
      variableSet: 'geo-dev-sandpits',
      workingDirectory: STACK,
      approvalRequired: false,
      url: 'https://app.terraform.io/app/geo-platform/workspaces/geo-dev-bob',
    });
    expect(planHcpWorkspace(config, parseBiomeName('dev', config), STACK)).toMatchObject({
      workspace: 'geo-dev',
      project: 'geo-dev',
      variableSet: 'geo-dev',
      tags: ['dev', 'biome', 'main'],
    });
    expect(planHcpWorkspace(config, parseBiomeName('staging', config), STACK)).toMatchObject({
      workspace: 'geo-staging',
      project: 'geo-staging',
      tags: ['staging', 'biome', 'main'],
    });
  });

  it('without a project per environment, goes to the Default Project (never created)', () => {
    const flat = cloudConfig({ organization: 'geo', projectPerEnvironment: false });
    expect(planHcpWorkspace(flat, parseBiomeName('dev-bob', flat), STACK)).toMatchObject({
      project: 'Default Project',
      createProject: false,
      variableSet: 'geo-dev-sandpits',
    });
    expect(planHcpWorkspace(flat, parseBiomeName('dev', flat), STACK)).toMatchObject({
      project: 'Default Project',
      variableSet: 'geo-dev',
    });
  });

  it('dynamic credentials: each variable set names the deploy role of its kind', () => {
    const roleOf = (b: string) =>
      planHcpWorkspace(config, parseBiomeName(b, config), STACK).variableSetVariables.map((v) => [
        v.key,
        v.value,
        v.category,
      ]);
    expect(roleOf('dev-bob')).toEqual([
      ['TFC_AWS_PROVIDER_AUTH', 'true', 'env'],
      ['TFC_AWS_RUN_ROLE_ARN', 'arn:aws:iam::111111111111:role/geo-deploy-dev-sandpit', 'env'],
    ]);
    expect(roleOf('dev')[1][1]).toBe('arn:aws:iam::111111111111:role/geo-deploy-dev');
    expect(roleOf('prod')[1][1]).toBe('arn:aws:iam::333333333333:role/geo-deploy-prod');
  });

  it('only the production main biome (last in promotionOrder) waits for approval', () => {
    const approval = (b: string) => planHcpWorkspace(config, parseBiomeName(b, config), STACK).approvalRequired;
    expect([approval('dev'), approval('dev-bob'), approval('staging'), approval('prod')]).toEqual([
      false,
      false,
      false,
      true,
    ]);
  });
});

describe('the Terraform commands of both backends', () => {
  it('s3 (the default) is exactly what it always was', () => {
    const run = planBiomeTerraform({ stackDir: STACK, biome: 'dev-bob', tfvarsFile: TFVARS, apply: true });
    expect(run.env).toEqual({});
    expect(run.cloud).toBeUndefined();
    expect(run.commands).toEqual(
      planTerraformCommands({ stackDir: STACK, biome: 'dev-bob', tfvarsFile: TFVARS, apply: true }),
    );
    expect(run.commands.map((c) => c.slice(2).join(' '))).toEqual([
      'init -input=false',
      'workspace select -or-create dev-bob',
      `plan -input=false -var-file=${TFVARS} -out=dev-bob.tfplan`,
      'apply -input=false dev-bob.tfplan',
    ]);
  });

  it('cloud: no workspace command (TF_WORKSPACE), state_backend=cloud, a saved plan then its apply; the workspace in the environment', () => {
    const config = cloudConfig();
    const plan = planHcpWorkspace(config, parseBiomeName('dev-bob', config), STACK);
    const run = planBiomeTerraform({
      stackDir: STACK,
      biome: 'dev-bob',
      tfvarsFile: TFVARS,
      apply: true,
      cloud: { env: cloudEnvironment(plan), workspace: plan.workspace, approvalRequired: plan.approvalRequired },
    });
    expect(run.env).toEqual({
      TF_CLOUD_HOSTNAME: 'app.terraform.io',
      TF_CLOUD_ORGANIZATION: 'geo-platform',
      TF_CLOUD_PROJECT: 'geo-dev-sandpits',
      TF_WORKSPACE: 'geo-dev-bob',
    });
    expect(run.commands.map((c) => displayRunCommand(c, run.env))).toEqual([
      `TF_CLOUD_HOSTNAME=app.terraform.io TF_CLOUD_ORGANIZATION=geo-platform TF_CLOUD_PROJECT=geo-dev-sandpits TF_WORKSPACE=geo-dev-bob terraform -chdir=${STACK} init -input=false`,
      `TF_CLOUD_HOSTNAME=app.terraform.io TF_CLOUD_ORGANIZATION=geo-platform TF_CLOUD_PROJECT=geo-dev-sandpits TF_WORKSPACE=geo-dev-bob terraform -chdir=${STACK} plan -input=false -var-file=${TFVARS} -var=state_backend=cloud -out=dev-bob.tfplan`,
      `TF_CLOUD_HOSTNAME=app.terraform.io TF_CLOUD_ORGANIZATION=geo-platform TF_CLOUD_PROJECT=geo-dev-sandpits TF_WORKSPACE=geo-dev-bob terraform -chdir=${STACK} apply -input=false dev-bob.tfplan`,
    ]);
  });

  it('cloud, destroy: plan -destroy; prod: the plan only, never an apply', () => {
    const cloud = { env: {}, workspace: 'geo-prod', approvalRequired: true };
    const prod = planBiomeTerraform({ stackDir: STACK, biome: 'prod', tfvarsFile: TFVARS, apply: true, cloud });
    expect(prod.commands.map((c) => c[2])).toEqual(['init', 'plan']);
    const destroy = planBiomeTerraform({
      stackDir: STACK,
      biome: 'dev-bob',
      tfvarsFile: TFVARS,
      apply: true,
      destroy: true,
      cloud: { ...cloud, approvalRequired: false },
    });
    expect(destroy.commands[1]).toContain('-destroy');
    expect(destroy.commands.map((c) => c[2])).toEqual(['init', 'plan', 'apply']);
  });
});

describe('state migration between the backends', () => {
  const cloud = {
    hostname: 'app.terraform.io',
    organization: 'geo-platform',
    project: 'geo-dev',
    workspace: 'geo-dev-bob',
  };
  const line = (s: { argv?: string[]; env?: Record<string, string>; stdoutTo?: string; note?: string }) =>
    s.argv ? `${displayRunCommand(s.argv, s.env ?? {})}${s.stdoutTo ? ` > ${s.stdoutTo}` : ''}` : `# ${s.note}`;

  it("to cloud: pull from the biome's S3 workspace, init the cloud block, push into geo-dev-bob", () => {
    const steps = planStateMigration({
      direction: 'to-cloud',
      stackDir: STACK,
      biome: 'dev-bob',
      backendConfig: 'backends/dev-sandpit.s3.tfbackend',
      cloud,
    }).map(line);
    expect(steps).toEqual([
      `terraform -chdir=${STACK} init -input=false -reconfigure -backend-config=backends/dev-sandpit.s3.tfbackend`,
      `terraform -chdir=${STACK} workspace select dev-bob`,
      `terraform -chdir=${STACK} state pull > dev-bob.migrate.tfstate`,
      expect.stringMatching(
        /^# set terraform\.backend to "cloud" .* nx run infra:biome-create --biome=dev-bob \(creates the workspace geo-dev-bob, writes infra\/stacks\/biome\/cloud_override\.tf\)/,
      ),
      `TF_CLOUD_HOSTNAME=app.terraform.io TF_CLOUD_ORGANIZATION=geo-platform TF_CLOUD_PROJECT=geo-dev TF_WORKSPACE=geo-dev-bob terraform -chdir=${STACK} init -input=false -reconfigure`,
      `TF_CLOUD_HOSTNAME=app.terraform.io TF_CLOUD_ORGANIZATION=geo-platform TF_CLOUD_PROJECT=geo-dev TF_WORKSPACE=geo-dev-bob terraform -chdir=${STACK} state push dev-bob.migrate.tfstate`,
      expect.stringMatching(/^# delete dev-bob\.migrate\.tfstate/),
    ]);
  });

  it("back to S3: pull from geo-dev-bob, init the S3 backend, push into the biome's workspace", () => {
    const steps = planStateMigration({
      direction: 'to-s3',
      stackDir: STACK,
      biome: 'dev-bob',
      backendConfig: 'backends/dev-sandpit.s3.tfbackend',
      cloud,
    }).map(line);
    expect(steps.filter((s) => !s.startsWith('#'))).toEqual([
      `TF_CLOUD_HOSTNAME=app.terraform.io TF_CLOUD_ORGANIZATION=geo-platform TF_CLOUD_PROJECT=geo-dev TF_WORKSPACE=geo-dev-bob terraform -chdir=${STACK} init -input=false -reconfigure`,
      `TF_CLOUD_HOSTNAME=app.terraform.io TF_CLOUD_ORGANIZATION=geo-platform TF_CLOUD_PROJECT=geo-dev TF_WORKSPACE=geo-dev-bob terraform -chdir=${STACK} state pull > dev-bob.migrate.tfstate`,
      `terraform -chdir=${STACK} init -input=false -reconfigure -backend-config=backends/dev-sandpit.s3.tfbackend`,
      `terraform -chdir=${STACK} workspace select -or-create dev-bob`,
      `terraform -chdir=${STACK} state push dev-bob.migrate.tfstate`,
    ]);
  });
});

describe('small rules', () => {
  it('token variable names follow Terraform (dots _, hyphens __); a host with a port has none', () => {
    expect(tokenVariableName('app.terraform.io')).toBe('TF_TOKEN_app_terraform_io');
    expect(tokenVariableName('tfe.example-corp.com')).toBe('TF_TOKEN_tfe_example__corp_com');
    expect(tokenVariableName('127.0.0.1:8080')).toBeUndefined();
  });

  it('https everywhere but loopback', () => {
    expect(apiOrigin('app.terraform.io')).toBe('https://app.terraform.io');
    expect(apiOrigin('127.0.0.1:8080')).toBe('http://127.0.0.1:8080');
    expect(apiOrigin('localhost.example.com')).toBe('https://localhost.example.com');
  });

  it('finds the run URL Terraform prints, and writes the dotenv report', () => {
    const out =
      'Running plan in HCP Terraform...\n\nTo view this run in a browser, visit:\nhttps://app.terraform.io/app/geo-platform/geo-dev-bob/runs/run-AbC123xyz\n\nWaiting...';
    expect(findRunUrl(out)).toBe('https://app.terraform.io/app/geo-platform/geo-dev-bob/runs/run-AbC123xyz');
    expect(findRunUrl('no run here')).toBeUndefined();
    expect(renderRunReport({ workspace: 'geo-dev-bob', workspaceUrl: 'https://w', runUrl: 'https://r' })).toBe(
      'HCP_TERRAFORM_WORKSPACE=geo-dev-bob\nHCP_TERRAFORM_WORKSPACE_URL=https://w\nHCP_TERRAFORM_RUN_URL=https://r\n',
    );
  });

  it('the parser rejects a cloud config whose organization is empty', () => {
    expect(() =>
      parseWorkspaceConfig({
        namePrefix: 'geo',
        promotionOrder: ['dev'],
        environments: { dev: { account: '111111111111', region: 'ap-southeast-2' } },
        terraform: { backend: 'cloud', cloud: { organization: '' } },
      }),
    ).toThrow(/terraform\.cloud\.organization: must be an HCP Terraform organization name/);
  });
});
