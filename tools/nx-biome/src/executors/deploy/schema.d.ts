export interface DeployExecutorSchema {
  biome: string;
  dryRun?: boolean;
  allowDirty?: boolean;
  /** The target whose options package the project; default: its one @geo/nx-biome:package target. */
  packageTarget?: string;
  [forwarded: string]: unknown;
}
