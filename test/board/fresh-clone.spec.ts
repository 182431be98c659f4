import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3rver, S3Server } from '../support/s3rver';
import { copyWorkspace, TempWorkspace } from '../support/workspace';
import { LambdaDouble, startLambdaDouble } from '../ci/doubles/lambda';
import { startSfnDouble, SfnDouble } from '../drift/sfn-double';
import { chromiumOrSkip, withChromium } from './browser';
import { modelsBucketName } from '../../tools/nx-biome/src/core/drift';
import { parseBiomeName } from '../../tools/nx-biome/src/core/names';
import { renderTfvars } from '../../tools/nx-biome/src/core/tfvars';
import { openStore } from '../../tools/nx-biome/src/adapters/store/open-store';
import { loadWorkspaceConfig } from '../../tools/nx-biome/src/adapters/workspace';
import { readBiomeMeta, readLedger } from '../../tools/nx-biome/src/operations/ledger-store';

/**
 * The "done when", through the Nx CLI on a copy of this workspace:
 * deploy to two biomes, render the board, open it; then plant a drift in the
 * (doubled) account and see biome-drift fail.
 */
describe('from a fresh clone: deploy two biomes, board, drift (Nx CLI)', () => {
  let ws: TempWorkspace;
  let s3: S3Server;
  let lambda: LambdaDouble;
  let sfn: SfnDouble;
  let env: Record<string, string>;
  let first: string;
  let second: string;

  beforeAll(async () => {
    ws = await copyWorkspace('board-e2e-');
    first = ws.git('rev-parse', 'HEAD').trim();
    const deploy1 = await ws.nx(['run-many', '-t', 'deploy', '--biome=dev-amy', '--output-style=static']);
    expect(deploy1.code, deploy1.output).toBe(0);
    const main = join(ws.root, 'apps/services/assay-ingest/src/main.ts');
    await writeFile(main, `${await readFile(main, 'utf8')}\n// faster parsing\n`);
    ws.git('commit', '-qam', 'assay-ingest: faster parsing');
    second = ws.git('rev-parse', 'HEAD').trim();
    // The second biome gets only what changed (one project's deploy is enough for a biome).
    const deploy2 = await ws.nx(['run', 'assay-ingest:deploy', '--biome=dev-bob', '--output-style=static']);
    expect(deploy2.code, deploy2.output).toBe(0);

    const config = await loadWorkspaceConfig(ws.root);
    s3 = await startS3rver([modelsBucketName(config, config.environments.dev)]);
    lambda = await startLambdaDouble(async () => undefined);
    sfn = await startSfnDouble();
    env = {
      ...s3.env,
      AWS_ENDPOINT_URL_LAMBDA: lambda.endpoint,
      AWS_ENDPOINT_URL_SFN: sfn.endpoint,
      AWS_MAX_ATTEMPTS: '2',
    };
  }, 900_000);

  afterAll(async () => {
    await lambda?.stop();
    await sfn?.stop();
    await s3?.stop();
    await ws?.cleanup();
  });

  it('infra:biome-board writes a page that shows both biomes and what each runs', async (ctx) => {
    const run = await ws.nx(['run', 'infra:biome-board', '--output-style=static']);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/biome board: 2 biome\(s\) × \d+ project\(s\)/);
    const html = await readFile(join(ws.root, 'dist/biome-board/index.html'), 'utf8');
    expect(html).toContain('data-biome="dev-amy"');
    expect(html).toContain('data-biome="dev-bob"');
    if (!chromiumOrSkip(() => ctx.skip())) return;
    await withChromium(async (page, problems) => {
      await page.goto(pathToFileURL(join(ws.root, 'dist/biome-board/index.html')).href);
      // No main biome here: the matrix starts empty and says so; "All biomes" loads both columns.
      expect(await page.locator('#status').innerText()).toContain('no main biome on this board');
      await page.click('#add-all');
      const heads = () =>
        page.locator('#matrix thead th[data-biome]').evaluateAll((ths) => ths.map((t) => t.getAttribute('data-biome')));
      await expect.poll(heads).toEqual(['dev-amy', 'dev-bob']);
      const row = page.locator('#matrix tbody tr[data-project="assay-ingest"] td');
      expect(await row.nth(1).innerText()).toContain(first.slice(0, 8));
      const bob = await row.nth(2).innerText();
      expect(bob).toContain(second.slice(0, 8));
      expect(bob).toContain('assay-ingest: faster parsing');
      expect(problems).toEqual([]);
    });
  });

  it('infra:biome-drift passes on an account that matches, then reports a planted drift and exits non-zero', async () => {
    const config = await loadWorkspaceConfig(ws.root);
    const biome = parseBiomeName('dev-amy', config);
    const store = openStore('file://.biome-store/dev', ws.root);
    const { tfvars } = renderTfvars({
      config,
      biome,
      meta: await readBiomeMeta(store, 'dev-amy'),
      records: await readLedger(store, 'dev-amy'),
    });
    // The account as an apply of the ledger leaves it.
    for (const s of Object.values(tfvars.services))
      lambda.addFunction(s.function_name, { codeSha256: s.source_code_hash });
    for (const w of Object.values(tfvars.workflows))
      sfn.deploy(
        `arn:aws:states:${tfvars.aws_region}:${tfvars.aws_account_id}:stateMachine:${w.state_machine_name}`,
        w.definition,
        w.version_description,
      );
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    for (const m of Object.values(tfvars.models)) {
      await client.send(
        new PutObjectCommand({
          Bucket: modelsBucketName(config, biome.environment),
          Key: `${tfvars.model_prefix}${m.target_path}`,
          Body: Buffer.from('model'),
          Metadata: { sha256: m.sha256, 'git-sha': m.git_sha },
        }),
      );
    }
    // Every kind is checked: functions, a state machine, a model.
    expect(Object.keys(tfvars.services)).toContain('assay-ingest');
    expect(Object.keys(tfvars.workflows).length).toBeGreaterThan(0);
    expect(Object.keys(tfvars.models).length).toBeGreaterThan(0);

    const clean = await ws.nx(['run', 'infra:biome-drift', '--biome=dev-amy', '--output-style=static'], env);
    expect(clean.code, clean.output).toBe(0);
    expect(clean.output).toMatch(/drift check of dev-amy .*: \d+ ok, 0 drifted, 0 missing, 0 not checked/);

    lambda.functions.get(tfvars.services['assay-ingest'].function_name)!.codeSha256 = Buffer.alloc(32, 7).toString(
      'base64',
    );
    const drifted = await ws.nx(['run', 'infra:biome-drift', '--biome=dev-amy', '--output-style=static'], env);
    expect(drifted.code).not.toBe(0);
    expect(drifted.output).toMatch(
      new RegExp(`assay-ingest .* ${first.slice(0, 8)} .* unknown code 070707070707 .* DRIFT`),
    );
    expect(drifted.output).toContain('DRIFT_DETECTED');
    expect(drifted.output).toContain(
      '1 project(s) in dev-amy do not run what the ledger records: assay-ingest (drift)',
    );

    // --json: the report is on stdout as JSON, between whatever Nx itself prints.
    const json = await ws.nx(['run', 'infra:biome-drift', '--biome=dev-amy', '--json', '--output-style=static'], env);
    expect(json.code).not.toBe(0);
    const report = JSON.parse(json.stdout.slice(json.stdout.indexOf('{\n'), json.stdout.lastIndexOf('\n}') + 2));
    expect(report).toMatchObject({ biome: 'dev-amy', drift: true });
    expect(report.rows.find((r: { project: string }) => r.project === 'assay-ingest')).toMatchObject({
      status: 'drift',
      expectedCommit: first,
    });
  });
});
