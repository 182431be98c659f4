import { addProjectConfiguration } from '@nx/devkit';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectProjects } from '../../core/inferred-targets';
import { Definition, runDefinition } from '../../../../../test/support/asl-interpreter';
import { startSageMakerDouble } from '../../../../../test/support/sagemaker-double';
import { WORKSPACE_ROOT } from '../../../../../test/support/workspace';
import { AslValidate, checkWorkflowDefinition } from '../../core/workflow';
import serviceGenerator from '../service/generator';
import { assertParses, createBiomeTree, readJsonFrom, snapshot } from '../testing';
import workflowGenerator from './generator';

const validate = createRequire(__filename)('asl-validator') as AslValidate;

async function treeWithServices() {
  const tree = createBiomeTree();
  await serviceGenerator(tree, { name: 'assay-ingest' });
  await serviceGenerator(tree, { name: 'grade-predict' });
  return tree;
}

describe('workflow generator', () => {
  it("creates a definition that invokes the given services in order, by reference, and passes the build's checks", async () => {
    const tree = await treeWithServices();
    await workflowGenerator(tree, { name: 'plant-night', services: 'assay-ingest,grade-predict', tags: 'scope:plant' });
    const file = 'apps/workflows/plant-night/plant-night.asl.json';
    const text = tree.read(file, 'utf-8')!;
    const checked = checkWorkflowDefinition({ file, text, services: ['assay-ingest', 'grade-predict'], validate });
    expect(checked.services).toEqual(['assay-ingest', 'grade-predict']);
    const definition = JSON.parse(text);
    expect(definition.StartAt).toBe('AssayIngest');
    expect(definition.States.AssayIngest).toMatchObject({
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: '${service:assay-ingest}' },
      Next: 'GradePredict',
    });
    expect(definition.States.GradePredict).toMatchObject({
      Parameters: { FunctionName: '${service:grade-predict}' },
      End: true,
    });
    const project = readJsonFrom(tree, 'apps/workflows/plant-night/project.json');
    expect(project.tags).toEqual(['kind:workflow', 'deployable', 'scope:plant']);
    // Nothing of its own: the plugin infers asl-build (this definition), package and deploy.
    expect(project.targets).toEqual({});
    expect(detectProjects([file], () => true)).toEqual([
      { root: 'apps/workflows/plant-night', kind: 'workflow', definition: file },
    ]);
    assertParses(tree, 'apps/workflows/plant-night/plant-night.spec.ts');
    expect(tree.read('apps/workflows/plant-night/plant-night.spec.ts', 'utf-8')).toContain(
      'toEqual(["assay-ingest","grade-predict"])',
    );
  });

  it("runs end to end over the services' real handlers: each service gets the execution input, and grade-predict returns its predictions", async () => {
    const tree = createBiomeTree();
    await serviceGenerator(tree, { name: 'tailings-watch' });
    await serviceGenerator(tree, { name: 'grade-predict' });
    await workflowGenerator(tree, { name: 'tailings-flow', services: 'tailings-watch,grade-predict' });
    const definition = JSON.parse(
      tree.read('apps/workflows/tailings-flow/tailings-flow.asl.json', 'utf-8')!,
    ) as Definition & { States: Record<string, Record<string, unknown>> };
    // The place to wire each service is marked, and says what it gets.
    expect(definition.States.GradePredict.Comment).toMatch(
      /^WIRE grade-predict: its Payload is the workflow state \(the execution input, and \$\.results\.TailingsWatch\)/,
    );

    // tailings-watch as the generator wrote it, on disk to run it; grade-predict is the sample service's real handler.
    const dir = join(WORKSPACE_ROOT, 'tmp', `workflow-run-${process.pid}-${Date.now()}`);
    await mkdir(dir, { recursive: true });
    const sagemaker = await startSageMakerDouble();
    const saved = { ...process.env };
    try {
      for (const file of ['main.ts', 'tailings-watch.ts'])
        await writeFile(join(dir, file), tree.read(`apps/services/tailings-watch/src/${file}`, 'utf-8')!);
      Object.assign(process.env, {
        BIOME: 'dev-bob',
        GIT_SHA: 'a'.repeat(40),
        SAGEMAKER_ENDPOINT: 'geo-models-dev',
        MODEL_TARGET: 'dev-bob/ore-grade-abc.tar.gz',
        AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: sagemaker.endpoint,
        AWS_REGION: 'ap-southeast-2',
        AWS_ACCESS_KEY_ID: 'LOCAL',
        AWS_SECRET_ACCESS_KEY: 'LOCAL',
        AWS_EC2_METADATA_DISABLED: 'true',
      });
      const handlers = {
        'tailings-watch': (await import(join(dir, 'main.ts'))).handler,
        'grade-predict': (await import(join(WORKSPACE_ROOT, 'apps/services/grade-predict/src/main.ts'))).handler,
      };
      const input = {
        samples: [
          { sampleId: 'DDH-1', grades: { SiO2: 4, Al2O3: 2, P: 0.1 } },
          { sampleId: 'DDH-2', grades: { SiO2: 8 } },
        ],
      };
      const calls: { service: string; payload: unknown }[] = [];
      const output = (await runDefinition(definition, input, handlers, calls)) as {
        samples: unknown;
        results: Record<string, { output: Record<string, unknown> }>;
      };
      expect(calls.map((c) => c.service)).toEqual(['tailings-watch', 'grade-predict']);
      expect(calls[1].payload).toMatchObject(input);
      expect(output.samples).toEqual(input.samples);
      expect(output.results.TailingsWatch.output).toMatchObject({ biome: 'dev-bob', received: 1 });
      expect(output.results.GradePredict.output.predictions).toEqual([
        { sampleId: 'DDH-1', predictedFe: 60.12, model: 'dev-bob/ore-grade-abc.tar.gz' },
        { sampleId: 'DDH-2', predictedFe: 61.12, model: 'dev-bob/ore-grade-abc.tar.gz' },
      ]);
      expect(sagemaker.calls).toHaveLength(1);

      // What the old scaffold did (each output straight into the next service) silently predicted nothing: the run above is what changed.
      const chained = structuredClone(definition);
      for (const state of Object.values(chained.States)) {
        delete state.ResultSelector;
        delete state.ResultPath;
        state.OutputPath = '$.Payload';
      }
      const old = (await runDefinition(chained, input, handlers)) as { predictions: unknown[] };
      expect(old.predictions).toEqual([]);
    } finally {
      process.env = saved;
      await sagemaker.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('without services, starts from a valid single-state definition', async () => {
    const tree = createBiomeTree();
    await workflowGenerator(tree, { name: 'nightly', directory: 'apps/workflows/ops/nightly' });
    const file = 'apps/workflows/ops/nightly/nightly.asl.json';
    expect(checkWorkflowDefinition({ file, text: tree.read(file, 'utf-8')!, services: [], validate }).services).toEqual(
      [],
    );
  });

  it.each([
    [{ name: 'Plant_Feed' }, /PROJECT_NAME_INVALID: Project name "Plant_Feed" is invalid/],
    [{ name: 'x'.repeat(40) }, /is 40 characters; the limit is 34/],
    [{ name: 'assay-ingest' }, /A project named "assay-ingest" already exists \(apps\/services\/assay-ingest\)/],
    [
      { name: 'flow', services: 'assay-ingest,tailings' },
      /--services: "tailings" is not a service project of this workspace[\s\S]*Use service projects: assay-ingest, grade-predict/,
    ],
    [{ name: 'flow', services: 'Bad Name' }, /PROJECT_NAME_INVALID/],
  ])('refuses %j and writes nothing', async (options, message) => {
    const tree = await treeWithServices();
    const before = snapshot(tree);
    await expect(workflowGenerator(tree, options)).rejects.toThrow(message);
    expect(snapshot(tree)).toEqual(before);
  });

  it('refuses a workflow that would invoke another workflow as a service', async () => {
    const tree = await treeWithServices();
    await workflowGenerator(tree, { name: 'first' });
    await expect(workflowGenerator(tree, { name: 'second', services: 'first' })).rejects.toThrow(
      /"first" is not a service project/,
    );
  });

  it('refuses an account-level service (the artifact deployer), which no biome has', async () => {
    const tree = await treeWithServices();
    addProjectConfiguration(tree, 'artifact-deployer', {
      root: 'apps/services/artifact-deployer',
      projectType: 'application',
      tags: ['kind:service', 'scope:account'],
      targets: {},
    });
    await expect(workflowGenerator(tree, { name: 'deployer-flow', services: 'artifact-deployer' })).rejects.toThrow(
      /"artifact-deployer" is an account-level service/,
    );
    expect(tree.exists('apps/workflows/deployer-flow/project.json')).toBe(false);
  });
});
