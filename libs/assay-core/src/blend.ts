/** Mass-weighted average grade of a blend of parcels. */
export function blendGrade(parcels: { massKg: number; grade: number }[]): number {
  const mass = parcels.reduce((m, p) => m + p.massKg, 0);
  if (mass <= 0) throw new Error('a blend needs a positive total mass');
  return parcels.reduce((g, p) => g + p.massKg * p.grade, 0) / mass;
}

/** Features the grade model takes, in its fixed order. */
export const FEATURES = ['SiO2', 'Al2O3', 'P', 'S'] as const;

/** The model's input vector for a sample (missing grades count as 0). */
export function featureVector(grades: Partial<Record<string, number>>): number[] {
  return FEATURES.map((f) => grades[f] ?? 0);
}
