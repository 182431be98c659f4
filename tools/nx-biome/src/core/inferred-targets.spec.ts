import { describe, expect, it } from 'vitest';
import {
  detectProjects,
  ESBUILD_TARGET,
  normalizeInferredTargetsOptions,
  planInferredTargets,
} from './inferred-targets';

const withProjectJson = (roots: string[]) => (root: string) => roots.includes(root);

describe('detectProjects', () => {
  it('tells services, workflows and models apart by their files, one entry per root, sorted', () => {
    const files = [
      'apps/services/a/src/main.ts',
      'apps/models/m/model/coefficients.json',
      'apps/models/m/model/weights.bin',
      'apps/workflows/w/w.asl.json',
    ];
    expect(detectProjects(files, withProjectJson(['apps/services/a', 'apps/models/m', 'apps/workflows/w']))).toEqual([
      { root: 'apps/models/m', kind: 'model' },
      { root: 'apps/services/a', kind: 'service' },
      { root: 'apps/workflows/w', kind: 'workflow', definition: 'apps/workflows/w/w.asl.json' },
    ]);
  });

  it('ignores a folder without a project.json (a model/ folder inside a library is not a model)', () => {
    expect(
      detectProjects(['libs/core/src/model/types.ts', 'libs/core/src/index.ts'], withProjectJson(['libs/core'])),
    ).toEqual([]);
  });

  it('refuses a folder that looks like two kinds, and a workflow folder with two definitions, naming the files and the fix', () => {
    expect(() => detectProjects(['apps/x/src/main.ts', 'apps/x/x.asl.json'], () => true)).toThrow(
      /PROJECT_KIND_AMBIGUOUS|looks like a service \(apps\/x\/src\/main.ts\) and workflow \(apps\/x\/x.asl.json\)/,
    );
    expect(() => detectProjects(['apps/w/b.asl.json', 'apps/w/a.asl.json'], () => true)).toThrow(
      /apps\/w holds 2 Step Functions definitions \(apps\/w\/a.asl.json, apps\/w\/b.asl.json\)/,
    );
  });
});

describe('normalizeInferredTargetsOptions', () => {
  it('fills the default target names', () => {
    expect(normalizeInferredTargetsOptions(undefined)).toEqual({
      buildTargetName: 'build',
      packageTargetName: 'package',
      deployTargetName: 'deploy',
      serviceBuildOptions: {},
    });
  });

  it.each([
    [{ buildTarget: 'b' }, /no option "buildTarget"/],
    [{ deployTargetName: 'de ploy' }, /deployTargetName is "de ploy", not a target name/],
    [{ packageTargetName: 'build' }, /target names must differ, got build, build, deploy/],
    [{ serviceBuildOptions: ['x'] }, /serviceBuildOptions must be an object/],
  ])('refuses %j with CONFIG_INVALID', (options, message) => {
    expect(() => normalizeInferredTargetsOptions(options)).toThrow(message);
  });
});

describe('planInferredTargets', () => {
  it('chains build → package and build → deploy (which packages itself) by the configured names, and lays serviceBuildOptions over the defaults', () => {
    const options = normalizeInferredTargetsOptions({
      buildTargetName: 'bundle',
      packageTargetName: 'pack',
      deployTargetName: 'ship',
      serviceBuildOptions: { target: 'node22' },
    });
    const targets = planInferredTargets({ root: 'apps/services/a', kind: 'service' }, options);
    expect(Object.keys(targets)).toEqual(['bundle', 'pack', 'ship']);
    expect(targets.bundle).toMatchObject({
      executor: '@geo/nx-biome:esbuild',
      dependsOn: ['^bundle'],
      options: { target: 'node22', main: 'apps/services/a/src/main.ts', outputPath: 'dist/apps/services/a' },
    });
    expect(targets.pack).toMatchObject({
      executor: '@geo/nx-biome:package',
      dependsOn: ['bundle'],
      options: { kind: 'service' },
    });
    expect(targets.ship).toMatchObject({ executor: '@geo/nx-biome:deploy', dependsOn: ['bundle'] });
    expect(
      planInferredTargets({ root: 'apps/services/a', kind: 'service' }, normalizeInferredTargetsOptions({})).build
        .options?.target,
    ).toBe(ESBUILD_TARGET);
  });

  it('gives a model its model/ and code/ folders and a workflow its definition', () => {
    const options = normalizeInferredTargetsOptions({});
    expect(planInferredTargets({ root: 'apps/models/m', kind: 'model' }, options).build).toMatchObject({
      executor: '@geo/nx-biome:model-build',
      options: { modelDir: 'apps/models/m/model', codeDir: 'apps/models/m/code', outputPath: 'dist/apps/models/m' },
    });
    expect(
      planInferredTargets(
        { root: 'apps/workflows/w', kind: 'workflow', definition: 'apps/workflows/w/w.asl.json' },
        options,
      ).build,
    ).toMatchObject({ executor: '@geo/nx-biome:asl-build', options: { definition: 'apps/workflows/w/w.asl.json' } });
  });
});
