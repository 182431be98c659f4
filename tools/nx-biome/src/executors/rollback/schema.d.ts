export interface RollbackExecutorSchema {
  biome: string;
  projects?: string;
  to?: string;
  dryRun?: boolean;
  [forwarded: string]: unknown;
}
