import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCodeBuildBatchDouble, CodeBuildBatchDouble, BatchBuildRun } from './doubles/codebuild-batch';
import { startS3rver, S3Server, withEnv } from '../support/s3rver';
import { copyWorkspace, NX_BIN, nxEnv, TempWorkspace, WORKSPACE_ROOT } from '../support/workspace';
import { openStore } from '../../tools/nx-biome/src/adapters/store/open-store';

// The fan-out end to end: `nx run infra:codebuild --batchBuild` starts
// buildspecs/deploy-batch.yml as a CodeBuild batch (the double), whose shard
// builds run for real, concurrently, each on its own clone, against one s3rver
// store and one shared Nx cache; then the render build. The result must equal
// a single-machine deploy of the same commit.

const BIOME = 'dev-fan';
const ARTIFACTS = 'geo-artifacts-dev';
const CACHE = 'geo-devops-nx-cache-000000000000';

function nx(root: string, args: string[], env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [NX_BIN, ...args], { cwd: root, env: nxEnv(env) });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d));
    child.stderr.on('data', (d: Buffer) => (output += d));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** A ledger record without what differs between any two runs (when and who). */
function comparable(record: Record<string, unknown>) {
  const { deployedAt: _a, deployedBy: _b, ciJobUrl: _c, ...rest } = record;
  return rest;
}

