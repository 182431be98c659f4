export interface AslBuildExecutorSchema {
  /** The Amazon States Language file, relative to the workspace root; default `<projectRoot>/<project>.asl.json`. */
  definition?: string;
  /** Build output folder, relative to the workspace root; default `dist/<projectRoot>`. */
  outputPath?: string;
}
