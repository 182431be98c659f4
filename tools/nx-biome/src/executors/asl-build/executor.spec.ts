import type { ExecutorContext } from '@nx/devkit';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import aslBuildExecutor from './executor';

let root: string;
const context = (): ExecutorContext =>
  ({
    root,
    cwd: root,
    isVerbose: false,
    projectName: 'flow',
    projectsConfigurations: {
      version: 2,
      projects: {
        flow: { root: 'apps/workflows/flow', targets: { build: { executor: '@geo/nx-biome:asl-build' } } },
        'assay-ingest': {
          root: 'apps/services/assay-ingest',
          targets: { package: { executor: '@geo/nx-biome:package', options: { kind: 'service' } } },
        },
      },
    },
  }) as unknown as ExecutorContext;

async function build(definition: unknown) {
  await writeFile(
    join(root, 'apps/workflows/flow/flow.asl.json'),
    typeof definition === 'string' ? definition : JSON.stringify(definition),
  );
  const errors: string[] = [];
  const spy = vi.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    return { ...(await aslBuildExecutor({}, context())), errors: errors.join('\n') };
  } finally {
    spy.mockRestore();
    log.mockRestore();
  }
}

describe('asl-build executor', () => {
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'asl-build-'));
    await mkdir(join(root, 'apps/workflows/flow'), { recursive: true });
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  it('writes the valid definition, references kept, to dist/<root>/definition.asl.json', async () => {
    const definition = {
      StartAt: 'Ingest',
      States: {
        Ingest: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: '${service:assay-ingest}' },
          End: true,
        },
      },
    };
    const r = await build(definition);
    expect(r).toEqual({ success: true, errors: '' });
    expect(JSON.parse(await readFile(join(root, 'dist/apps/workflows/flow/definition.asl.json'), 'utf8'))).toEqual(
      definition,
    );
  });

  it("fails the build with the validator's message and the file name, and leaves no stale output", async () => {
    const r = await build({ StartAt: 'Ingest', States: { Ingest: { Type: 'Pass', Next: 'Blend' } } });
    expect(r.success).toBe(false);
    expect(r.errors).toContain(
      '✖ build flow: WORKFLOW_INVALID: apps/workflows/flow/flow.asl.json: asl-validator rejected the definition:',
    );
    expect(r.errors).toContain("MISSING_TRANSITION_TARGET: Missing 'StartAt'|'Next'|'Default' target: Blend");
  });

  it('fails on a hard-coded ARN and on a reference to a project that is not a service', async () => {
    const arn = await build({
      StartAt: 'A',
      States: {
        A: {
          Type: 'Task',
          Resource: 'arn:aws:lambda:ap-southeast-2:111111111111:function:geo-dev-assay-ingest',
          End: true,
        },
      },
    });
    expect(arn.success).toBe(false);
    expect(arn.errors).toMatch(
      /hard-codes "arn:aws:lambda:ap-southeast-2:111111111111:function:geo-dev-assay-ingest" at \/States\/A\/Resource/,
    );
    const flow = await build({
      StartAt: 'A',
      States: {
        A: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: '${service:flow}' },
          End: true,
        },
      },
    });
    expect(flow.errors).toMatch(
      /refers to \$\{service:flow\}, but that is not a service project[\s\S]*fix: Use one of: assay-ingest\./,
    );
  });
});
