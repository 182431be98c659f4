export interface InfraDeployExecutorSchema {
  biome: string;
  dryRun?: boolean;
  apply?: boolean;
  planOnly?: boolean;
  terraformDir?: string;
  /** See schema.json: the base of a fan-out deploy whose every shard succeeded. */
  completesRunFrom?: string;
  [forwarded: string]: unknown;
}
