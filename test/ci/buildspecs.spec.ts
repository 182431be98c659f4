import { readdirSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateBuildspec } from '../../tools/nx-biome/src/core/codebuild';
import { openStore } from '../../tools/nx-biome/src/adapters/store/open-store';
import { startS3rver, S3Server, withEnv } from '../support/s3rver';
import { copyWorkspace, TempWorkspace, WORKSPACE_ROOT } from '../support/workspace';

/** Deployable projects of a workspace (tag "deployable"), sorted. */
function deployables(ws: TempWorkspace): string[] {
  const out: string[] = [];
  for (const kind of readdirSync(join(ws.root, 'apps'))) {
    for (const name of readdirSync(join(ws.root, 'apps', kind))) {
      const project = JSON.parse(readFileSync(join(ws.root, 'apps', kind, name, 'project.json'), 'utf8'));
      if (project.tags?.includes('deployable')) out.push(project.name);
    }
  }
  return out.sort();
}

const specs = readdirSync(join(WORKSPACE_ROOT, 'buildspecs'))
  .filter((f) => f.endsWith('.yml'))
  .sort();
const infraTargets = Object.keys(JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'infra/project.json'), 'utf8')).targets);

describe('buildspecs follow the CodeBuild schema', () => {
  it('there is one for deploy, promote and destroy', () => {
    expect(specs).toEqual(['deploy-batch.yml', 'deploy.yml', 'destroy.yml', 'promote.yml']);
  });

  it.each(specs)(
    '%s parses as YAML with version 0.2 and phases with commands, calling only Nx targets that exist',
    (file) => {
      const doc = parse(readFileSync(join(WORKSPACE_ROOT, 'buildspecs', file), 'utf8'));
      expect(doc.version).toBe(0.2);
      const spec = validateBuildspec(doc, file);
      expect(spec.phases.map((p) => p.name)).toContain('build');
      for (const phase of Object.values(doc.phases) as { commands: unknown[] }[])
        expect(phase.commands.every((c) => typeof c === 'string')).toBe(true);
      expect(doc.phases.install['runtime-versions'].nodejs).toBe(20);
      const called = [
        ...spec.phases
          .flatMap((p) => p.commands)
          .join('\n')
          .matchAll(/nx run infra:([a-z-]+)/g),
      ].map((m) => m[1]);
      expect(called.length).toBeGreaterThan(0);
      for (const target of called) expect(infraTargets).toContain(target);
    },
  );

  it('a buildspec without commands or with a wrong version is refused with the reasons', () => {
    expect(() =>
      validateBuildspec({ version: 0.1, phases: { build: {}, deploy: { commands: ['x'] } } }, 'bad.yml'),
    ).toThrow(
      /version is 0.1, expected 0.2[\s\S]*phase "deploy" is not one of[\s\S]*phases.build.commands must be a non-empty list/,
    );
    expect(() =>
      validateBuildspec(
        { version: 0.2, phases: { build: { commands: ['x'] } }, env: { variables: { N: 1 } } },
        'bad.yml',
      ),
    ).toThrow(/env.variables.N must be a string/);
  });
});

