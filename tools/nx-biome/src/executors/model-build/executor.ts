import type { ExecutorContext } from '@nx/devkit';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { planModelLayout } from '../../core/model';
import { collectFolder } from '../../adapters/archive';
import { currentProject, formatBytes, runExecutor } from '../run';
import type { ModelBuildExecutorSchema } from './schema';

/** Reads an input folder through the packaging content policy: symlinks, secrets and git metadata are refused, never copied. */
const readInput = (root: string, dir: string) => collectFolder(join(root, dir), dir);

/**
 * Lays out a model's files and inference code in its build output, the
 * folder `package` turns into `<name>-<sha>.tar.gz`.
 */
export async function buildModel(
  options: ModelBuildExecutorSchema,
  context: ExecutorContext,
): Promise<{ files: string[]; size: number }> {
  const project = currentProject(context);
  const modelDir = options.modelDir ?? `${project.root}/model`;
  const codeDir = options.codeDir ?? `${project.root}/code`;
  const model = await readInput(context.root, modelDir);
  // The default code folder is optional (a built-in container needs none); an explicit one must exist.
  const code =
    options.codeDir !== undefined || existsSync(join(context.root, codeDir))
      ? await readInput(context.root, codeDir)
      : undefined;
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
  console.log(
    `built ${project.name}: ${layout.length} files, ${formatBytes(size)} (${layout.map((f) => f.to).join(', ')})`,
  );
  return { files: layout.map((f) => f.to), size };
}

export default async function modelBuildExecutor(
  options: ModelBuildExecutorSchema,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  return runExecutor(`build ${context.projectName}`, async () => {
    await buildModel(options, context);
  });
}
