import { z } from 'zod';

/** Elements a plant-feed assay reports, in percent by mass (Au and Ag in g/t). */
export const ELEMENTS = ['Fe', 'SiO2', 'Al2O3', 'P', 'S', 'Cu', 'Au'] as const;
export type Element = (typeof ELEMENTS)[number];

/** One lab assay of a drill-core or stockpile sample. */
export const assaySchema = z
  .object({
    sampleId: z.string().regex(/^[A-Z]{2,5}-\d{3,8}$/, 'sampleId must look like DDH-00123'),
    source: z.enum(['drill-core', 'stockpile', 'conveyor']),
    takenAt: z.iso.datetime({ offset: true }),
    massKg: z.number().positive().max(1000),
    grades: z.partialRecord(z.enum(ELEMENTS), z.number().min(0)),
  })
  .strict()
  .superRefine((a, ctx) => {
    const percent = ELEMENTS.filter((e) => e !== 'Au').reduce((sum, e) => sum + (a.grades[e] ?? 0), 0);
    if (percent > 100)
      ctx.addIssue({
        code: 'custom',
        path: ['grades'],
        message: `percent grades add up to ${percent.toFixed(2)} > 100`,
      });
    if (a.grades.Fe === undefined)
      ctx.addIssue({ code: 'custom', path: ['grades', 'Fe'], message: 'Fe grade is required' });
  });

export type Assay = z.infer<typeof assaySchema>;

export type AssayCheck = { ok: true; assay: Assay } | { ok: false; errors: string[] };

/** Validates an untrusted assay document and lists every problem. */
export function checkAssay(input: unknown): AssayCheck {
  const result = assaySchema.safeParse(input);
  if (result.success) return { ok: true, assay: result.data };
  return { ok: false, errors: result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`) };
}

/** Storage key of an assay in a biome's data bucket, partitioned by day. */
export function assayKey(assay: Assay): string {
  return `assays/${assay.takenAt.slice(0, 10)}/${assay.sampleId}.json`;
}
