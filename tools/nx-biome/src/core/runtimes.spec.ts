import { describe, expect, it } from 'vitest';
import { BiomeError } from './errors';
import { LedgerRecord } from './ledger';
import { parseBiomeName } from './names';
import { checkLambdaRuntime, DEFAULT_LAMBDA_RUNTIME, esbuildTargetFor, LAMBDA_NODE_RUNTIMES } from './runtimes';
import { testConfig } from './test-config';
import { renderTfvars } from './tfvars';

const config = testConfig();
const biome = parseBiomeName('dev-bob', config);

function service(project: string, settings: Record<string, unknown> = {}): LedgerRecord {
  const sha = 'a'.repeat(40);
  return {
    schemaVersion: 1,
    project,
    kind: 'service',
    biome: 'dev-bob',
    environment: 'dev',
    artifactKey: `artifacts/${project}/${project}-${sha}.zip`,
    sha256: 'f'.repeat(64),
    size: 1,
    gitSha: sha,
    dirty: false,
    deployedAt: '2026-11-20T10:00:00.000Z',
    deployedBy: 'bob',
    settings,
  };
}

function errorOf(fn: () => unknown): BiomeError {
  try {
    fn();
  } catch (e) {
    return e as BiomeError;
  }
  throw new Error('expected an error');
}

describe('Lambda runtimes', () => {
  it('defaults to nodejs22.x (the newest runtime the pinned aws provider accepts), built for node22; every runtime of the table maps to its Node.js major', () => {
    expect(DEFAULT_LAMBDA_RUNTIME).toBe('nodejs22.x');
    expect(esbuildTargetFor(DEFAULT_LAMBDA_RUNTIME)).toBe('node22');
    for (const [name, r] of Object.entries(LAMBDA_NODE_RUNTIMES)) expect(name).toBe(`nodejs${r.node}.x`);
    // Dates are ordered as AWS orders its phases.
    for (const r of Object.values(LAMBDA_NODE_RUNTIMES)) {
      if (r.blockCreate) expect(r.blockCreate > r.deprecated).toBe(true);
      if (r.blockUpdate) expect(r.blockUpdate > (r.blockCreate ?? r.deprecated)).toBe(true);
    }
  });

  it('refuses nodejs20.x from the day Lambda deprecated it, naming the dates and the fix; accepts it the day before', () => {
    expect(checkLambdaRuntime({ project: 'assay-ingest', runtime: 'nodejs20.x', today: '2025-12-01' })).toBeUndefined();
    expect(checkLambdaRuntime({ project: 'assay-ingest', runtime: 'nodejs20.x', today: '2026-04-29' })).toMatch(
      /deprecates on 2026-04-30 \(1 day\): move it to nodejs22.x/,
    );
    const on = errorOf(() =>
      checkLambdaRuntime({ project: 'assay-ingest', runtime: 'nodejs20.x', today: '2026-04-30' }),
    );
    expect(on.code).toBe('RUNTIME_DEPRECATED');
    expect(on.message).toBe(
      'service assay-ingest runs on nodejs20.x, which Lambda deprecated on 2026-04-30; from 2026-08-31 Lambda refuses to create functions on it.',
    );
    expect(on.hint).toMatch(/settings.runtime to nodejs22.x .* target to node22/);
    const later = errorOf(() =>
      checkLambdaRuntime({ project: 'assay-ingest', runtime: 'nodejs20.x', today: '2026-12-06T17:00:00.000Z' }),
    );
    expect(later.message).toMatch(/since 2026-09-30 Lambda refuses to update functions on it/);
  });

  it('accepts the default today and warns nothing; refuses a runtime it does not know', () => {
    expect(checkLambdaRuntime({ project: 'p', runtime: 'nodejs24.x', today: '2026-12-06' })).toBeUndefined();
    const unknown = errorOf(() => checkLambdaRuntime({ project: 'p', runtime: 'nodejs24', today: '2026-12-06' }));
    expect(unknown.code).toBe('RUNTIME_UNSUPPORTED');
    expect(unknown.message).toMatch(
      /"nodejs24" is not a Lambda Node.js runtime this plugin knows \(nodejs16.x, .*nodejs24.x\)/,
    );
  });

  it('at render: the default runtime lands in tfvars, a pinned current one is kept, and deprecated ones are refused together before any tfvars exist', () => {
    const today = '2026-12-06';
    const { tfvars } = renderTfvars({
      config,
      biome,
      records: [service('a'), service('b', { runtime: 'nodejs24.x' })],
      today,
    });
    expect(tfvars.services.a.runtime).toBe('nodejs22.x');
    expect(tfvars.services.b.runtime).toBe('nodejs24.x');
    const e = errorOf(() =>
      renderTfvars({
        config,
        biome,
        records: [service('a', { runtime: 'nodejs20.x' }), service('b', { runtime: 'nodejs18.x' }), service('c')],
        today,
      }),
    );
    expect(e.code).toBe('RUNTIME_DEPRECATED');
    expect(e.message).toMatch(/service a runs on nodejs20.x[\s\S]*service b runs on nodejs18.x/);
    // Without a date (the drift check compares what already runs) nothing is refused.
    expect(
      renderTfvars({ config, biome, records: [service('a', { runtime: 'nodejs20.x' })] }).tfvars.services.a.runtime,
    ).toBe('nodejs20.x');
  });
});
