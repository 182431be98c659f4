import type { ExecutorContext } from '@nx/devkit';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BiomeError } from '../../core/errors';
import { planModelLayout } from '../../core/model';
import { collectFolder } from '../../adapters/archive';
import { currentProject, formatBytes, runExecutor } from '../run';
import type { ModelBuildExecutorSchema } from './schema';

/** Reads an input folder; secret-bearing files are refused, not silently dropped. */
async function readInput(root: string, dir: string) {
  const input = await collectFolder(join(root, dir));
  if (input.skipped.length > 0) {
    throw new BiomeError('PACKAGE_INPUT_INVALID', `${dir} holds files that must never be packaged: ${input.skipped.join(', ')}.`, 'Move secrets out of the model project (use the Lambda or endpoint environment instead).');
  }
  return input;
}

/**
 * Lays out a model's files and inference code in its build output, the
 * folder `package` turns into `<name>-<sha>.tar.gz`.
 */
export async function buildModel(options: ModelBuildExecutorSchema, context: ExecutorContext): Promise<{ files: string[]; size: number }> {
  const project = currentProject(context);
  const modelDir = options.modelDir ?? `${project.root}/model`;
  const codeDir = options.codeDir ?? `${project.root}/code`;
  const model = await readInput(context.root, modelDir);
  // The default code folder is optional (a built-in container needs none); an explicit one must exist.
  const code = options.codeDir !== undefined || existsSync(join(context.root, codeDir)) ? await readInput(context.root, codeDir) : undefined;
  const layout = planModelLayout({ modelDir, model: model.entries, code: code?.entries ?? [] });
  const outputPath = join(context.root, options.outputPath ?? join('dist', project.root));
  await rm(outputPath, { recursive: true, force: true });
  let size = 0;
  for (const f of layout) {
    const body = await (f.source === 'model' ? model : code!).read(f.from);
    size += body.length;
    const target = join(outputPath, f.to);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, body, { mode: f.executable ? 0o755 : 0o644 });
  }
  console.log(`built ${project.name}: ${layout.length} files, ${formatBytes(size)} (${layout.map((f) => f.to).join(', ')})`);
  return { files: layout.map((f) => f.to), size };
}

export default async function modelBuildExecutor(options: ModelBuildExecutorSchema, context: ExecutorContext): Promise<{ success: boolean }> {
  return runExecutor(`build ${context.projectName}`, async () => {
    await buildModel(options, context);
  });
}
