export interface BiomeCreateExecutorSchema {
  biome: string;
  owner?: string;
  ttl?: number;
  /** Seed a new sandpit from this main biome (its environment's). */
  from?: string;
  dryRun?: boolean;
  [forwarded: string]: unknown;
}
