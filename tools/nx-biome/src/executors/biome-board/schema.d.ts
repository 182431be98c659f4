export interface BiomeBoardExecutorSchema {
  environment?: string;
  out?: string;
  historyLimit?: number;
  commitLimit?: number;
  cache?: boolean;
  cacheDir?: string;
  [forwarded: string]: unknown;
}
