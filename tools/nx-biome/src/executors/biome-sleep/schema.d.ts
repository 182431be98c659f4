export interface BiomeSleepExecutorSchema {
  biome: string;
  asleep?: boolean;
  dryRun?: boolean;
  [forwarded: string]: unknown;
}
