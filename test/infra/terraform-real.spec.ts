import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerRecord } from '../../tools/nx-biome/src/core/ledger';
import { parseBiomeName } from '../../tools/nx-biome/src/core/names';
import { testConfig } from '../../tools/nx-biome/src/core/test-config';
import { renderTfvars } from '../../tools/nx-biome/src/core/tfvars';
import { INFRA_ROOT } from './hcl';
import { copyInfraForCli, initOffline, OfflineTerraform, offlineTerraform, unavailable } from './terraform-cli';

/**
 * The real terraform CLI with the real hashicorp/aws provider from the offline
 * mirror: init (with the committed lock files, read-only) and validate every
 * stack, then `terraform test` with a mocked provider that plans AND applies
 * the devops stack and the shared stack from an empty state, and the biome
 * stack with the tfvars the plugin renders, awake and asleep.
 *
 * Under CI=true a missing binary or provider fails; elsewhere every test here
 * says why it skipped. The runs are sequential (one file, one copy of infra/).
 */

const STACKS = ['devops', 'shared', 'biome'] as const;
const BIOME = 'dev-bob';
const durations: string[] = [];

let tf: OfflineTerraform | undefined;
let why: string | undefined;
let copy: Awaited<ReturnType<typeof copyInfraForCli>> | undefined;
let varsDir: string | undefined;

/** Skips (saying why) off CI; fails under CI=true. */
function requireTerraform(ctx: { skip(note?: string): void }): OfflineTerraform {
  if (why) {
    if (process.env.CI === 'true')
      throw new Error(
        `${why}: under CI=true the real-provider checks must run (install terraform and the provider mirror).`,
      );
    console.log(`${why}: skipping this real-provider check.`);
    ctx.skip();
  }
  return tf!;
}

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await fn();
  } finally {
    durations.push(`${label}: ${((Date.now() - start) / 1000).toFixed(1)} s`);
  }
}

const stackDir = (stack: string) => join(copy!.root, 'infra/stacks', stack);
const passed = (out: string, run: string) => expect(out, out).toMatch(new RegExp(`run "${run}"\\.\\.\\. pass`));

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
    biome: BIOME,
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

/** The tfvars the plugin's renderer writes for a sandpit holding a service using a model, another service, a model and a workflow. */
function renderedTfvars(asleep: boolean) {
  const config = testConfig();
  return renderTfvars({
    config,
    biome: parseBiomeName(BIOME, config),
    meta: {
      schemaVersion: 1,
      biome: BIOME,
      environment: 'dev',
      owner: 'bob',
      created: '2026-11-20T10:00:00.000Z',
      expires: null,
      asleep,
    },
    records: [
      record('grade-predict', 'service', 'b'.repeat(40), {
        memorySize: 512,
        timeout: 60,
        model: 'ore-grade',
        environment: { LOG_LEVEL: 'debug' },
      }),
      record('assay-ingest', 'service', 'a'.repeat(40)),
      record('ore-grade', 'model', 'a'.repeat(40)),
      record('plant-feed', 'workflow', 'b'.repeat(40), {
        definition:
          '{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"${service:assay-ingest}"},"End":true}}}',
      }),
    ],
  }).tfvars;
}

beforeAll(async () => {
  tf = await offlineTerraform();
  why = unavailable(tf);
  if (why) return;
  copy = await copyInfraForCli();
  varsDir = await mkdtemp(join(tmpdir(), 'biome-tfvars-'));
});

afterAll(async () => {
  if (durations.length) console.log(`terraform timings:\n  ${durations.join('\n  ')}`);
  await copy?.cleanup();
  if (varsDir) await rm(varsDir, { recursive: true, force: true });
});

