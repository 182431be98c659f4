import { Assay, assayKey, checkAssay } from '@geo/assay-core';

/** Where accepted assays go: the biome's data bucket, behind a narrow port. */
export interface AssaySink {
  put(key: string, body: string): Promise<void>;
}

export interface IngestResult {
  accepted: { sampleId: string; key: string }[];
  rejected: { index: number; errors: string[] }[];
}

/** Validates a batch of lab assays and stores the valid ones; invalid ones are reported, not stored. */
export async function ingestAssays(batch: unknown, sink: AssaySink): Promise<IngestResult> {
  const items = Array.isArray(batch) ? batch : [batch];
  const result: IngestResult = { accepted: [], rejected: [] };
  const seen = new Set<string>();
  for (const [index, item] of items.entries()) {
    const check = checkAssay(item);
    if (!check.ok) {
      result.rejected.push({ index, errors: check.errors });
      continue;
    }
    const assay: Assay = check.assay;
    if (seen.has(assay.sampleId)) {
      result.rejected.push({ index, errors: [`sampleId ${assay.sampleId} appears twice in the batch`] });
      continue;
    }
    seen.add(assay.sampleId);
    const key = assayKey(assay);
    await sink.put(key, JSON.stringify(assay));
    result.accepted.push({ sampleId: assay.sampleId, key });
  }
  return result;
}
