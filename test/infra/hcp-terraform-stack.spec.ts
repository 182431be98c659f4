import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOUD_OVERRIDE_FILE } from '../../tools/nx-biome/src/core/hcp-terraform';
import { parseBiomeName } from '../../tools/nx-biome/src/core/names';
import { testConfig } from '../../tools/nx-biome/src/core/test-config';
import { renderTfvars } from '../../tools/nx-biome/src/core/tfvars';
import { writeCloudOverride } from '../../tools/nx-biome/src/operations/hcp-terraform';
import { INFRA_ROOT } from './hcl';
import { OfflineTerraform, offlineTerraform, unavailable } from './terraform-cli';

/**
 * The biome stack with the generated cloud override in place (as
 * terraform.backend "cloud" leaves it), with the real terraform CLI and the
 * offline provider mirror: init -backend=false + validate, `terraform test`
 * in the workspace <prefix>-<biome> with state_backend=cloud, and an init
 * against a closed loopback port that shows the cloud block, not the
 * committed S3 backend, is the one in force. No HCP Terraform host is
 * contacted. Also: .terraformignore keeps everything but infra/ out of a
 * run's upload.
 */

const REPO = resolve(INFRA_ROOT, '..');
let tf: OfflineTerraform | undefined;
let why: string | undefined;
let root: string | undefined;
const stack = () => join(root!, 'infra/stacks/biome');

