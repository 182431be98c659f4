export interface ModelBuildExecutorSchema {
  /** Model files, relative to the workspace root; default `<projectRoot>/model`. Copied to the artifact root. */
  modelDir?: string;
  /** Inference code, relative to the workspace root; default `<projectRoot>/code`. Copied to `code/`. */
  codeDir?: string;
  /** Build output folder, relative to the workspace root; default `dist/<projectRoot>`. */
  outputPath?: string;
}
