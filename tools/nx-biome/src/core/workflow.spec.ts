import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { BiomeError, formatBiomeError } from './errors';
import { planModelLayout } from './model';
import { parseBiomeName } from './names';
import { testConfig } from './test-config';
import { renderTfvars } from './tfvars';
import { LedgerRecord } from './ledger';
import {
  AslValidate,
  checkWorkflowDefinition,
  findHardCodedArns,
  packageTargetOf,
  planWorkflowDependencies,
  ProjectShape,
} from './workflow';

const validate = createRequire(__filename)('asl-validator') as AslValidate;
const FILE = 'apps/workflows/flow/flow.asl.json';
const task = (functionName: string, extra: Record<string, unknown> = {}) => ({
  Type: 'Task',
  Resource: 'arn:aws:states:::lambda:invoke',
  Parameters: { FunctionName: functionName },
  ...extra,
});
const check = (definition: unknown, services = ['assay-ingest', 'grade-predict']) =>
  checkWorkflowDefinition({
    file: FILE,
    text: typeof definition === 'string' ? definition : JSON.stringify(definition),
    services,
    validate,
  });

describe('checkWorkflowDefinition', () => {
  it('accepts service references and keeps them in the canonical output', () => {
    const checked = check({
      StartAt: 'A',
      States: { A: task('${service:assay-ingest}', { Next: 'B' }), B: task('${service:grade-predict}', { End: true }) },
    });
    expect(checked.services).toEqual(['assay-ingest', 'grade-predict']);
    expect(JSON.parse(checked.text).States.A.Parameters.FunctionName).toBe('${service:assay-ingest}');
  });

  it('accepts a reference used directly as a Task Resource (validated as the function ARN it becomes)', () => {
    expect(
      check({ StartAt: 'A', States: { A: { Type: 'Task', Resource: '${service:assay-ingest}', End: true } } }).services,
    ).toEqual(['assay-ingest']);
  });

  it.each([
    [
      'a dangling transition',
      { StartAt: 'A', States: { A: task('${service:assay-ingest}', { Next: 'Nowhere' }) } },
      /flow\.asl\.json: asl-validator rejected the definition:[\s\S]*MISSING_TRANSITION_TARGET: Missing 'StartAt'\|'Next'\|'Default' target: Nowhere/,
    ],
    [
      'an unreachable state',
      { StartAt: 'A', States: { A: { Type: 'Pass', End: true }, Lost: { Type: 'Pass', End: true } } },
      /MISSING_TRANSITION_TARGET: State Lost is not reachable/,
    ],
    [
      'a bad path',
      { StartAt: 'A', States: { A: { Type: 'Pass', InputPath: 'not a path', End: true } } },
      /SCHEMA_VALIDATION_FAILED: \/States\/A\/InputPath is invalid/,
    ],
    ['broken JSON', '{"StartAt": "A",', /flow\.asl\.json: not valid JSON/],
    [
      'a function ARN with an account',
      {
        StartAt: 'A',
        States: { A: task('arn:aws:lambda:ap-southeast-2:111111111111:function:geo-dev-assay-ingest', { End: true }) },
      },
      /hard-codes "arn:aws:lambda:ap-southeast-2:111111111111:function:geo-dev-assay-ingest" at \/States\/A\/Parameters\/FunctionName/,
    ],
    [
      'an account in another ARN',
      {
        StartAt: 'A',
        States: {
          A: {
            Type: 'Task',
            Resource: 'arn:aws:states:::sns:publish',
            Parameters: { TopicArn: 'arn:aws:sns:ap-southeast-2:222222222222:alerts' },
            End: true,
          },
        },
      },
      /hard-codes "arn:aws:sns:ap-southeast-2:222222222222:alerts" at \/States\/A\/Parameters\/TopicArn/,
    ],
    [
      'a reference to a project that is not a service',
      { StartAt: 'A', States: { A: task('${service:tailings}', { End: true }) } },
      /refers to \$\{service:tailings\}, but that is not a service project of this workspace/,
    ],
    [
      'a malformed reference',
      { StartAt: 'A', States: { A: task('${service:Grade_Predict}', { End: true }) } },
      /placeholders that are not service references: \$\{service:Grade_Predict\}/,
    ],
  ])('rejects %s with WORKFLOW_INVALID and the file name', (_label, definition, message) => {
    expect(() => check(definition)).toThrow(/^apps\/workflows\/flow\/flow\.asl\.json: /);
    expect(() => check(definition)).toThrow(message);
  });

  it('names the service projects a wrong reference could have meant', () => {
    const error = (() => {
      try {
        check({ StartAt: 'A', States: { A: task('${service:tailings}', { End: true }) } });
      } catch (e) {
        return e as BiomeError;
      }
    })();
    expect(error).toMatchObject({ code: 'WORKFLOW_INVALID', hint: 'Use one of: assay-ingest, grade-predict.' });
  });

  it('lets service integrations without an account through', () => {
    expect(
      findHardCodedArns({
        a: 'arn:aws:states:::lambda:invoke',
        b: 'arn:aws:states:::aws-sdk:s3:getObject',
        c: 'no arn here',
      }),
    ).toEqual([]);
  });
});

