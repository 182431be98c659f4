export interface BiomeDestroyExecutorSchema {
  biome: string;
  dryRun?: boolean;
  terraform?: boolean;
  terraformDir?: string;
  [forwarded: string]: unknown;
}
