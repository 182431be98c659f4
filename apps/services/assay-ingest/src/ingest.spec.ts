import { describe, expect, it } from 'vitest';
import { ingestAssays } from './ingest';

const good = {
  sampleId: 'DDH-00123',
  source: 'drill-core',
  takenAt: '2026-11-02T08:30:00+08:00',
  massKg: 2.5,
  grades: { Fe: 62.1, SiO2: 4.2, Al2O3: 2.1, P: 0.08 },
};

describe('ingestAssays', () => {
  it('stores valid assays under a day-partitioned key and rejects invalid ones with reasons', async () => {
    const stored = new Map<string, string>();
    const result = await ingestAssays([good, { ...good, sampleId: 'bad id', grades: { Fe: 90, SiO2: 20 } }], {
      put: async (k, b) => void stored.set(k, b),
    });
    expect(result.accepted).toEqual([{ sampleId: 'DDH-00123', key: 'assays/2026-11-02/DDH-00123.json' }]);
    expect(JSON.parse(stored.get('assays/2026-11-02/DDH-00123.json')!).grades.Fe).toBe(62.1);
    expect(result.rejected).toHaveLength(1);
    expect(result.rejected[0].errors.join('\n')).toMatch(/sampleId must look like DDH-00123/);
    expect(result.rejected[0].errors.join('\n')).toMatch(/add up to 110.00 > 100/);
  });

  it('rejects a duplicate sample in one batch and stores it once', async () => {
    const stored: string[] = [];
    const result = await ingestAssays([good, good], { put: async (k) => void stored.push(k) });
    expect(stored).toEqual(['assays/2026-11-02/DDH-00123.json']);
    expect(result.rejected[0].errors[0]).toMatch(/appears twice/);
  });
});
