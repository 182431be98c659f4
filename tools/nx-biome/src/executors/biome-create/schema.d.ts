export interface BiomeCreateExecutorSchema {
  biome: string;
  owner?: string;
  ttl?: number;
  dryRun?: boolean;
  [forwarded: string]: unknown;
}
