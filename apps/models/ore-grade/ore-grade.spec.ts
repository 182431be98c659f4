import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FEATURES, featureVector } from '@geo/assay-core';

const model = JSON.parse(readFileSync(join(__dirname, 'model/coefficients.json'), 'utf8'));
const hasPython = spawnSync('python3', ['--version']).status === 0;

/** Runs the SageMaker handlers the way the endpoint does: model_fn → input_fn → predict_fn → output_fn. */
function invoke(body: string): { status: number | null; stdout: string; stderr: string } {
  const driver = [
    'import sys',
    `sys.path.insert(0, ${JSON.stringify(join(__dirname, 'code'))})`,
    'import inference',
    `m = inference.model_fn(${JSON.stringify(join(__dirname, 'model'))})`,
    'out, _ = inference.output_fn(inference.predict_fn(inference.input_fn(sys.stdin.read(), "application/json"), m))',
    'print(out)',
  ].join('\n');
  // -B: no __pycache__ in the project (it would make the tree dirty).
  return spawnSync('python3', ['-B', '-c', driver], { input: body, encoding: 'utf8' });
}

describe('ore-grade model', () => {
  it('takes the features grade-predict sends, in the same order', () => {
    expect(model.features).toEqual([...FEATURES]);
    expect(model.coefficients).toHaveLength(FEATURES.length);
  });

  it.skipIf(!hasPython)('answers a grade-predict request with one clipped Fe prediction per sample', () => {
    const samples = [{ SiO2: 4, Al2O3: 2, P: 0.1 }, { SiO2: 80 }];
    const r = invoke(JSON.stringify({ features: FEATURES, instances: samples.map(featureVector) }));
    expect(r.status, r.stderr).toBe(0);
    const expected = 66.8 - 0.92 * 4 - 1.15 * 2 - 6.5 * 0.1;
    const { predictions } = JSON.parse(r.stdout);
    expect(predictions[0]).toBeCloseTo(expected, 6);
    expect(predictions[1]).toBe(0);
  });

  it.skipIf(!hasPython)('refuses features in another order instead of predicting nonsense', () => {
    const r = invoke(JSON.stringify({ features: ['Al2O3', 'SiO2', 'P', 'S'], instances: [[1, 2, 3, 4]] }));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/do not match the model's/);
  });
});
