export interface InfraDeployExecutorSchema {
  biome: string;
  dryRun?: boolean;
  apply?: boolean;
  terraformDir?: string;
  [forwarded: string]: unknown;
}
