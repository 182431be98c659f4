export interface BiomeBoardExecutorSchema {
  environment?: string;
  out?: string;
  historyLimit?: number;
  commitLimit?: number;
  [forwarded: string]: unknown;
}
