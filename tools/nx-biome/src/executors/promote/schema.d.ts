export interface PromoteExecutorSchema {
  from: string;
  to: string;
  allowRollback?: boolean;
  dryRun?: boolean;
  [forwarded: string]: unknown;
}