describe('buildspec commands run locally in a shell, with the variables CodeBuild would get, against s3rver', () => {
  let ws: TempWorkspace;
  let server: S3Server;
  let env: Record<string, string>;
  const BIOME = 'dev-cb';

  beforeAll(async () => {
    ws = await copyWorkspace('ci-buildspec-');
    server = await startS3rver(['geo-artifacts-dev', 'geo-artifacts-staging']);
    env = {
      ...server.env,
      BIOME_STORE_DEV: 's3://geo-artifacts-dev',
      BIOME_STORE_STAGING: 's3://geo-artifacts-staging',
      GITLAB_USER_LOGIN: 'ci-bot',
    };
  });
  afterAll(async () => {
    await ws?.cleanup();
    await server?.stop();
  });
  const keys = (url: string, prefix = '') =>
    withEnv(server.env, async () => (await openStore(url, ws.root).list(prefix)).map((o) => o.key));

  it('deploy.yml deploys every project to a new biome, then only what changed since its last deployed commit', async () => {
    const first = ws.git('rev-parse', 'HEAD').trim();
    const run = await ws.nx(
      ['run', 'infra:codebuild', '--buildspec=deploy', '--local', `--biome=${BIOME}`, '--output-style=static'],
      env,
    );
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/local build: buildspecs\/deploy.yml \(install → pre_build → build → post_build\)/);
    expect(run.output).toMatch(/BUILD\s+SUCCEEDED/);
    expect(await keys('s3://geo-artifacts-dev', `biomes/${BIOME}/ledger/`)).toEqual(
      deployables(ws).map((p) => `biomes/${BIOME}/ledger/${p}.json`),
    );

    const main = join(ws.root, 'apps/services/assay-ingest/src/main.ts');
    await writeFile(main, `${await readFile(main, 'utf8')}\nexport const buildspecVersion = 2;\n`);
    ws.git('commit', '-qam', 'assay-ingest: buildspec version 2');
    const second = ws.git('rev-parse', 'HEAD').trim();
    const again = await ws.nx(
      ['run', 'infra:codebuild', '--buildspec=deploy', '--local', `--biome=${BIOME}`, '--output-style=static'],
      env,
    );
    expect(again.code, again.output).toBe(0);
    expect(again.output).toContain(`nx affected -t deploy --base=${first} --biome=${BIOME}`);
    expect(await keys('s3://geo-artifacts-dev', 'artifacts/assay-ingest/')).toEqual(
      [`artifacts/assay-ingest/assay-ingest-${first}.zip`, `artifacts/assay-ingest/assay-ingest-${second}.zip`].sort(),
    );
    expect(await keys('s3://geo-artifacts-dev', 'artifacts/grade-predict/')).toEqual([
      `artifacts/grade-predict/grade-predict-${first}.zip`,
    ]);
    const record = await withEnv(server.env, async () =>
      JSON.parse(
        (await openStore('s3://geo-artifacts-dev', ws.root).get(
          `biomes/${BIOME}/ledger/assay-ingest.json`,
        ))!.toString(),
      ),
    );
    expect(record.gitSha).toBe(second);
    expect(record.deployedBy).toBe('ci-bot');
  }, 300_000);

  it('a failing command fails its phase and the run, and later phases do not run', async () => {
    const run = await ws.nx(['run', 'infra:codebuild', '--buildspec=deploy', '--local', '--output-style=static'], {
      ...env,
      BIOME: '',
    });
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('BIOME is not set');
    expect(run.output).toMatch(/CODEBUILD_FAILED: Local build of buildspecs\/deploy.yml: phase PRE_BUILD FAILED/);
    expect(run.output).not.toMatch(/^\s+BUILD\s+running/m);
  }, 300_000);

  it("promote.yml copies the biome's artifacts to the next environment's store, byte for byte", async () => {
    const run = await ws.nx(
      [
        'run',
        'infra:codebuild',
        '--buildspec=promote',
        '--local',
        `--from=${BIOME}`,
        '--to=staging',
        '--output-style=static',
      ],
      env,
    );
    expect(run.code, run.output).toBe(0);
    const dev = await keys('s3://geo-artifacts-dev', 'artifacts/');
    const staging = await keys('s3://geo-artifacts-staging', 'artifacts/');
    expect(staging.length).toBe(deployables(ws).length);
    for (const key of staging) expect(dev).toContain(key);
    expect(await keys('s3://geo-artifacts-staging', 'biomes/staging/ledger/')).toEqual(
      deployables(ws).map((p) => `biomes/staging/ledger/${p}.json`),
    );
  }, 300_000);

  it('destroy.yml removes the sandpit and the artifacts nothing else in its store refers to', async () => {
    const run = await ws.nx(
      ['run', 'infra:codebuild', '--buildspec=destroy', '--local', `--biome=${BIOME}`, '--output-style=static'],
      env,
    );
    expect(run.code, run.output).toBe(0);
    expect(await keys('s3://geo-artifacts-dev', `biomes/${BIOME}/`)).toEqual([]);
    expect(await keys('s3://geo-artifacts-dev', 'artifacts/')).toEqual([]);
    // The promoted copy in the next environment is untouched.
    expect((await keys('s3://geo-artifacts-staging', 'artifacts/')).length).toBe(deployables(ws).length);
  }, 300_000);
});