describe('the lock files', () => {
  it('each stack commits its .terraform.lock.hcl (pinning hashicorp/aws), and git ignores .terraform/ but not the lock files', async () => {
    const git = promisify(execFile);
    const root = resolve(INFRA_ROOT, '..');
    for (const stack of STACKS) {
      const lock = `infra/stacks/${stack}/.terraform.lock.hcl`;
      expect(existsSync(join(root, lock)), lock).toBe(true);
      const ignored = await git('git', ['check-ignore', '-q', lock], { cwd: root }).then(
        () => true,
        () => false,
      );
      expect(ignored, `${lock} must not be ignored`).toBe(false);
    }
    expect(
      await git('git', ['check-ignore', '-q', 'infra/stacks/biome/.terraform/x'], { cwd: root }).then(
        () => true,
        () => false,
      ),
    ).toBe(true);
  });
});

describe('terraform with the real provider (offline mirror)', () => {
  it('fmt -check passes on infra/', async (ctx) => {
    const t = requireTerraform(ctx);
    await t.exec(['fmt', '-check', '-recursive', '-diff', '-no-color', INFRA_ROOT], INFRA_ROOT);
  });

  // Validating a stack validates every module it calls: the three stacks cover all modules.
  it.for(STACKS)(
    'stacks/%s: init -backend=false (lock file read-only) and validate',
    { timeout: 400_000 },
    async (stack, ctx) => {
      const t = requireTerraform(ctx);
      await timed(`init ${stack}`, () => initOffline(t, stackDir(stack)));
      expect(await timed(`validate ${stack}`, () => t.exec(['validate', '-no-color'], stackDir(stack)))).toContain(
        'The configuration is valid',
      );
    },
  );

  it('stacks/devops: plans and applies from an empty state in one apply; the trust split and the pipeline (terraform test, mocked provider)', async (ctx) => {
    const t = requireTerraform(ctx);
    const out = await timed('test devops', () =>
      t.exec(['test', '-no-color'], stackDir('devops'), { timeoutMs: 500_000 }),
    );
    passed(out, 'applies_from_an_empty_state_in_one_apply');
    // tests/pipeline.tftest.hcl: the CodeBuild trust split and the CodePipeline orchestrator.
    for (const run of ['gitlab_drives_main_by_default', 'codepipeline_drives_main', 'unknown_orchestrator_is_refused'])
      passed(out, run);
  }, 600_000);

  it('stacks/shared: artifact deployer and schema manager only with their packages, and a full apply from an empty state', async (ctx) => {
    const t = requireTerraform(ctx);
    const out = await timed('test shared', () =>
      t.exec(['test', '-no-color'], stackDir('shared'), { timeoutMs: 500_000 }),
    );
    for (const run of [
      'without_a_package_no_artifact_deployer',
      'artifact_deployer_is_wired',
      'package_key_without_its_hash_is_refused',
      'package_outside_the_deployer_prefix_is_refused',
      'schema_manager_runs_in_the_vpc_with_the_master_secret_by_reference',
      'schema_manager_key_without_its_hash_is_refused',
      'applies_from_an_empty_state',
    ])
      passed(out, run);
  }, 600_000);

  it.for([
    ['awake', false],
    ['asleep', true],
  ] as const)(
    'stacks/biome: plans and applies the rendered tfvars of a sandpit, %s',
    { timeout: 600_000 },
    async ([label, asleep], ctx) => {
      const t = requireTerraform(ctx);
      const tfvars = renderedTfvars(asleep);
      expect(tfvars.asleep).toBe(asleep);
      expect(Object.keys(tfvars.services)).toHaveLength(2);
      const file = join(varsDir!, `${BIOME}-${label}.tfvars.json`);
      await writeFile(file, JSON.stringify(tfvars, null, 2));
      await t.exec(['workspace', 'select', '-or-create', BIOME], stackDir('biome'));
      const out = await timed(`test biome ${label}`, () =>
        t.exec(['test', '-no-color', `-var-file=${file}`], stackDir('biome'), { timeoutMs: 500_000 }),
      );
      for (const run of [
        'rendered_biome_plans',
        'rendered_biome_applies',
        'sandpit_in_single_tenant_environment_is_refused',
        'artifact_bytes_equal_to_the_ledger_are_deployed_at_the_version_checked',
        'artifact_bytes_differing_from_the_ledger_are_refused',
      ])
        passed(out, run);
    },
  );
});
