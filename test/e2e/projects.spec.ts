import { execFileSync, spawnSync } from 'node:child_process';
import { readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyWorkspace, NX_BIN, nxEnv, TempWorkspace, WORKSPACE_ROOT } from '../support/workspace';

const BIOME = 'dev-gen';
const STORE = '.biome-store/dev';
const NEW = { service: 'tailings-watch', workflow: 'tailings-flow', model: 'recovery-rate' };

const readJson = async (path: string) => JSON.parse(await readFile(path, 'utf8'));

describe('generated services, workflows and models deploy with the samples', () => {
  let ws: TempWorkspace;
  let head: string;
  const arn = (fn: string) => `arn:aws:lambda:ap-southeast-2:111111111111:function:geo-${BIOME}--${fn}`;

  beforeAll(async () => {
    ws = await copyWorkspace('e2e-projects-');
  });
  afterAll(async () => {
    await ws?.cleanup();
    await rm(`${ws.root}-clone`, { recursive: true, force: true });
  });

  it('nx g creates a service, a workflow invoking it and a model that nx affected deploys next to every earlier project', async () => {
    for (const args of [
      ['g', '@geo/nx-biome:service', NEW.service, '--memorySize=512', '--timeout=60'],
      ['g', '@geo/nx-biome:workflow', NEW.workflow, `--services=${NEW.service},grade-predict`],
      ['g', '@geo/nx-biome:model', NEW.model],
    ]) {
      const r = await ws.nx(args);
      expect(r.code, r.output).toBe(0);
    }
    ws.git('add', '-A');
    ws.git('commit', '-qm', 'tailings: service, workflow and model');
    head = ws.git('rev-parse', 'HEAD').trim();

    // A new biome: without --base, the deploy brings it every project, the new ones and the samples.
    const run = await ws.nx(['affected', '-t', 'deploy', `--biome=${BIOME}`, '--output-style=static']);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/dev-gen has no complete deploy run yet: deploying every project/);

    const artifacts = (p: string, ext: string) => join(ws.root, STORE, `artifacts/${p}/${p}-${head}.${ext}`);
    const stored = {
      service: await readFile(artifacts(NEW.service, 'zip')),
      workflow: await readFile(artifacts(NEW.workflow, 'zip')),
      model: await readFile(artifacts(NEW.model, 'tar.gz')),
    };
    // The stored bytes are the packaged bytes (their sha256 is what package recorded).
    const sha256 = async (file: string) =>
      (await readFile(join(ws.root, 'dist/artifacts', `${file}.sha256`), 'utf8')).split(' ')[0];
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(stored.model).digest('hex')).toBe(await sha256(`${NEW.model}-${head}.tar.gz`));
    expect(
      execFileSync('tar', ['tzf', artifacts(NEW.model, 'tar.gz')], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .sort(),
    ).toEqual(['code/inference.py', 'coefficients.json']);
    expect(
      execFileSync('tar', ['tzf', join(ws.root, STORE, `artifacts/ore-grade/ore-grade-${head}.tar.gz`)], {
        encoding: 'utf8',
      }),
    ).toContain('coefficients.json');
    expect(stored.workflow.includes(Buffer.from('definition.asl.json'))).toBe(true);

    const tfvars = await readJson(join(ws.root, `dist/terraform/${BIOME}.tfvars.json`));
    expect(Object.keys(tfvars.services)).toEqual(['assay-ingest', 'grade-predict', NEW.service]);
    expect(Object.keys(tfvars.workflows)).toEqual(['plant-feed', NEW.workflow]);
    expect(Object.keys(tfvars.models)).toEqual(['ore-grade', NEW.model]);
    expect(tfvars.services[NEW.service]).toMatchObject({
      function_name: `geo-${BIOME}--${NEW.service}`,
      memory_size: 512,
      timeout: 60,
      s3_key: `artifacts/${NEW.service}/${NEW.service}-${head}.zip`,
    });
    const flow = tfvars.workflows[NEW.workflow];
    expect(flow).toMatchObject({
      state_machine_name: `geo-${BIOME}--${NEW.workflow}`,
      git_sha: head,
      version_description: `${NEW.workflow} ${head}`,
      services: ['grade-predict', NEW.service],
    });
    expect(flow.function_arns).toEqual([arn('grade-predict'), arn(NEW.service)]);
    const definition = JSON.parse(flow.definition);
    expect(definition.Comment).toContain(head);
    expect(definition.States.TailingsWatch.Parameters.FunctionName).toBe(arn(NEW.service));
    expect(flow.definition).not.toContain('${service:');
    expect(tfvars.models[NEW.model]).toMatchObject({
      s3_key: `artifacts/${NEW.model}/${NEW.model}-${head}.tar.gz`,
      target_path: `${BIOME}/${NEW.model}-${head}.tar.gz`,
    });
    // The samples: grade-predict reaches its model's biome target, plant-feed its biome's functions.
    expect(tfvars.services['grade-predict'].environment.MODEL_TARGET).toBe(tfvars.models['ore-grade'].target_path);
    expect(tfvars.workflows['plant-feed'].function_arns).toEqual([arn('assay-ingest'), arn('grade-predict')]);
  });

  it('the new artifacts are byte-for-byte reproducible from another clone, folder, umask and time zone', async () => {
    const clone = `${ws.root}-clone/elsewhere`;
    execFileSync('sh', ['-c', 'umask 077 && git clone -q "$0" "$1"', ws.root, clone]);
    await symlink(join(WORKSPACE_ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir');
    const r = spawnSync(
      process.execPath,
      [NX_BIN, 'run-many', '-t', 'package', `--projects=${Object.values(NEW).join(',')}`, '--output-style=static'],
      { cwd: clone, env: nxEnv({ TZ: 'Australia/Perth' }), encoding: 'utf8' },
    );
    expect(r.status, r.stdout + r.stderr).toBe(0);
    for (const file of [`${NEW.service}-${head}.zip`, `${NEW.workflow}-${head}.zip`, `${NEW.model}-${head}.tar.gz`]) {
      const here = await readFile(join(ws.root, STORE, 'artifacts', file.slice(0, file.indexOf(`-${head}`)), file));
      expect((await readFile(join(clone, 'dist/artifacts', file))).equals(here), file).toBe(true);
    }
  });

  it('changing a service marks the workflow that invokes it affected, and no other workflow', async () => {
    const main = join(ws.root, `apps/services/${NEW.service}/src/main.ts`);
    await writeFile(main, `${await readFile(main, 'utf8')}\nexport const version = 2;\n`);
    ws.git('commit', '-qam', `${NEW.service}: version 2`);
    const r = await ws.nx(['show', 'projects', '--affected', '--base=HEAD~1', '--head=HEAD']);
    expect(r.code, r.output).toBe(0);
    expect(
      r.stdout
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .sort(),
    ).toEqual([NEW.workflow, NEW.service].sort());
  });

  it("a workflow with a broken definition fails its build with the validator's message and the file name", async () => {
    const file = `apps/workflows/${NEW.workflow}/${NEW.workflow}.asl.json`;
    const definition = await readJson(join(ws.root, file));
    definition.States.TailingsWatch.Next = 'Blend';
    await writeFile(join(ws.root, file), JSON.stringify(definition, null, 2));
    const r = await ws.nx(['run', `${NEW.workflow}:build`, '--output-style=static']);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain(`WORKFLOW_INVALID: ${file}: asl-validator rejected the definition:`);
    expect(r.output).toMatch(
      /TERMINAL_STATE_WITH_NEXT|MISSING_TRANSITION_TARGET: Missing 'StartAt'\|'Next'\|'Default' target: Blend/,
    );
  });
});
