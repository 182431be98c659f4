import type { ExecutorContext } from '@nx/devkit';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HcpTerraformDouble, startHcpTerraformDouble } from '../support/hcp-terraform-api';
import { copyWorkspace } from '../support/workspace';
import { CLOUD_OVERRIDE_CONTENT } from '../../tools/nx-biome/src/core/hcp-terraform';
import { parseWorkspaceConfig, WorkspaceConfig } from '../../tools/nx-biome/src/core/config';
import { Deps, realDeps } from '../../tools/nx-biome/src/operations/context';
import { readBiomeMeta, writeBiomeMeta } from '../../tools/nx-biome/src/operations/ledger-store';
import { biomeCreateWith } from '../../tools/nx-biome/src/executors/biome-create/executor';
import { biomeDestroyWith } from '../../tools/nx-biome/src/executors/biome-destroy/executor';
import { biomeReapWith } from '../../tools/nx-biome/src/executors/biome-reap/executor';
import { infraDeployWith } from '../../tools/nx-biome/src/executors/infra-deploy/executor';

/**
 * terraform.backend "cloud", in process, against a local server speaking the
 * HCP Terraform API (test/support/hcp-terraform-api.ts) and a stand-in
 * terraform that records its argv and the TF_CLOUD_* / TF_WORKSPACE it ran
 * with and prints a run URL as the real CLI does. The store is the embedded
 * local one; the token comes from a credentials file in a temporary HOME.
 */

let api: HcpTerraformDouble;
let root: string;
let home: string;
let config: WorkspaceConfig;
let deps: Deps;
let lines: string[] = [];
let clock = Date.parse('2026-11-26T00:00:00.000Z');
const context = () => ({ root, cwd: root, projectName: 'infra', isVerbose: false }) as unknown as ExecutorContext;
const recordFile = () => join(root, 'tmp/terraform-calls.jsonl');
const override = () => join(root, 'infra/stacks/biome/cloud_override.tf');
const ws = (name: string) => [...api.workspaces.values()].find((w) => w.name === name);

async function output(fn: () => Promise<unknown>): Promise<string> {
  lines = [];
  await fn();
  return lines.join('\n');
}

