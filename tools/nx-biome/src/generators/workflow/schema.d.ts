import type { CommonGeneratorOptions } from '../project';

export interface WorkflowGeneratorSchema extends CommonGeneratorOptions {
  /** Service projects the workflow invokes, in order, comma-separated. */
  services?: string | string[];
}
