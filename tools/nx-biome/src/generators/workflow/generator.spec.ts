import { addProjectConfiguration } from '@nx/devkit';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { detectProjects } from '../../core/inferred-targets';
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
  it('creates a definition that invokes the given services in order, by reference, and passes the build\'s checks', async () => {
    const tree = await treeWithServices();
    await workflowGenerator(tree, { name: 'plant-night', services: 'assay-ingest,grade-predict', tags: 'scope:plant' });
    const file = 'apps/workflows/plant-night/plant-night.asl.json';
    const text = tree.read(file, 'utf-8')!;
    const checked = checkWorkflowDefinition({ file, text, services: ['assay-ingest', 'grade-predict'], validate });
    expect(checked.services).toEqual(['assay-ingest', 'grade-predict']);
    const definition = JSON.parse(text);
    expect(definition.StartAt).toBe('AssayIngest');
    expect(definition.States.AssayIngest).toMatchObject({ Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: '${service:assay-ingest}' }, Next: 'GradePredict' });
    expect(definition.States.GradePredict).toMatchObject({ Parameters: { FunctionName: '${service:grade-predict}' }, End: true });
    const project = readJsonFrom(tree, 'apps/workflows/plant-night/project.json');
    expect(project.tags).toEqual(['kind:workflow', 'deployable', 'scope:plant']);
    // Nothing of its own: the plugin infers asl-build (this definition), package and deploy.
    expect(project.targets).toEqual({});
    expect(detectProjects([file], () => true)).toEqual([{ root: 'apps/workflows/plant-night', kind: 'workflow', definition: file }]);
    assertParses(tree, 'apps/workflows/plant-night/plant-night.spec.ts');
    expect(tree.read('apps/workflows/plant-night/plant-night.spec.ts', 'utf-8')).toContain('toEqual(["assay-ingest","grade-predict"])');
  });

  it('without services, starts from a valid single-state definition', async () => {
    const tree = createBiomeTree();
    await workflowGenerator(tree, { name: 'nightly', directory: 'apps/workflows/ops/nightly' });
    const file = 'apps/workflows/ops/nightly/nightly.asl.json';
    expect(checkWorkflowDefinition({ file, text: tree.read(file, 'utf-8')!, services: [], validate }).services).toEqual([]);
  });

  it.each([
    [{ name: 'Plant_Feed' }, /PROJECT_NAME_INVALID: Project name "Plant_Feed" is invalid/],
    [{ name: 'x'.repeat(40) }, /is 40 characters; the limit is 34/],
    [{ name: 'assay-ingest' }, /A project named "assay-ingest" already exists \(apps\/services\/assay-ingest\)/],
    [{ name: 'flow', services: 'assay-ingest,tailings' }, /--services: "tailings" is not a service project of this workspace[\s\S]*Use service projects: assay-ingest, grade-predict/],
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
    await expect(workflowGenerator(tree, { name: 'second', services: 'first' })).rejects.toThrow(/"first" is not a service project/);
  });

  it('refuses an account-level service (the artifact deployer), which no biome has', async () => {
    const tree = await treeWithServices();
    addProjectConfiguration(tree, 'artifact-deployer', { root: 'apps/services/artifact-deployer', projectType: 'application', tags: ['kind:service', 'scope:account'], targets: {} });
    await expect(workflowGenerator(tree, { name: 'deployer-flow', services: 'artifact-deployer' })).rejects.toThrow(/"artifact-deployer" is an account-level service/);
    expect(tree.exists('apps/workflows/deployer-flow/project.json')).toBe(false);
  });
});
