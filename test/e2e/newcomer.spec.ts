import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyWorkspace, nxEnv, TempWorkspace } from '../support/workspace';

/**
 * A newcomer on a fresh clone, typing the README's commands as written (npx,
 * no --output-style flag): what they see and what they get.
 */
describe('the README, followed word for word on a fresh clone', () => {
  let ws: TempWorkspace;

  /** Runs a command as a user types it in the workspace (npx resolves the local binaries). */
  const sh = (args: string[], env: Record<string, string> = {}, unset: string[] = []) =>
    new Promise<{ code: number; stdout: string; stderr: string; output: string }>((resolve) => {
      const childEnv = nxEnv(env);
      for (const name of unset) delete childEnv[name];
      const child = spawn('npx', args, { cwd: ws.root, env: childEnv });
      let stdout = '';
      let stderr = '';
      let output = '';
      child.stdout.on('data', (d) => ((stdout += d), (output += d)));
      child.stderr.on('data', (d) => ((stderr += d), (output += d)));
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr, output }));
    });
  const count = (text: string, what: RegExp) => (text.match(new RegExp(what.source, 'g')) ?? []).length;
  const built = () => existsSync(join(ws.root, 'dist/artifacts')) || existsSync(join(ws.root, 'dist/apps'));

  beforeAll(async () => {
    ws = await copyWorkspace('e2e-newcomer-');
  });
  afterAll(async () => ws?.cleanup());

  it.each([
    ['no --biome at all', ['nx', 'affected', '-t', 'deploy'], {}, /OPTIONS_INVALID: No biome given/],
    [
      'an https:// store URL',
      ['nx', 'affected', '-t', 'deploy', '--biome=dev-bob'],
      { BIOME_STORE: 'https://geo-artifacts.example/dev' },
      /STORE_URL_INVALID/,
    ],
    [
      'an S3 store and no AWS credentials',
      ['nx', 'affected', '-t', 'deploy', '--biome=dev-bob'],
      // No credentials anywhere, and no instance metadata lookup (it would leave loopback).
      {
        BIOME_STORE: 's3://geo-artifacts-dev',
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
        AWS_CONFIG_FILE: '/nonexistent',
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
        AWS_REGION: 'ap-southeast-2',
      },
      /STORE_UNREACHABLE: Store s3:\/\/geo-artifacts-dev: no AWS credentials found/,
    ],
    [
      'a --base that is no commit',
      ['nx', 'affected', '-t', 'deploy', '--biome=dev-bob', '--base=nosuchbranch'],
      {},
      /GIT_BASE_UNKNOWN: --base=nosuchbranch names no commit in this clone/,
    ],
    [
      'plugins isolated in a worker, which cannot start the command again: the one command that needs no second start',
      ['nx', 'affected', '-t', 'deploy', '--biome=dev-bob'],
      { NX_ISOLATE_PLUGINS: 'true' },
      /fix: Run: npx nx-biome deploy --biome=dev-bob /,
    ],
  ])('%s: one clear error before anything is built, exit code 1', async (_label, args, env, message) => {
    const run = await sh(args, env as Record<string, string>);
    expect(run.code, run.output).toBe(1);
    expect(count(run.output, message), run.output).toBe(1);
    expect(run.output).toMatch(/fix: /);
    expect(run.output).not.toMatch(/nx run [\w-]+:build/);
    expect(built()).toBe(false);
  });

  it('the headline command deploys every project to a new biome and shows the table without extra flags', async () => {
    // Nothing set in the environment: the workspace's .env runs the plugin in the Nx process.
    const run = await sh(['nx', 'affected', '-t', 'deploy', '--biome=dev-bob'], {}, ['NX_ISOLATE_PLUGINS']);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/new biome dev-bob: deploying creates it in file:\/\/\S+\.biome-store\/dev\./);
    expect(run.output).toMatch(/dev-bob has no complete deploy run yet: deploying every project/);
    for (const [project, kind] of [
      ['assay-ingest', 'service'],
      ['grade-predict', 'service'],
      ['plant-feed', 'workflow'],
      ['ore-grade', 'model'],
    ]) {
      expect(run.output).toMatch(
        new RegExp(`│ ${project}\\s+│ ${kind}\\s+│ uploaded\\s+│ [0-9a-f]{8}\\s+│ [\\d.]+ KiB`),
      );
    }
    expect(run.output).toMatch(/│ geo-dev-bob--assay-ingest\s+│/);
    const tfvars = JSON.parse(await readFile(join(ws.root, 'dist/terraform/dev-bob.tfvars.json'), 'utf8'));
    expect(Object.keys(tfvars.services).sort()).toEqual(['assay-ingest', 'grade-predict']);
  });

  it("after one commit, the same command deploys only what changed since the biome's last deployed commit", async () => {
    const main = join(ws.root, 'apps/services/assay-ingest/src/main.ts');
    await writeFile(main, `${await readFile(main, 'utf8')}\nexport const newcomerChange = 1;\n`);
    ws.git('commit', '-qam', 'assay-ingest: a change');
    const run = await sh(['nx', 'affected', '-t', 'deploy', '--biome=dev-bob']);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/dev-bob was last brought up to date at [0-9a-f]{8}: deploying what changed since then/);
    expect(run.output).toMatch(/Successfully ran target deploy for 2 projects/);
    expect(run.output).toMatch(/│ assay-ingest\s+│ service\s+│ uploaded\s+│/);
    expect(run.output).toMatch(/│ grade-predict\s+│ service\s+│ not in this run\s+│/);
    // Nothing more to do: the biome is up to date.
    const again = await sh(['nx', 'affected', '-t', 'deploy', '--biome=dev-bob']);
    expect(again.code, again.output).toBe(0);
    expect(again.output).toMatch(/No tasks were run/);
  });

  it('a typing slip in the biome name is refused before anything runs, naming the nearest biome and both fixes', async () => {
    const run = await sh(['nx', 'affected', '-t', 'deploy', '--biome=dev-bbo']);
    expect(run.code, run.output).toBe(1);
    expect(
      count(
        run.output,
        /BIOME_NOT_FOUND: new biome dev-bbo: \S+ has no biome of that name, but has dev-bob \(did you mean dev-bob\?\)/,
      ),
      run.output,
    ).toBe(1);
    expect(run.output).toMatch(
      /fix: Deploy to --biome=dev-bob, or create the new biome on purpose first: nx run infra:biome-create --biome=dev-bbo \(then deploy again\)/,
    );
    expect(existsSync(join(ws.root, '.biome-store/dev/biomes/dev-bbo'))).toBe(false);
  });

  it("Terraform's working files never make the tree dirty, and infra:deploy re-renders without building, despite local edits", async () => {
    await mkdir(join(ws.root, 'infra/stacks/biome/.terraform/providers'), { recursive: true });
    await writeFile(join(ws.root, 'infra/stacks/biome/.terraform/terraform.tfstate'), '{}');
    await writeFile(join(ws.root, 'infra/stacks/biome/dev-bob.tfplan'), 'plan');
    expect(ws.git('status', '--porcelain')).toBe('');
    const svc = join(ws.root, 'apps/services/grade-predict/src/main.ts');
    const original = await readFile(svc, 'utf8');
    await writeFile(svc, `${original}\n// work in progress\n`);
    const render = await sh(['nx', 'run', 'infra:deploy', '--biome=dev-bob']);
    expect(render.code, render.output).toBe(0);
    expect(render.output).toMatch(/rendered dist\/terraform\/dev-bob\.tfvars\.json: 4 project\(s\)/);
    expect(render.output).not.toMatch(/:(build|package)/);
    // The dirty-tree error names the file and the right fixes.
    const dirty = await sh(['nx', 'run-many', '-t', 'deploy', '--biome=dev-bob']);
    expect(dirty.code).toBe(1);
    expect(dirty.output).toMatch(
      /GIT_DIRTY_TREE[\s\S]*apps\/services\/grade-predict\/src\/main\.ts[\s\S]*git stash push -- apps\/services\/grade-predict\/src\/main\.ts[\s\S]*\.gitignore/,
    );
    await writeFile(svc, original);
  });

  it('scripts get clean machine output: --base=$(npx nx-biome base …) and npx nx-biome show … | jq', async () => {
    const base = await sh(['nx-biome', 'base', '--biome=dev-bob']);
    expect(base.code, base.output).toBe(0);
    expect(base.stdout).toBe(`${ws.git('rev-parse', 'HEAD').trim()}\n`);
    const show = await sh(['nx-biome', 'show', '--biome=dev-bob', '--json']);
    expect(show.code, show.output).toBe(0);
    const parsed = JSON.parse(show.stdout);
    expect(parsed.biome).toBe('dev-bob');
    const list = await sh(['nx-biome', 'list', '--json']);
    expect(list.code, list.output).toBe(0);
    expect(JSON.parse(list.stdout).environments[0].biomes.map((b: { biome: string }) => b.biome)).toEqual(['dev-bob']);
    const affected = await sh(['nx', 'affected', '-t', 'deploy', '--biome=dev-bob', `--base=${base.stdout.trim()}`]);
    expect(affected.code, affected.output).toBe(0);
    expect(affected.output).toMatch(/No tasks were run/);
  });
});
