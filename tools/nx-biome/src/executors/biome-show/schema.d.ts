export interface BiomeShowExecutorSchema {
  biome: string;
  json?: boolean;
  outputFile?: string;
  [forwarded: string]: unknown;
}