function requireTerraform(ctx: { skip(note?: string): void }): OfflineTerraform {
  if (why) {
    if (process.env.CI === 'true') throw new Error(`${why}: under CI=true the real-provider checks must run.`);
    console.log(`${why}: skipping this real-provider check.`);
    ctx.skip();
  }
  return tf!;
}

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Runs terraform with extra environment, resolving with exit code and output (a failure is an answer here). */
async function terraform(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(tf!.binary, args, {
      cwd: stack(),
      env: {
        ...process.env,
        TF_CLI_CONFIG_FILE: tf!.cliConfigFile,
        TF_IN_AUTOMATION: '1',
        CHECKPOINT_DISABLE: '1',
        TF_CLI_ARGS: '',
        TF_CLI_ARGS_init: '',
        TF_INPUT: '0',
        ...env,
      },
      timeout: 500_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, out: `${stdout}${stderr}` };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

const CLOUD_ENV = (port: number) => ({
  TF_CLOUD_HOSTNAME: `127.0.0.1:${port}`,
  TF_CLOUD_ORGANIZATION: 'geo-platform',
  TF_CLOUD_PROJECT: 'geo-dev',
  TF_WORKSPACE: 'geo-dev-bob',
});

beforeAll(async () => {
  tf = await offlineTerraform();
  why = unavailable(tf);
  if (why) return;
  // A copy of infra/ as committed (backend "s3" {} kept), plus the override the plugin writes.
  root = await mkdtemp(join(tmpdir(), 'hcp-stack-'));
  await cp(INFRA_ROOT, join(root, 'infra'), {
    recursive: true,
    filter: (src) => !/[/\\]\.terraform([/\\]|$)/.test(src) && !src.endsWith('.tfstate'),
  });
  await writeCloudOverride(root, 'infra/stacks/biome');
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('the biome stack with the cloud override', () => {
  it('still holds backend "s3" {} (committed) and the generated override beside it', async (ctx) => {
    requireTerraform(ctx);
    expect(await readFile(join(stack(), 'versions.tf'), 'utf8')).toContain('backend "s3" {}');
    expect(await readFile(join(stack(), CLOUD_OVERRIDE_FILE), 'utf8')).toMatch(/terraform \{\n {2}cloud \{\}\n\}/);
  });

  it(
    'init against an unreachable host: HCP Terraform is initialised (the cloud block is in force), not the S3 backend',
    { timeout: 300_000 },
    async (ctx) => {
      requireTerraform(ctx);
      const port = await closedPort();
      const cloud = await terraform(['init', '-input=false', '-no-color'], CLOUD_ENV(port));
      expect(cloud.code).not.toBe(0);
      expect(cloud.out).toContain('Initializing HCP Terraform...');
      expect(cloud.out).toContain(`https://127.0.0.1:${port}/.well-known/terraform.json`);
      expect(cloud.out).not.toMatch(/Initializing the backend|Successfully configured the backend "s3"/);
      expect(cloud.out).toContain(CLOUD_OVERRIDE_FILE);
    },
  );

  it('init -backend=false (lock file read-only) and validate pass', { timeout: 300_000 }, async (ctx) => {
    requireTerraform(ctx);
    const init = await terraform(['init', '-input=false', '-no-color', '-backend=false', '-lockfile=readonly'], {});
    expect(init.code, init.out).toBe(0);
    const validate = await terraform(['validate', '-no-color'], {});
    expect(validate.out).toContain('The configuration is valid');
  });

  it(
    'terraform test in workspace geo-dev-bob with state_backend=cloud passes; without it the workspace check refuses',
    { timeout: 600_000 },
    async (ctx) => {
      requireTerraform(ctx);
      const config = testConfig();
      const { tfvars } = renderTfvars({
        config,
        biome: parseBiomeName('dev-bob', config),
        meta: {
          schemaVersion: 1,
          biome: 'dev-bob',
          environment: 'dev',
          owner: 'bob',
          created: '2026-11-20T10:00:00.000Z',
          expires: null,
          asleep: false,
        },
        records: [
          {
            schemaVersion: 1,
            project: 'assay-ingest',
            kind: 'service',
            biome: 'dev-bob',
            environment: 'dev',
            artifactKey: `artifacts/assay-ingest/assay-ingest-${'a'.repeat(40)}.zip`,
            sha256: 'f'.repeat(64),
            size: 1,
            gitSha: 'a'.repeat(40),
            dirty: false,
            deployedAt: '2026-11-20T10:00:00.000Z',
            deployedBy: 'bob',
            settings: {},
          },
        ],
      });
      const file = join(root!, 'dev-bob.tfvars.json');
      await writeFile(file, JSON.stringify(tfvars));
      const env = CLOUD_ENV(await closedPort());
      const cloud = await terraform(['test', '-no-color', `-var-file=${file}`, '-var=state_backend=cloud'], env);
      expect(cloud.out).toMatch(/run "rendered_biome_plans"\.\.\. pass/);
      expect(cloud.out).toMatch(/run "rendered_biome_applies"\.\.\. pass/);
      expect(cloud.code, cloud.out).toBe(0);
      const s3 = await terraform(['test', '-no-color', `-var-file=${file}`], env);
      expect(s3.code).not.toBe(0);
      expect(s3.out).toMatch(/run "rendered_biome_plans"\.\.\. fail/);
      expect(s3.out).toContain('local.expected_workspace is "dev-bob"');
      expect(s3.out).toContain('terraform.workspace is "geo-dev-bob"');
    },
  );
});

describe('.terraformignore (what a run uploads to HCP Terraform)', () => {
  it('lists every top-level entry of the repository except infra/', async () => {
    const rules = (await readFile(join(REPO, '.terraformignore'), 'utf8'))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const { stdout } = await promisify(execFile)('git', ['ls-files'], { cwd: REPO });
    const top = [
      ...new Set(
        stdout
          .split('\n')
          .filter(Boolean)
          .map((f) => (f.includes('/') ? `${f.split('/')[0]}/` : f)),
      ),
    ];
    expect(top).toContain('infra/');
    for (const entry of top.filter((e) => e !== 'infra/')) expect(rules, `${entry} would be uploaded`).toContain(entry);
    // Nothing that would exclude infra/ itself.
    expect(rules.filter((r) => /^\/?(infra\/?|\*|\/\*)$/.test(r))).toEqual([]);
    // Big untracked folders of a working copy stay out too.
    for (const local of ['node_modules/', 'dist/', '.nx/', '.biome-store/']) expect(rules).toContain(local);
  });
});
