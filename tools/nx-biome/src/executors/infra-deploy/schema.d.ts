export interface InfraDeployExecutorSchema {
  biome: string;
  dryRun?: boolean;
  apply?: boolean;
  planOnly?: boolean;
  terraformDir?: string;
  [forwarded: string]: unknown;
}
