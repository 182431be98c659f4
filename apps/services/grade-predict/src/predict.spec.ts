import { describe, expect, it } from 'vitest';
import { predictGrades } from './predict';

describe('predictGrades', () => {
  it('sends the feature vectors to the biome target model and maps answers to samples', async () => {
    const calls: { target: string; body: string }[] = [];
    const result = await predictGrades(
      [
        { sampleId: 'DDH-1', grades: { SiO2: 4, Al2O3: 2, P: 0.1 } },
        { sampleId: 'DDH-2', grades: { SiO2: 8 } },
      ],
      {
        invoke: async (target, body) => (calls.push({ target, body }), JSON.stringify({ predictions: [61.234, 58.1] })),
      },
      'dev-bob/ore-grade-abc.tar.gz',
    );
    expect(calls[0].target).toBe('dev-bob/ore-grade-abc.tar.gz');
    expect(JSON.parse(calls[0].body).instances).toEqual([
      [4, 2, 0.1, 0],
      [8, 0, 0, 0],
    ]);
    expect(result).toEqual([
      { sampleId: 'DDH-1', predictedFe: 61.23, model: 'dev-bob/ore-grade-abc.tar.gz' },
      { sampleId: 'DDH-2', predictedFe: 58.1, model: 'dev-bob/ore-grade-abc.tar.gz' },
    ]);
  });

  it('fails clearly without a model target or on a malformed answer', async () => {
    const invoker = { invoke: async () => JSON.stringify({ predictions: [1] }) };
    await expect(predictGrades([{ sampleId: 'A', grades: {} }], invoker, undefined)).rejects.toThrow(
      /MODEL_TARGET is not set/,
    );
    await expect(
      predictGrades(
        [
          { sampleId: 'A', grades: {} },
          { sampleId: 'B', grades: {} },
        ],
        invoker,
        't',
      ),
    ).rejects.toThrow(/answered 2 samples/);
  });
});
