export interface DeployExecutorSchema {
  biome: string;
  dryRun?: boolean;
  allowDirty?: boolean;
  [forwarded: string]: unknown;
}
