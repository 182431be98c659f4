import { BiomeError } from './errors';
import { PackageEntry } from './package-files';

/** Folder of the inference code inside a model artifact (SageMaker framework containers load `code/inference.py`). */
export const MODEL_CODE_DIR = 'code';

/** Interpreter and test leftovers that never belong in a model artifact (they differ from machine to machine). */
export function isBuildLeftover(path: string): boolean {
  return (
    path
      .split('/')
      .some((part) => part === '__pycache__' || part === '.pytest_cache' || part === '.ipynb_checkpoints') ||
    /\.py[co]$/.test(path)
  );
}

export interface ModelFile {
  /** Which input folder the file comes from. */
  source: 'model' | 'code';
  /** Path inside that folder. */
  from: string;
  /** Path inside the artifact. */
  to: string;
  executable: boolean;
}

/**
 * The layout of a model artifact: model files at the root, inference code
 * under `code/`, sorted, leftovers dropped. Refuses a model with no files and
 * a model file that would shadow the code folder.
 */
export function planModelLayout(input: { modelDir: string; model: PackageEntry[]; code: PackageEntry[] }): ModelFile[] {
  const model = input.model.filter((e) => !isBuildLeftover(e.path));
  const code = input.code.filter((e) => !isBuildLeftover(e.path));
  if (model.length === 0) {
    throw new BiomeError(
      'BUILD_OUTPUT_MISSING',
      `${input.modelDir} holds no model files.`,
      'Put the model files (weights, coefficients...) in that folder, or point the build target\'s "modelDir" option at them.',
    );
  }
  const clash = model.find((e) => e.path === MODEL_CODE_DIR || e.path.startsWith(`${MODEL_CODE_DIR}/`));
  if (clash && code.length > 0) {
    throw new BiomeError(
      'PACKAGE_INPUT_INVALID',
      `${input.modelDir}/${clash.path} would collide with the inference code folder ${MODEL_CODE_DIR}/.`,
      `Rename it; inference code belongs in the project's ${MODEL_CODE_DIR}/ folder.`,
    );
  }
  const files: ModelFile[] = [
    ...model.map((e) => ({ source: 'model' as const, from: e.path, to: e.path, executable: e.executable })),
    ...code.map((e) => ({
      source: 'code' as const,
      from: e.path,
      to: `${MODEL_CODE_DIR}/${e.path}`,
      executable: e.executable,
    })),
  ];
  return files.sort((a, b) => (a.to < b.to ? -1 : a.to > b.to ? 1 : 0));
}
