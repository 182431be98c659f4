import type { CommonGeneratorOptions } from '../project';

export interface ServiceGeneratorSchema extends CommonGeneratorOptions {
  /** Lambda memory in MB (128-10240); default 256. */
  memorySize?: number;
  /** Lambda timeout in seconds (1-900); default 30. */
  timeout?: number;
  /** Model project the service calls (MODEL_TARGET). */
  model?: string;
  /** Lambda runtime to pin, e.g. nodejs24.x (default nodejs22.x); the build targets its Node.js. */
  runtime?: string;
}