async function calls(): Promise<Array<{ argv: string[]; env: Record<string, string>; override: boolean }>> {
  if (!existsSync(recordFile())) return [];
  return (await readFile(recordFile(), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

beforeAll(async () => {
  api = await startHcpTerraformDouble('geo-platform');
  root = await mkdtemp(join(tmpdir(), 'hcp-biomes-'));
  home = await mkdtemp(join(tmpdir(), 'hcp-home-'));
  await mkdir(join(home, '.terraform.d'), { recursive: true });
  await writeFile(
    join(home, '.terraform.d/credentials.tfrc.json'),
    JSON.stringify({ credentials: { [api.hostname]: { token: api.token } } }),
  );
  const raw = {
    namePrefix: 'geo',
    promotionOrder: ['dev', 'staging', 'prod'],
    environments: {
      dev: { account: '111111111111', region: 'ap-southeast-2', multiTenant: true },
      staging: { account: '222222222222', region: 'ap-southeast-2' },
      prod: { account: '333333333333', region: 'ap-southeast-2' },
    },
    terraform: { backend: 'cloud', cloud: { organization: 'geo-platform', hostname: api.hostname } },
  };
  await writeFile(join(root, 'nx-biome.json'), JSON.stringify(raw));
  config = parseWorkspaceConfig(raw);
  await mkdir(join(root, 'infra/stacks/biome'), { recursive: true });
  await mkdir(join(root, 'tmp'), { recursive: true });
  const bin = join(root, 'tmp/terraform');
  await writeFile(
    bin,
    [
      '#!/usr/bin/env node',
      "const fs = require('fs'); const path = require('path');",
      'const argv = process.argv.slice(2);',
      "const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('TF_CLOUD_') || k === 'TF_WORKSPACE'));",
      "fs.appendFileSync(process.env.TF_RECORD, JSON.stringify({ argv, env, override: fs.existsSync(path.join(process.cwd(), 'infra/stacks/biome/cloud_override.tf')) }) + '\\n');",
      "if (argv.includes('plan') && !process.env.STANDIN_QUIET) console.log('Running plan in HCP Terraform...\\n\\nTo view this run in a browser, visit:\\nhttps://' + process.env.TF_CLOUD_HOSTNAME + '/app/' + process.env.TF_CLOUD_ORGANIZATION + '/' + process.env.TF_WORKSPACE + '/runs/run-Stand1n2Run3');",
    ].join('\n'),
  );
  await chmod(bin, 0o755);
  const env = {
    HOME: home,
    TERRAFORM_BINARY: bin,
    TF_RECORD: recordFile(),
    BIOME_DEPLOYED_BY: 'amy',
    PATH: process.env.PATH,
  };
  deps = { ...realDeps(root, config, env), now: () => new Date((clock += 1000)), log: (line) => lines.push(line), env };
});

afterAll(async () => {
  await api.stop();
  await rm(root, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
});

beforeEach(async () => {
  await rm(recordFile(), { force: true });
});

describe('a sandpit with terraform.backend "cloud"', () => {
  it('biome-create creates its workspace through the API: project, variable set, workspace, tags', async () => {
    const out = await output(() => biomeCreateWith({ biome: 'dev-amy', owner: 'amy', ttl: 1 }, context(), deps));
    expect(out).toMatch(/created dev-amy .*: owner amy/);
    expect(out).toContain(
      `HCP Terraform: created workspace geo-dev-amy in project geo-dev-sandpits: http://${api.hostname}/app/geo-platform/workspaces/geo-dev-amy`,
    );
    const project = [...api.projects.values()].find((p) => p.name === 'geo-dev-sandpits')!;
    expect(project).toBeDefined();
    expect(ws('geo-dev-amy')).toMatchObject({
      projectId: project.id,
      autoApply: false,
      executionMode: 'remote',
      workingDirectory: 'infra/stacks/biome',
      tags: ['dev', 'biome', 'sandpit'],
    });
    const varset = [...api.varsets.values()].find((v) => v.name === 'geo-dev-sandpits')!;
    expect(varset.projectIds).toEqual([project.id]);
    expect(varset.vars.map((v) => [v.key, v.value, v.category])).toEqual([
      ['TFC_AWS_PROVIDER_AUTH', 'true', 'env'],
      ['TFC_AWS_RUN_ROLE_ARN', 'arn:aws:iam::111111111111:role/geo-deploy-dev-sandpit', 'env'],
    ]);
    // Run again: nothing new is created (idempotent), and it says the workspace exists.
    const before = api.requests.filter((r) => r.method === 'POST').length;
    expect(await output(() => biomeCreateWith({ biome: 'dev-amy', ttl: 2 }, context(), deps))).toContain(
      'HCP Terraform workspace geo-dev-amy already exists',
    );
    expect(api.requests.filter((r) => r.method === 'POST').length).toBe(before);
    expect(api.workspaces.size).toBe(1);
  });

  it('infra:deploy --apply --dry-run prints the workspace and the commands, calls nothing and writes no override', async () => {
    const requests = api.requests.length;
    const out = await output(() => infraDeployWith({ biome: 'dev-amy', apply: true, dryRun: true }, context(), deps));
    expect(out).toContain(
      'HCP Terraform workspace geo-dev-amy (organization geo-platform, project geo-dev-sandpits, tags dev, biome, sandpit)',
    );
    const env = `TF_CLOUD_HOSTNAME=${api.hostname} TF_CLOUD_ORGANIZATION=geo-platform TF_CLOUD_PROJECT=geo-dev-sandpits TF_WORKSPACE=geo-dev-amy`;
    expect(out).toContain(`${env} terraform -chdir=infra/stacks/biome init -input=false`);
    expect(out).toContain(
      `${env} terraform -chdir=infra/stacks/biome plan -input=false -var-file=../../../dist/terraform/dev-amy.tfvars.json -var=state_backend=cloud -out=dev-amy.tfplan`,
    );
    expect(out).toContain(`${env} terraform -chdir=infra/stacks/biome apply -input=false dev-amy.tfplan`);
    expect(out).not.toContain('workspace select');
    expect(api.requests.length).toBe(requests);
    expect(existsSync(override())).toBe(false);
    expect(await calls()).toEqual([]);
  });

  it('infra:deploy --apply runs terraform with the cloud block in force and the workspace selected, prints the run URL and writes it for the job', async () => {
    const out = await output(() => infraDeployWith({ biome: 'dev-amy', apply: true }, context(), deps));
    expect(await readFile(override(), 'utf8')).toBe(CLOUD_OVERRIDE_CONTENT);
    const recorded = await calls();
    expect(recorded.map((c) => c.argv.slice(1).join(' '))).toEqual([
      'init -input=false',
      'plan -input=false -var-file=../../../dist/terraform/dev-amy.tfvars.json -var=state_backend=cloud -out=dev-amy.tfplan',
      'apply -input=false dev-amy.tfplan',
    ]);
    for (const c of recorded) {
      expect(c.override).toBe(true);
      expect(c.env).toEqual({
        TF_CLOUD_HOSTNAME: api.hostname,
        TF_CLOUD_ORGANIZATION: 'geo-platform',
        TF_CLOUD_PROJECT: 'geo-dev-sandpits',
        TF_WORKSPACE: 'geo-dev-amy',
      });
    }
    const runUrl = `https://${api.hostname}/app/geo-platform/geo-dev-amy/runs/run-Stand1n2Run3`;
    expect(out).toContain(`HCP Terraform run: ${runUrl} (written to dist/terraform/dev-amy.hcp-terraform.env)`);
    expect(await readFile(join(root, 'dist/terraform/dev-amy.hcp-terraform.env'), 'utf8')).toContain(
      `HCP_TERRAFORM_RUN_URL=${runUrl}\n`,
    );
  });

  it('the first apply of a biome nobody created makes its workspace too', async () => {
    const dev = deps.storeFor('dev');
    await writeBiomeMeta(dev, {
      schemaVersion: 1,
      biome: 'dev-new',
      environment: 'dev',
      owner: 'amy',
      created: '2026-11-26T00:00:00.000Z',
      expires: '2026-11-27T00:00:00.000Z',
      asleep: false,
    });
    expect(ws('geo-dev-new')).toBeUndefined();
    const out = await output(() => infraDeployWith({ biome: 'dev-new', apply: true }, context(), deps));
    expect(out).toContain('HCP Terraform: created workspace geo-dev-new');
    expect(ws('geo-dev-new')?.tags).toEqual(['dev', 'biome', 'sandpit']);
  });

  it('biome-destroy refuses while the workspace still manages resources (nothing deleted), then deletes the workspace and the biome', async () => {
    ws('geo-dev-amy')!.resourceCount = 7;
    await expect(biomeDestroyWith({ biome: 'dev-amy' }, context(), deps)).rejects.toMatchObject({
      code: 'HCP_WORKSPACE_NOT_EMPTY',
      hint: expect.stringContaining('--terraform'),
    });
    expect(ws('geo-dev-amy')).toBeDefined();
    expect(await readBiomeMeta(deps.storeFor('dev'), 'dev-amy')).toMatchObject({ owner: 'amy' });

    expect(await output(() => biomeDestroyWith({ biome: 'dev-amy', dryRun: true }, context(), deps))).toContain(
      '[dry-run] would delete HCP Terraform workspace geo-dev-amy (organization geo-platform) if it manages no resources',
    );
    expect(ws('geo-dev-amy')).toBeDefined();

    ws('geo-dev-amy')!.resourceCount = 0;
    const out = await output(() => biomeDestroyWith({ biome: 'dev-amy' }, context(), deps));
    expect(out).toContain('HCP Terraform: deleted workspace geo-dev-amy');
    expect(out).toContain('destroyed dev-amy');
    expect(ws('geo-dev-amy')).toBeUndefined();
    expect(await readBiomeMeta(deps.storeFor('dev'), 'dev-amy')).toBeUndefined();
    expect(existsSync(join(root, 'dist/terraform/dev-amy.hcp-terraform.env'))).toBe(false);
  });

  it('biome-destroy --terraform destroys through the workspace first (plan -destroy, apply), then deletes it', async () => {
    await biomeCreateWith({ biome: 'dev-cat', owner: 'cat', ttl: 1 }, context(), deps);
    await output(() => biomeDestroyWith({ biome: 'dev-cat', terraform: true }, context(), deps));
    const recorded = await calls();
    expect(recorded.map((c) => c.argv.slice(1).join(' '))).toEqual([
      'init -input=false',
      'plan -input=false -var-file=../../../dist/terraform/dev-cat.tfvars.json -var=state_backend=cloud -destroy -out=dev-cat.tfplan',
      'apply -input=false dev-cat.tfplan',
    ]);
    expect(recorded.every((c) => c.env.TF_WORKSPACE === 'geo-dev-cat')).toBe(true);
    expect(ws('geo-dev-cat')).toBeUndefined();
  });

  it('reap deletes the workspaces of expired sandpits', async () => {
    await biomeCreateWith({ biome: 'dev-old', owner: 'old', ttl: 1 }, context(), deps);
    expect(ws('geo-dev-old')).toBeDefined();
    clock += 3 * 3600_000;
    const out = await output(() => biomeReapWith({ confirm: true }, context(), deps));
    expect(out).toContain('HCP Terraform: deleted workspace geo-dev-old');
    expect(ws('geo-dev-old')).toBeUndefined();
  });

  it('the main biome of a multi-tenant environment lives in its own project with the main deploy role; prod plans but never applies', async () => {
    await biomeCreateWith({ biome: 'dev', owner: 'platform' }, context(), deps);
    const mainProject = [...api.projects.values()].find((p) => p.name === 'geo-dev')!;
    expect(ws('geo-dev')).toMatchObject({ projectId: mainProject.id, tags: ['dev', 'biome', 'main'] });
    const mainSet = [...api.varsets.values()].find((v) => v.name === 'geo-dev')!;
    expect(mainSet.projectIds).toEqual([mainProject.id]);
    expect(mainSet.vars.find((v) => v.key === 'TFC_AWS_RUN_ROLE_ARN')?.value).toBe(
      'arn:aws:iam::111111111111:role/geo-deploy-dev',
    );
    await biomeCreateWith({ biome: 'prod', owner: 'platform' }, context(), deps);
    const out = await output(() => infraDeployWith({ biome: 'prod', apply: true }, context(), deps));
    expect((await calls()).map((c) => c.argv[1])).toEqual(['init', 'plan']);
    expect(out).toContain(
      'prod is the production main biome: the plan is not applied here; approve it in HCP Terraform',
    );
    expect(ws('geo-prod')).toMatchObject({ autoApply: false, tags: ['prod', 'biome', 'main'] });
    const prodSet = [...api.varsets.values()].find((v) => v.name === 'geo-prod')!;
    expect(prodSet.vars.find((v) => v.key === 'TFC_AWS_RUN_ROLE_ARN')?.value).toBe(
      'arn:aws:iam::333333333333:role/geo-deploy-prod',
    );
  });

  it('--planOnly (the manual CI check): init and a saved plan in the workspace, never an apply', async () => {
    const out = await output(() => infraDeployWith({ biome: 'dev', planOnly: true }, context(), deps));
    expect((await calls()).map((c) => [c.argv[1], c.env.TF_WORKSPACE])).toEqual([
      ['init', 'geo-dev'],
      ['plan', 'geo-dev'],
    ]);
    expect(out).toContain(`HCP Terraform run: https://${api.hostname}/app/geo-platform/geo-dev/runs/run-Stand1n2Run3`);
  });

  it("when Terraform's output holds no run URL, the workspace's latest run (runs API) is reported", async () => {
    ws('geo-dev')!.runs = [{ id: 'run-Latest42', status: 'planned_and_saved' }];
    const quiet = { ...deps, env: { ...deps.env, STANDIN_QUIET: '1' } };
    const out = await output(() => infraDeployWith({ biome: 'dev', planOnly: true }, context(), quiet));
    expect(out).toContain(
      `HCP Terraform run: http://${api.hostname}/app/geo-platform/workspaces/geo-dev/runs/run-Latest42`,
    );
    expect(api.requests.some((r) => r.path.includes(`/workspaces/${ws('geo-dev')!.id}/runs`))).toBe(true);
  });

  it('without a token nothing is created: HCP_TERRAFORM_TOKEN_MISSING before the biome is written', async () => {
    const bare = { ...deps, env: { ...deps.env, HOME: join(root, 'no-home') } };
    await expect(biomeCreateWith({ biome: 'dev-tok', owner: 'x' }, context(), bare)).rejects.toMatchObject({
      code: 'HCP_TERRAFORM_TOKEN_MISSING',
    });
    expect(await readBiomeMeta(deps.storeFor('dev'), 'dev-tok')).toBeUndefined();
    expect(ws('geo-dev-tok')).toBeUndefined();
  });
});

describe('switching back to the default backend', () => {
  it('the next S3 run removes the generated override and runs exactly the S3 commands', async () => {
    await writeFile(override(), CLOUD_OVERRIDE_CONTENT);
    const s3Config = parseWorkspaceConfig({
      ...JSON.parse(await readFile(join(root, 'nx-biome.json'), 'utf8')),
      terraform: { backend: 's3' },
    });
    await writeFile(
      join(root, 'nx-biome.json'),
      JSON.stringify({
        ...JSON.parse(await readFile(join(root, 'nx-biome.json'), 'utf8')),
        terraform: { backend: 's3' },
      }),
    );
    const s3Deps = { ...deps, ...realDeps(root, s3Config, deps.env), log: deps.log, now: deps.now, env: deps.env };
    const requests = api.requests.length;
    const out = await output(() => infraDeployWith({ biome: 'dev', apply: true }, context(), s3Deps));
    expect(out).toContain('removed infra/stacks/biome/cloud_override.tf (terraform.backend is "s3")');
    expect(existsSync(override())).toBe(false);
    expect((await calls()).map((c) => [c.argv.slice(1, 3).join(' '), c.env])).toEqual([
      ['init -input=false', {}],
      ['workspace select', {}],
      ['plan -input=false', {}],
      ['apply -input=false', {}],
    ]);
    expect(api.requests.length).toBe(requests);
  });

  it('an override the plugin did not write is never touched: TERRAFORM_OVERRIDE_FOREIGN', async () => {
    await writeFile(override(), 'terraform {\n  cloud {}\n}\n');
    await expect(infraDeployWith({ biome: 'dev', apply: true }, context(), deps)).rejects.toMatchObject({
      code: 'TERRAFORM_OVERRIDE_FOREIGN',
    });
    expect(await readFile(override(), 'utf8')).toBe('terraform {\n  cloud {}\n}\n');
    await rm(override());
  });
});

describe('the real Nx CLI on a copy of this workspace', () => {
  it('nx run infra:deploy --biome=dev-bob --apply --dry-run prints the HCP Terraform workspace and the commands; no token, no call, no file', async () => {
    const copy = await copyWorkspace('hcp-nx-');
    try {
      const file = join(copy.root, 'nx-biome.json');
      await writeFile(
        file,
        JSON.stringify(
          {
            ...JSON.parse(await readFile(file, 'utf8')),
            terraform: { backend: 'cloud', cloud: { organization: 'geo-platform' } },
          },
          null,
          2,
        ),
      );
      copy.git('commit', '-qam', 'terraform.backend cloud');
      const run = await copy.nx(
        ['run', 'infra:deploy', '--biome=dev-bob', '--apply', '--dry-run', '--output-style=static'],
        { HOME: join(copy.root, 'no-home'), TERRAFORM_BINARY: '/nonexistent/terraform' },
      );
      expect(run.code, run.output).toBe(0);
      expect(run.output).toContain(
        'HCP Terraform workspace geo-dev-bob (organization geo-platform, project geo-dev-sandpits, tags dev, biome, sandpit): https://app.terraform.io/app/geo-platform/workspaces/geo-dev-bob',
      );
      const env =
        'TF_CLOUD_HOSTNAME=app.terraform.io TF_CLOUD_ORGANIZATION=geo-platform TF_CLOUD_PROJECT=geo-dev-sandpits TF_WORKSPACE=geo-dev-bob';
      expect(run.output).toContain(`${env} terraform -chdir=infra/stacks/biome init -input=false`);
      expect(run.output).toContain(
        `${env} terraform -chdir=infra/stacks/biome plan -input=false -var-file=../../../dist/terraform/dev-bob.tfvars.json -var=state_backend=cloud -out=dev-bob.tfplan`,
      );
      expect(run.output).toContain(`${env} terraform -chdir=infra/stacks/biome apply -input=false dev-bob.tfplan`);
      expect(existsSync(join(copy.root, 'infra/stacks/biome/cloud_override.tf'))).toBe(false);
      expect(existsSync(join(copy.root, 'dist/terraform/dev-bob.tfvars.json'))).toBe(false);
    } finally {
      await copy.cleanup();
    }
  }, 300_000);
});