describe('deploy fan-out: a CodeBuild batch of shard builds on separate clones, then one render', () => {
  let origin: TempWorkspace;
  let s3: S3Server;
  let parent: string;
  let double: CodeBuildBatchDouble;
  let baseEnv: Record<string, string>;
  let failShard = '';
  let running = 0;
  let maxRunning = 0;
  const outputs = new Map<string, string>();

  const clone = async (name: string) => {
    const root = join(parent, name);
    execFileSync('git', ['clone', '-q', '--no-local', origin.root, root]);
    await symlink(join(WORKSPACE_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
    return root;
  };
  const store = (prefix: string) => openStore(`s3://${ARTIFACTS}/${prefix}`, origin.root);
  const read = (prefix: string, key: string) =>
    withEnv(s3.env, async () => JSON.parse((await store(prefix).get(key))!.toString('utf8')));
  const keys = (prefix: string, under: string) =>
    withEnv(s3.env, async () => (await store(prefix).list(under)).map((o) => o.key));

  /** One build of the batch: a fresh clone running the buildspec's phases with the build's variables. */
  const runBuild = async (run: BatchBuildRun): Promise<boolean> => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    try {
      const root = await clone(`${run.identifier}-${run.attempt}`);
      // The first run of the failing shard deploys into a bucket that does not exist (a real store error).
      const broken: Record<string, string> =
        failShard === run.identifier && run.attempt === 1
          ? { BIOME_STORE_DEV: 's3://geo-artifacts-missing/fanout' }
          : {};
      const vars = Object.entries(run.variables).map(([k, v]) => `--variables=${k}=${v}`);
      const r = await nx(
        root,
        [
          'run',
          'infra:codebuild',
          '--buildspec=buildspecs/deploy-batch.yml',
          '--local',
          ...vars,
          '--output-style=static',
        ],
        { ...baseEnv, ...broken },
      );
      outputs.set(`${run.identifier}-${run.attempt}`, r.output);
      return r.code === 0;
    } finally {
      running--;
    }
  };

  beforeAll(async () => {
    s3 = await startS3rver([ARTIFACTS, CACHE]);
    origin = await copyWorkspace('fanout-origin-');
    // Four deployables, two per shard: K = 2, and the batch uses two of the graph's four slots.
    const config = JSON.parse(await readFile(join(origin.root, 'nx-biome.json'), 'utf8'));
    await writeFile(
      join(origin.root, 'nx-biome.json'),
      `${JSON.stringify({ ...config, fanout: { projectsPerShard: 2, maxShards: 8 } }, null, 2)}\n`,
    );
    origin.git('commit', '-qam', 'fan-out: two projects per shard');
    parent = await mkdtemp(join(tmpdir(), 'fanout-clones-'));
    baseEnv = {
      ...s3.env,
      BIOME_STORE_DEV: `s3://${ARTIFACTS}/fanout`,
      BIOME_NX_CACHE: `s3://${CACHE}/nx`,
      CI_COMMIT_REF_NAME: 'main',
      CI_DEFAULT_BRANCH: 'main',
      GITLAB_USER_LOGIN: 'ci-bot',
    };
    double = await startCodeBuildBatchDouble({
      workspaceRoot: origin.root,
      projects: ['geo-deploy-dev'],
      run: runBuild,
    });
  });
  afterAll(async () => {
    await double?.stop();
    await rm(parent, { recursive: true, force: true });
    await origin?.cleanup();
    await s3?.stop();
  });

  it('a failed shard fails the batch and the render does not run; the retry redoes only that shard, then renders; the result equals a single-machine deploy', async () => {
    // Reference: the same commit deployed by one machine into its own store.
    const single = await clone('single');
    const one = await nx(
      single,
      ['run', 'infra:codebuild', '--buildspec=deploy', '--local', `--biome=${BIOME}`, '--output-style=static'],
      { ...baseEnv, BIOME_STORE_DEV: `s3://${ARTIFACTS}/single`, BIOME_NX_CACHE: '' },
    );
    expect(one.code, one.output).toBe(0);
    const ledgerKeys = await keys('single', `biomes/${BIOME}/ledger/`);
    expect(ledgerKeys).toHaveLength(4);

    // Which shard deploys what: the plan every shard computes.
    const runner = await clone('runner');
    const plan = await nx(
      runner,
      [
        'run',
        'infra:deploy-plan',
        `--biome=${BIOME}`,
        '--base=all',
        '--maxShards=2',
        '--outputFile=dist/ci/plan.json',
        '--output-style=static',
      ],
      baseEnv,
    );
    expect(plan.code, plan.output).toBe(0);
    const shards = JSON.parse(await readFile(join(runner, 'dist/ci/plan.json'), 'utf8')).shards as {
      index: number;
      projects: string[];
    }[];
    expect(shards.map((s) => s.projects.length)).toEqual([2, 2]);

    failShard = 'shard_2';
    const cb = { ...baseEnv, ...double.env };
    const first = await nx(
      runner,
      [
        'run',
        'infra:codebuild',
        '--buildspec=deploy-batch',
        '--batchBuild',
        '--codebuildProject=geo-deploy-dev',
        `--biome=${BIOME}`,
        '--variables=SHARD_SLOTS=2',
        '--pollSeconds=1',
        '--output-style=static',
      ],
      cb,
    );
    expect(first.code, first.output).toBe(1);
    expect(first.output).toMatch(/shard_1\s+SUCCEEDED/);
    expect(first.output).toMatch(/shard_2\s+FAILED/);
    expect(first.output).toContain('not run: render');
    const batchId = /batch (geo-deploy-dev:batch-\d+) started/.exec(first.output)![1];
    expect(first.output).toContain(`--retryBatch=${batchId}`);
    // Every shard build was started at once and ran as its own process.
    expect(maxRunning).toBeGreaterThanOrEqual(2);
    const startBody = double.calls.find((c) => c.operation === 'StartBuildBatch')!.body;
    expect(startBody.environmentVariablesOverride).toContainEqual({ name: 'BASE', value: 'all', type: 'PLAINTEXT' });
    // Shard 1's projects are recorded, shard 2's are not.
    const afterFailure = await keys('fanout', `biomes/${BIOME}/ledger/`);
    expect(afterFailure).toEqual(shards[0].projects.map((p) => `biomes/${BIOME}/ledger/${p}.json`).sort());
    expect(outputs.get('shard_2-1')).toContain('STORE_UNREACHABLE');
    // Half deployed: no run record, so the biome's next deploy still starts from where this one did.
    expect(await keys('fanout', `biomes/${BIOME}/last-run.json`)).toEqual([]);
    expect(outputs.get('shard_3-1')).toContain('shard 3: nothing to deploy (SHARD_SLOTS=2)');

    const before = double.runs.length;
    const retry = await nx(
      runner,
      [
        'run',
        'infra:codebuild',
        `--retryBatch=${batchId}`,
        '--codebuildProject=geo-deploy-dev',
        '--pollSeconds=1',
        '--output-style=static',
      ],
      cb,
    );
    expect(retry.code, retry.output).toBe(0);
    expect(double.runs.slice(before).map((r) => `${r.identifier}#${r.attempt}`)).toEqual(['shard_2#2', 'render#1']);
    expect(retry.output).toMatch(/shard_2\s+SUCCEEDED \(run 2\)/);
    expect(retry.output).toMatch(/render\s+SUCCEEDED/);
    // Shard 2's second run deployed only its own projects, with builds from the shared cache where shard 1 made them.
    for (const p of shards[1].projects) expect(outputs.get('shard_2-2')).toContain(p);
    for (const p of shards[0].projects) expect(outputs.get('shard_2-2')).not.toMatch(new RegExp(`nx run ${p}:deploy`));

    // Same store, ledger and tfvars as the single machine.
    expect(await keys('fanout', `biomes/${BIOME}/ledger/`)).toEqual(ledgerKeys);
    expect(await keys('fanout', 'artifacts/')).toEqual(await keys('single', 'artifacts/'));
    for (const key of await keys('single', 'artifacts/')) {
      const [a, b] = await withEnv(s3.env, () => Promise.all([store('single').get(key), store('fanout').get(key)]));
      expect(b!.equals(a!), key).toBe(true);
    }
    for (const key of ledgerKeys)
      expect(comparable(await read('fanout', key))).toEqual(comparable(await read('single', key)));
    const renderOutput = outputs.get('render-1')!;
    expect(renderOutput).toContain(`rendered dist/terraform/${BIOME}.tfvars.json: 4 project(s)`);
    const tfvars = await readFile(join(parent, 'render-1', `dist/terraform/${BIOME}.tfvars.json`), 'utf8');
    const reference = await readFile(join(single, `dist/terraform/${BIOME}.tfvars.json`), 'utf8');
    const strip = (t: string) =>
      JSON.stringify(JSON.parse(t), (k, v) => (/deployed_(at|by)|^expires|^created/.test(k) ? undefined : v));
    expect(strip(tfvars)).toEqual(strip(reference));
    // Both ways record the complete run at the deployed commit: the biome's next base.
    const head = origin.git('rev-parse', 'HEAD').trim();
    expect((await read('fanout', `biomes/${BIOME}/last-run.json`)).gitSha).toBe(head);
    expect((await read('single', `biomes/${BIOME}/last-run.json`)).gitSha).toBe(head);
  }, 600_000);
});
