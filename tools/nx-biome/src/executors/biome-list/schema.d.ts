export interface BiomeListExecutorSchema {
  environment?: string;
  json?: boolean;
  outputFile?: string;
  [forwarded: string]: unknown;
}
