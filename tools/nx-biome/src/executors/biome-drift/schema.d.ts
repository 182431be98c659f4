export interface BiomeDriftExecutorSchema {
  biome?: string;
  json?: boolean;
  outputFile?: string;
  concurrency?: number;
  [forwarded: string]: unknown;
}
