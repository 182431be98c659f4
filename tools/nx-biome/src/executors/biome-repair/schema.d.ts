export interface BiomeRepairExecutorSchema {
  biome: string;
  project?: string;
  dryRun?: boolean;
  [forwarded: string]: unknown;
}
