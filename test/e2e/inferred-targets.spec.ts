import { readdirSync, readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyWorkspace, TempWorkspace } from '../support/workspace';

/**
 * fixtures/show-project-before/<project>.json is `nx show project <project>
 * --json` of every project of the workspace, captured before the plugin
 * inferred any target (when each project.json spelled out build, package and
 * deploy by hand). The inferred targets must give the same targets, with the
 * same executors, options, dependencies, inputs, outputs and caching. The
 * only difference allowed is what inference adds on purpose:
 * `metadata.description` (and `technologies`) on each inferred target.
 */
const FIXTURES = join(__dirname, 'fixtures/show-project-before');
const BEFORE = Object.fromEntries(
  readdirSync(FIXTURES).map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(FIXTURES, f), 'utf8'))]),
);

/** A project as `nx show project --json` prints it, without the metadata inference adds to targets. */
function comparable(project: Record<string, unknown>): Record<string, unknown> {
  const targets = Object.fromEntries(
    Object.entries(project.targets as Record<string, Record<string, unknown>>).map(([name, target]) => {
      const { metadata: _metadata, ...rest } = target;
      return [name, rest];
    }),
  );
  return { ...project, targets };
}

describe('inferred targets (createNodesV2)', () => {
  let ws: TempWorkspace;
  const show = async (project: string) => {
    const r = await ws.nx(['show', 'project', project, '--json']);
    expect(r.code, r.output).toBe(0);
    return JSON.parse(r.stdout);
  };

  beforeAll(async () => {
    ws = await copyWorkspace('e2e-inferred-');
  });
  afterAll(async () => ws?.cleanup());

  it('nx show project prints the same targets and options for every project as the hand-written project.json files did', async () => {
    for (const [name, before] of Object.entries(BEFORE)) {
      const now = await show(name);
      expect(comparable(now), name).toEqual(comparable(before));
    }
    // Nothing cached: the targets come from file names and options alone, planned again at no cost.
    expect(readdirSync(join(ws.root, '.nx/workspace-data')).filter((f) => /^nx-biome-/.test(f))).toEqual([]);
  });

  it('convert-to-inferred, run with the real Nx CLI on the hand-written project.json files, gives the same graph and is idempotent', async () => {
    const legacy = await copyWorkspace('e2e-convert-');
    try {
      const before = join(__dirname, 'fixtures/project-json-before');
      for (const root of [
        'apps/services/assay-ingest',
        'apps/services/grade-predict',
        'apps/workflows/plant-feed',
        'apps/models/ore-grade',
      ]) {
        await writeFile(
          join(legacy.root, root, 'project.json'),
          await readFile(join(before, `${root.split('/').pop()}.json`)),
        );
      }
      await writeFile(join(legacy.root, 'nx.json'), await readFile(join(before, 'nx.json')));
      legacy.git('commit', '-qam', 'hand-written targets');
      const convert = await legacy.nx(['g', '@geo/nx-biome:convert-to-inferred']);
      expect(convert.code, convert.output).toBe(0);
      expect(convert.output).toMatch(/assay-ingest: converted/);
      expect(convert.output).toMatch(/artifact-deployer: kept-explicit/);
      legacy.git('add', '-A');
      legacy.git('commit', '-qm', 'converted');
      for (const name of ['assay-ingest', 'ore-grade', 'artifact-deployer']) {
        const r = await legacy.nx(['show', 'project', name, '--json']);
        expect(r.code, r.output).toBe(0);
        expect(comparable(JSON.parse(r.stdout)), name).toEqual(comparable(BEFORE[name]));
      }
      const again = await legacy.nx(['g', '@geo/nx-biome:convert-to-inferred']);
      expect(again.code, again.output).toBe(0);
      expect(legacy.git('status', '--porcelain')).toBe('');
    } finally {
      await legacy.cleanup();
    }
  });

  it('the sample projects are a few lines each and every inferred target says what it does', async () => {
    for (const root of [
      'apps/services/assay-ingest',
      'apps/services/grade-predict',
      'apps/workflows/plant-feed',
      'apps/models/ore-grade',
    ]) {
      const json = JSON.parse(await readFile(join(ws.root, root, 'project.json'), 'utf8'));
      expect(
        Object.keys(json.targets ?? {}).filter((t) => t !== 'package'),
        root,
      ).toEqual([]);
      expect(json.targets?.package?.executor, root).toBeUndefined();
    }
    const project = await show('grade-predict');
    for (const target of ['build', 'package', 'deploy'])
      expect(project.targets[target].metadata.description, target).toMatch(/\w{3,}/);
  });

  it("a project.json overrides an inferred option through Nx's merge, and target names come from the plugin options in nx.json", async () => {
    const file = join(ws.root, 'apps/services/assay-ingest/project.json');
    const json = JSON.parse(await readFile(file, 'utf8'));
    json.targets.build = { options: { target: 'node22', external: ['@aws-sdk/*', 'pg-native'] } };
    await writeFile(file, JSON.stringify(json));
    const nxJson = JSON.parse(await readFile(join(ws.root, 'nx.json'), 'utf8'));
    nxJson.plugins[0].options = { buildTargetName: 'build', packageTargetName: 'pack', deployTargetName: 'ship' };
    await writeFile(join(ws.root, 'nx.json'), JSON.stringify(nxJson));

    const ingest = await show('assay-ingest');
    expect(ingest.targets.build.options).toMatchObject({
      target: 'node22',
      external: ['@aws-sdk/*', 'pg-native'],
      main: 'apps/services/assay-ingest/src/main.ts',
      bundle: true,
    });
    expect(ingest.targets.pack).toMatchObject({
      executor: '@geo/nx-biome:package',
      dependsOn: ['build'],
      options: { kind: 'service' },
    });
    expect(ingest.targets.ship).toMatchObject({ executor: '@geo/nx-biome:deploy', dependsOn: ['build'] });

    const model = await show('ore-grade');
    expect(Object.keys(model.targets).sort()).toEqual(['build', 'pack', 'ship']);
    // The infrastructure services stay explicit: excluded from inference in nx.json.
    expect(Object.keys((await show('artifact-deployer')).targets).sort()).toEqual(['build', 'package']);
  });

  it('with the deploy target renamed (deployTargetName "ship"), a deploy renders the biome and prints the table in every form', async () => {
    // The workspace as the previous case left it: build, pack, ship.
    ws.git('add', '-A');
    ws.git('commit', '-qm', 'targets renamed');
    const env = { BIOME_DEPLOYED_BY: 'amy' };
    const many = await ws.nx(
      ['run-many', '-t', 'ship', '-p', 'grade-predict', '--biome=dev-ship', '--output-style=static'],
      env,
    );
    expect(many.code, many.output.slice(-3000)).toBe(0);
    expect(many.output).toContain('rendered dist/terraform/dev-ship.tfvars.json');
    expect(many.output).toMatch(/│ grade-predict\s+│ service\s+│ uploaded/);
    const tfvars = JSON.parse(await readFile(join(ws.root, 'dist/terraform/dev-ship.tfvars.json'), 'utf8'));
    expect(Object.keys(tfvars.services)).toEqual(['grade-predict']);
    const one = await ws.nx(['run', 'assay-ingest:ship', '--biome=dev-ship', '--output-style=static'], env);
    expect(one.code, one.output.slice(-3000)).toBe(0);
    expect(one.output).toMatch(/│ assay-ingest\s+│ service\s+│ uploaded/);
    expect(one.output).toMatch(/│ grade-predict\s+│ service\s+│ not in this run/);
    // A dirty tree is refused before anything runs, as with the default names.
    await writeFile(join(ws.root, 'apps/services/grade-predict/src/extra.ts'), 'export const x = 1;\n');
    const dirty = await ws.nx(
      ['run-many', '-t', 'ship', '-p', 'grade-predict', '--biome=dev-ship', '--output-style=static'],
      env,
    );
    expect(dirty.code).not.toBe(0);
    expect(dirty.output).toMatch(/DIRTY_TREE|uncommitted|dirty/i);
    await rm(join(ws.root, 'apps/services/grade-predict/src/extra.ts'));
  });

  it('a folder that looks like two kinds fails the graph with the plugin error and its fix', async () => {
    await writeFile(
      join(ws.root, 'apps/workflows/plant-feed/second.asl.json'),
      readFileSync(join(ws.root, 'apps/workflows/plant-feed/plant-feed.asl.json')),
    );
    const r = await ws.nx(['show', 'project', 'plant-feed', '--json']);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/PROJECT_KIND_AMBIGUOUS/);
    expect(r.output).toMatch(/apps\/workflows\/plant-feed holds 2 Step Functions definitions/);
  });
});