describe('planWorkflowDependencies', () => {
  const projects: Record<string, ProjectShape> = {
    flow: { root: 'apps/workflows/flow', targets: { build: { executor: '@geo/nx-biome:asl-build', options: {} } } },
    other: {
      root: 'apps/workflows/other',
      targets: { build: { executor: '@geo/nx-biome:asl-build', options: { definition: 'shared/other.asl.json' } } },
    },
    'assay-ingest': { root: 'apps/services/assay-ingest', tags: ['kind:service'] },
    'grade-predict': { root: 'apps/services/grade-predict', tags: ['kind:service'] },
  };
  const files: Record<string, string> = {
    'apps/workflows/flow/flow.asl.json':
      '{"a":"${service:assay-ingest}","b":"${service:grade-predict}","c":"${service:gone}","d":"${service:assay-ingest}"}',
    'shared/other.asl.json': '{"a":"${service:grade-predict}"}',
  };

  it('links each workflow to the services its definition references, once each, per file when the file is inside the project', () => {
    expect(planWorkflowDependencies(projects, (p) => files[p])).toEqual([
      { source: 'flow', target: 'assay-ingest', sourceFile: 'apps/workflows/flow/flow.asl.json' },
      { source: 'flow', target: 'grade-predict', sourceFile: 'apps/workflows/flow/flow.asl.json' },
      { source: 'other', target: 'grade-predict' },
    ]);
  });

  it('skips a workflow whose definition cannot be read (the build reports it)', () => {
    expect(planWorkflowDependencies(projects, () => undefined)).toEqual([]);
  });
});

describe('workflow and model variables', () => {
  const config = testConfig();
  const biome = parseBiomeName('dev-bob', config);
  const SHA = 'c'.repeat(40);
  const record = (
    project: string,
    kind: LedgerRecord['kind'],
    settings: Record<string, unknown> = {},
  ): LedgerRecord => ({
    schemaVersion: 1,
    project,
    kind,
    biome: 'dev-bob',
    environment: 'dev',
    artifactKey: `artifacts/${project}/${project}-${SHA}.${kind === 'model' ? 'tar.gz' : 'zip'}`,
    sha256: 'f'.repeat(64),
    size: 1,
    gitSha: SHA,
    dirty: false,
    deployedAt: '2026-11-20T10:00:00.000Z',
    deployedBy: 'bob',
    settings,
  });

  it('puts the commit in the state machine definition and version description, and lists the functions the role may invoke', () => {
    const definition = JSON.stringify({
      Comment: 'Plant feed',
      StartAt: 'A',
      States: { A: task('${service:assay-ingest}', { End: true }) },
    });
    const { tfvars } = renderTfvars({
      config,
      biome,
      records: [record('plant-feed', 'workflow', { definition }), record('assay-ingest', 'service')],
    });
    const vars = tfvars.workflows['plant-feed'];
    expect(JSON.parse(vars.definition).Comment).toBe(`Plant feed (plant-feed ${SHA})`);
    expect(JSON.parse(vars.definition).States.A.Parameters.FunctionName).toBe(
      'arn:aws:lambda:ap-southeast-2:111111111111:function:geo-dev-bob--assay-ingest',
    );
    expect(vars.version_description).toBe(`plant-feed ${SHA}`);
    expect(vars.function_arns).toEqual([
      'arn:aws:lambda:ap-southeast-2:111111111111:function:geo-dev-bob--assay-ingest',
    ]);
    expect(vars.state_machine_name).toBe('geo-dev-bob--plant-feed');
  });

  it('gives a definition without a Comment one that names the commit', () => {
    const { tfvars } = renderTfvars({
      config,
      biome,
      records: [record('w', 'workflow', { definition: '{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}' })],
    });
    expect(JSON.parse(tfvars.workflows.w.definition).Comment).toBe(`w ${SHA}`);
  });
});

describe('planModelLayout', () => {
  const e = (path: string, executable = false) => ({ path, executable });

  it('puts model files at the root and inference code under code/, sorted, without interpreter leftovers', () => {
    const layout = planModelLayout({
      modelDir: 'm',
      model: [e('weights.json'), e('a/b.bin')],
      code: [e('inference.py'), e('__pycache__/inference.cpython-311.pyc'), e('util.pyc'), e('requirements.txt')],
    });
    expect(layout.map((f) => f.to)).toEqual(['a/b.bin', 'code/inference.py', 'code/requirements.txt', 'weights.json']);
  });

  it('refuses an empty model and a model file shadowing code/', () => {
    expect(() => planModelLayout({ modelDir: 'apps/models/x/model', model: [], code: [e('inference.py')] })).toThrow(
      /apps\/models\/x\/model holds no model files/,
    );
    expect(() =>
      planModelLayout({ modelDir: 'm', model: [e('code/inference.py')], code: [e('inference.py')] }),
    ).toThrow(/would collide with the inference code folder code\//);
  });
});

describe('packageTargetOf', () => {
  const pkg = { executor: '@geo/nx-biome:package', options: { kind: 'service' } };
  const project = (targets: Record<string, { executor?: string }>) => ({ root: 'apps/services/a', targets });
  it('finds the one package target whatever its name, or takes the one named', () => {
    expect(packageTargetOf('a', project({ build: { executor: 'x' }, pack: pkg, deploy: {} }))).toBe('pack');
    expect(packageTargetOf('a', project({ package: pkg, 'package-debug': pkg }), 'package-debug')).toBe(
      'package-debug',
    );
  });
  it.each([
    [{ build: { executor: 'x' } }, undefined, /CONFIG_INVALID: a has no target running @geo\/nx-biome:package/],
    [{ p1: pkg, p2: pkg }, undefined, /a has 2 targets running @geo\/nx-biome:package \(p1, p2\)[^]*packageTarget/],
    [{ package: pkg }, 'pack', /packageTarget is "pack", but the project has no such target/],
    [{ package: pkg, build: { executor: 'x' } }, 'build', /packageTarget is "build", but that target runs x/],
  ])('refuses %j (packageTarget %s) naming the fix', (targets, named, message) => {
    let error: unknown;
    try {
      packageTargetOf('a', project(targets), named);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BiomeError);
    expect(formatBiomeError(error as BiomeError)).toMatch(message);
  });
});
