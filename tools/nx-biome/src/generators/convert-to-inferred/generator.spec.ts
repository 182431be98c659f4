import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WORKSPACE_ROOT } from '../../../../../test/support/workspace';
import { createBiomeTree, readJsonFrom, snapshot } from '../testing';
import { convertProjectsToInferred as convertToInferredGenerator } from './generator';

/** project.json files as they were before inference (test/e2e/fixtures/project-json-before), with the files the plugin looks for. */
const LEGACY: Record<string, { root: string; files: string[] }> = {
  'assay-ingest': { root: 'apps/services/assay-ingest', files: ['src/main.ts'] },
  'grade-predict': { root: 'apps/services/grade-predict', files: ['src/main.ts'] },
  'plant-feed': { root: 'apps/workflows/plant-feed', files: ['plant-feed.asl.json'] },
  'ore-grade': { root: 'apps/models/ore-grade', files: ['model/coefficients.json', 'code/inference.py'] },
  'artifact-deployer': { root: 'apps/services/artifact-deployer', files: ['src/main.ts'] },
  'schema-manager': { root: 'apps/services/schema-manager', files: ['src/main.ts'] },
};
const fixture = (name: string) =>
  readFileSync(join(WORKSPACE_ROOT, 'test/e2e/fixtures/project-json-before', `${name}.json`), 'utf8');

function legacyTree() {
  const tree = createBiomeTree();
  const nxJson = JSON.parse(fixture('nx'));
  tree.write(
    'nx.json',
    JSON.stringify({
      ...readJsonFrom(tree, 'nx.json'),
      plugins: nxJson.plugins,
      targetDefaults: nxJson.targetDefaults,
    }),
  );
  for (const [name, { root, files }] of Object.entries(LEGACY)) {
    tree.write(`${root}/project.json`, fixture(name));
    for (const f of files) tree.write(`${root}/${f}`, '{}');
  }
  return tree;
}

describe('convert-to-inferred generator', () => {
  it("leaves each sample project.json exactly as this repository's short form, and the infrastructure services explicit", async () => {
    const tree = legacyTree();
    const results = await convertToInferredGenerator(tree);
    expect(results).toEqual([
      {
        project: 'artifact-deployer',
        outcome: 'kept-explicit',
        why: 'its build target runs @nx/esbuild:esbuild, not @geo/nx-biome:esbuild',
      },
      { project: 'assay-ingest', outcome: 'converted' },
      { project: 'grade-predict', outcome: 'converted' },
      { project: 'ore-grade', outcome: 'converted' },
      { project: 'plant-feed', outcome: 'converted' },
      {
        project: 'schema-manager',
        outcome: 'kept-explicit',
        why: 'its build target runs @nx/esbuild:esbuild, not @geo/nx-biome:esbuild',
      },
    ]);
    for (const name of ['assay-ingest', 'grade-predict', 'plant-feed', 'ore-grade']) {
      const { $schema: _s, ...converted } = readJsonFrom(tree, `${LEGACY[name].root}/project.json`);
      const { $schema: _r, ...committed } = JSON.parse(
        readFileSync(join(WORKSPACE_ROOT, LEGACY[name].root, 'project.json'), 'utf8'),
      );
      expect({ targets: {}, ...converted }, name).toEqual({ targets: {}, ...committed });
    }
    for (const name of ['artifact-deployer', 'schema-manager'])
      expect(readJsonFrom(tree, `${LEGACY[name].root}/project.json`).targets).toEqual(
        JSON.parse(fixture(name)).targets,
      );
    const plugin = readJsonFrom(tree, 'nx.json').plugins;
    expect(plugin).toEqual(JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'nx.json'), 'utf8')).plugins);
    // deploy packages itself now: the old default (deploy on package, params forwarded) becomes deploy on build.
    expect(readJsonFrom(tree, 'nx.json').targetDefaults).toEqual(
      JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'nx.json'), 'utf8')).targetDefaults,
    );
  });

  it('leaves a targetDefaults deploy entry it did not write as it is', async () => {
    const tree = legacyTree();
    const nxJson = readJsonFrom(tree, 'nx.json');
    nxJson.targetDefaults.deploy.dependsOn = ['package', 'lint'];
    tree.write('nx.json', JSON.stringify(nxJson));
    await convertToInferredGenerator(tree);
    expect(readJsonFrom(tree, 'nx.json').targetDefaults.deploy.dependsOn).toEqual(['package', 'lint']);
  });

  it('is idempotent: a second run changes no file and reports every project unchanged or kept explicit', async () => {
    const tree = legacyTree();
    await convertToInferredGenerator(tree);
    const after = snapshot(tree);
    const again = await convertToInferredGenerator(tree);
    expect(snapshot(tree)).toEqual(after);
    expect(again.map((r) => r.outcome)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);
  });

  it('keeps an override (another esbuild target) and refuses to drop an option the project never had', async () => {
    const tree = legacyTree();
    const ingest = JSON.parse(fixture('assay-ingest'));
    ingest.targets.build.options.target = 'node24';
    tree.write('apps/services/assay-ingest/project.json', JSON.stringify(ingest));
    const predict = JSON.parse(fixture('grade-predict'));
    delete predict.targets.build.options.thirdParty;
    tree.write('apps/services/grade-predict/project.json', JSON.stringify(predict));
    const results = await convertToInferredGenerator(tree);
    expect(readJsonFrom(tree, 'apps/services/assay-ingest/project.json').targets.build).toEqual({
      options: { target: 'node24' },
    });
    expect(results.find((r) => r.project === 'grade-predict')).toEqual({
      project: 'grade-predict',
      outcome: 'kept-explicit',
      why: 'its build target has no thirdParty option, which the plugin would add',
    });
    expect(readJsonFrom(tree, 'nx.json').plugins[0].exclude).toContain('apps/services/grade-predict/**');
  });

  it('names an unknown --project and writes nothing', async () => {
    const tree = legacyTree();
    const before = snapshot(tree);
    await expect(convertToInferredGenerator(tree, { project: 'nope' })).rejects.toThrow(
      /OPTIONS_INVALID: --project=nope: no project of that name/,
    );
    expect(snapshot(tree)).toEqual(before);
  });
});
