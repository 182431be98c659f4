export interface BiomeReapExecutorSchema {
  environment?: string;
  confirm?: boolean;
  terraform?: boolean;
  terraformDir?: string;
  [forwarded: string]: unknown;
}
