export interface BiomeDestroyExecutorSchema {
  biome: string;
  dryRun?: boolean;
  terraform?: boolean;
  terraformDir?: string;
  ifExists?: boolean;
  [forwarded: string]: unknown;
}
