import { describe, expect, it } from 'vitest';
import { detectProjects } from '../../core/inferred-targets';
import serviceGenerator from '../service/generator';
import { assertParses, createBiomeTree, readJsonFrom, snapshot } from '../testing';
import modelGenerator from './generator';

describe('model generator', () => {
  it('creates model files, inference code, a test and model-build/package/deploy targets', async () => {
    const tree = createBiomeTree();
    await modelGenerator(tree, { name: 'recovery-rate', tags: 'team:ml' });
    const root = 'apps/models/recovery-rate';
    const model = readJsonFrom(tree, `${root}/model/coefficients.json`);
    expect(model.coefficients).toHaveLength(model.features.length);
    expect(tree.read(`${root}/code/inference.py`, 'utf-8')).toMatch(
      /def model_fn\(model_dir\)[\s\S]*def predict_fn\(data, model\)/,
    );
    expect(tree.read(`${root}/.gitignore`, 'utf-8')).toContain('__pycache__/');
    assertParses(tree, `${root}/recovery-rate.spec.ts`);
    const project = readJsonFrom(tree, `${root}/project.json`);
    expect(project.tags).toEqual(['kind:model', 'deployable', 'team:ml']);
    // Nothing of its own: the plugin finds the model/ folder and infers model-build, package and deploy.
    expect(project.targets).toEqual({});
    expect(
      detectProjects(
        tree.children(`${root}/model`).map((f) => `${root}/model/${f}`),
        (r) => tree.exists(`${r}/project.json`),
      ),
    ).toEqual([{ root, kind: 'model' }]);
  });

  it.each([
    ['Ore.Grade', /PROJECT_NAME_INVALID: Project name "Ore.Grade" is invalid/],
    ['9-lives', /PROJECT_NAME_INVALID/],
    ['m'.repeat(35), /the limit is 34/],
    ['grade-predict', /A project named "grade-predict" already exists/],
  ])('refuses %j and writes nothing', async (name, message) => {
    const tree = createBiomeTree();
    await serviceGenerator(tree, { name: 'grade-predict' });
    const before = snapshot(tree);
    await expect(modelGenerator(tree, { name })).rejects.toThrow(message);
    expect(snapshot(tree)).toEqual(before);
  });
});
