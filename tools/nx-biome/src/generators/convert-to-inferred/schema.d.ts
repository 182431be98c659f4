export interface ConvertToInferredGeneratorSchema {
  /** Convert only this project (default: every project the plugin finds). */
  project?: string;
}
