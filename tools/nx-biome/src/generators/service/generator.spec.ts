import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WORKSPACE_ROOT } from '../../../../../test/support/workspace';
import { normalizeInferredTargetsOptions, planInferredTargets } from '../../core/inferred-targets';
import modelGenerator from '../model/generator';
import { assertParses, createBiomeTree, readJsonFrom, snapshot } from '../testing';
import serviceGenerator from './generator';

describe('service generator', () => {
  it("creates a Lambda project with the sample services' build options, settings, tags, handler and test", async () => {
    const tree = createBiomeTree();
    await serviceGenerator(tree, { name: 'tailings-watch' });
    const project = readJsonFrom(tree, 'apps/services/tailings-watch/project.json');
    expect(project.name).toBe('tailings-watch');
    expect(project.tags).toEqual(['kind:service', 'deployable']);
    // The short form: only the project's own settings; the plugin infers build, package and deploy.
    expect(project.targets).toEqual({
      package: { options: { settings: { memorySize: 256, timeout: 30, environment: { LOG_LEVEL: 'info' } } } },
    });
    expect(readJsonFrom(tree, 'nx.json').plugins).toEqual([
      {
        plugin: '@geo/nx-biome',
        options: { buildTargetName: 'build', packageTargetName: 'package', deployTargetName: 'deploy' },
      },
    ]);
    // What the plugin infers for it is what the sample services were built with (nx show project before inference).
    const sample = JSON.parse(
      readFileSync(join(WORKSPACE_ROOT, 'test/e2e/fixtures/show-project-before/assay-ingest.json'), 'utf8'),
    );
    const inferred = planInferredTargets(
      { root: 'apps/services/tailings-watch', kind: 'service' },
      normalizeInferredTargetsOptions(undefined),
    );
    const strip = (o: Record<string, unknown>) => ({
      ...o,
      main: undefined,
      outputPath: undefined,
      tsConfig: undefined,
    });
    expect(strip(inferred.build.options)).toEqual(strip(sample.targets.build.options));
    expect(inferred.build).toMatchObject({
      executor: '@geo/nx-biome:esbuild',
      outputs: ['{options.outputPath}'],
      options: {
        main: 'apps/services/tailings-watch/src/main.ts',
        outputPath: 'dist/apps/services/tailings-watch',
        tsConfig: 'apps/services/tailings-watch/tsconfig.app.json',
      },
    });
    expect(readJsonFrom(tree, 'apps/services/tailings-watch/tsconfig.app.json').extends).toBe(
      '../../../tsconfig.base.json',
    );
    for (const file of ['src/main.ts', 'src/tailings-watch.ts', 'src/tailings-watch.spec.ts'])
      assertParses(tree, `apps/services/tailings-watch/${file}`);
    expect(tree.read('apps/services/tailings-watch/src/main.ts', 'utf-8')).toContain(
      'export async function handler(event: unknown)',
    );
  });

  it("spells the targets out for a folder excluded from inference in nx.json, with the plugin's target names", async () => {
    const tree = createBiomeTree();
    const nxJson = readJsonFrom(tree, 'nx.json');
    tree.write(
      'nx.json',
      JSON.stringify({
        ...nxJson,
        plugins: [
          { plugin: '@geo/nx-biome', options: { packageTargetName: 'pack' }, exclude: ['apps/services/legacy/**'] },
        ],
      }),
    );
    await serviceGenerator(tree, { name: 'old-one', directory: 'apps/services/legacy/old-one' });
    const project = readJsonFrom(tree, 'apps/services/legacy/old-one/project.json');
    expect(Object.keys(project.targets)).toEqual(['build', 'pack', 'deploy']);
    expect(project.targets.build).toMatchObject({
      executor: '@geo/nx-biome:esbuild',
      options: { main: 'apps/services/legacy/old-one/src/main.ts', bundle: true },
    });
    expect(project.targets.pack).toMatchObject({
      executor: '@geo/nx-biome:package',
      options: { kind: 'service', settings: { memorySize: 256, timeout: 30 } },
    });
    // deploy packages with pack's options itself, in its own process: it depends on the build only.
    expect(project.targets.deploy).toMatchObject({ executor: '@geo/nx-biome:deploy', dependsOn: ['build'] });
    await serviceGenerator(tree, { name: 'new-one' });
    expect(readJsonFrom(tree, 'apps/services/new-one/project.json').targets).toEqual({
      pack: { options: { settings: { memorySize: 256, timeout: 30, environment: { LOG_LEVEL: 'info' } } } },
    });
  });

  it('takes directory, extra tags, memory, timeout and the model the service calls', async () => {
    const tree = createBiomeTree();
    await modelGenerator(tree, { name: 'ore-grade' });
    await serviceGenerator(tree, {
      name: 'grade-check',
      directory: 'apps/services/qa/grade-check',
      tags: 'scope:plant, team:ml',
      memorySize: 1024,
      timeout: 120,
      model: 'ore-grade',
    });
    const project = readJsonFrom(tree, 'apps/services/qa/grade-check/project.json');
    expect(project.tags).toEqual(['kind:service', 'deployable', 'scope:plant', 'team:ml']);
    expect(project.targets.package.options.settings).toEqual({
      memorySize: 1024,
      timeout: 120,
      model: 'ore-grade',
      environment: { LOG_LEVEL: 'info' },
    });
    expect(readJsonFrom(tree, 'apps/services/qa/grade-check/tsconfig.app.json').extends).toBe(
      '../../../../tsconfig.base.json',
    );
    expect(tree.read('apps/services/qa/grade-check/src/main.ts', 'utf-8')).toContain('process.env.MODEL_TARGET');
    for (const file of ['src/main.ts', 'src/grade-check.ts', 'src/grade-check.spec.ts'])
      assertParses(tree, `apps/services/qa/grade-check/${file}`);
  });

  it.each([
    ['Tailings_Watch', /PROJECT_NAME_INVALID: Project name "Tailings_Watch" is invalid: use lowercase letters/],
    ['tailings--watch', /PROJECT_NAME_INVALID/],
    ['-watch', /PROJECT_NAME_INVALID/],
    ['', /PROJECT_NAME_INVALID: Project name is empty/],
    [
      'a'.repeat(35),
      /is 35 characters; the limit is 34, so that "geo-<biome>--a+" fits AWS's 64-character limit \(Lambda, IAM\) with a biome of maxBiomeLength 24/,
    ],
  ])('refuses the name %j and writes nothing', async (name, message) => {
    const tree = createBiomeTree();
    const before = snapshot(tree);
    await expect(serviceGenerator(tree, { name })).rejects.toThrow(message);
    expect(snapshot(tree)).toEqual(before);
  });

  it('pins another current runtime with --runtime (settings.runtime and the matching build target), and refuses a deprecated or unknown one, writing nothing', async () => {
    const tree = createBiomeTree();
    await serviceGenerator(tree, { name: 'tailings-watch', runtime: 'nodejs24.x' });
    const project = readJsonFrom(tree, 'apps/services/tailings-watch/project.json');
    expect(project.targets.build.options.target).toBe('node24');
    expect(project.targets.package.options.settings.runtime).toBe('nodejs24.x');
    await serviceGenerator(tree, { name: 'plain' });
    expect(readJsonFrom(tree, 'apps/services/plain/project.json').targets.package.options.settings).not.toHaveProperty(
      'runtime',
    );
    for (const [runtime, message] of [
      ['nodejs20.x', /RUNTIME_DEPRECATED: service old runs on nodejs20.x, which Lambda deprecated on 2026-04-30/],
      ['node22', /RUNTIME_UNSUPPORTED/],
    ] as const) {
      const before = snapshot(tree);
      await expect(serviceGenerator(tree, { name: 'old', runtime })).rejects.toThrow(message);
      expect(snapshot(tree)).toEqual(before);
    }
  });

  it('sizes names by the configured maxBiomeLength', async () => {
    const tree = createBiomeTree({ maxBiomeLength: 40 });
    await expect(serviceGenerator(tree, { name: 'a'.repeat(19) })).rejects.toThrow(/the limit is 18/);
    await serviceGenerator(tree, { name: 'a'.repeat(18) });
    expect(tree.exists(`apps/services/${'a'.repeat(18)}/project.json`)).toBe(true);
  });

  it('refuses a duplicate name, a taken folder, an unknown model and an impossible memory size, writing nothing', async () => {
    const tree = createBiomeTree();
    await serviceGenerator(tree, { name: 'tailings-watch' });
    tree.write('apps/services/taken/README.md', "someone else's");
    const before = snapshot(tree);
    await expect(serviceGenerator(tree, { name: 'tailings-watch', directory: 'apps/services/other' })).rejects.toThrow(
      /PROJECT_NAME_INVALID: A project named "tailings-watch" already exists \(apps\/services\/tailings-watch\)/,
    );
    await expect(serviceGenerator(tree, { name: 'fresh', directory: 'apps/services/taken' })).rejects.toThrow(
      /apps\/services\/taken already exists and is not empty/,
    );
    await expect(serviceGenerator(tree, { name: 'fresh', directory: '../outside' })).rejects.toThrow(
      /is not a folder inside the workspace/,
    );
    await expect(serviceGenerator(tree, { name: 'fresh', model: 'tailings-watch' })).rejects.toThrow(
      /--model=tailings-watch: there is no model project named/,
    );
    await expect(serviceGenerator(tree, { name: 'fresh', memorySize: 64 })).rejects.toThrow(
      /--memorySize=64 is out of range: Lambda allows 128-10240/,
    );
    await expect(serviceGenerator(tree, { name: 'fresh', tags: 'ok,not ok' })).rejects.toThrow(
      /Tag "not ok" is invalid/,
    );
    expect(snapshot(tree)).toEqual(before);
  });

  it('fails clearly without nx-biome.json', async () => {
    const tree = createBiomeTree();
    tree.delete('nx-biome.json');
    await expect(serviceGenerator(tree, { name: 'x' })).rejects.toThrow(/CONFIG_INVALID: nx-biome.json not found/);
  });
});
