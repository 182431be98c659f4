import { generateFiles, GeneratorCallback, names, Tree } from '@nx/devkit';
import { join } from 'node:path';
import { BiomeError } from '../../core/errors';
import { checkLambdaRuntime, DEFAULT_LAMBDA_RUNTIME, esbuildTargetFor } from '../../core/runtimes';
import { addDeployableProject, nextSteps, planNewProject, projectKinds, runGenerator } from '../project';
import type { ServiceGeneratorSchema } from './schema';

function checkRange(option: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new BiomeError(
      'OPTIONS_INVALID',
      `--${option}=${value} is out of range: Lambda allows ${min}-${max}.`,
      `Pass an integer between ${min} and ${max}.`,
    );
  }
}

/** `nx g @geo/nx-biome:service <name>`: a Lambda service that builds, packages and deploys as is. */
export default async function serviceGenerator(
  tree: Tree,
  options: ServiceGeneratorSchema,
): Promise<GeneratorCallback> {
  return runGenerator(() => {
    const project = planNewProject(tree, 'service', options);
    const memorySize = options.memorySize ?? 256;
    const timeout = options.timeout ?? 30;
    checkRange('memorySize', memorySize, 128, 10240);
    checkRange('timeout', timeout, 1, 900);
    const runtime = options.runtime?.trim() || DEFAULT_LAMBDA_RUNTIME;
    // An unknown or deprecated runtime is refused now, not at the first deploy's render.
    checkLambdaRuntime({ project: project.name, runtime, today: new Date().toISOString() });
    const model = options.model?.trim() || undefined;
    if (model !== undefined && projectKinds(tree).get(model) !== 'model') {
      const models = [...projectKinds(tree)].filter(([, kind]) => kind === 'model').map(([name]) => name);
      throw new BiomeError(
        'OPTIONS_INVALID',
        `--model=${model}: there is no model project named "${model}".`,
        `Use one of: ${models.join(', ') || '(none yet: nx g @geo/nx-biome:model <name>)'}.`,
      );
    }
    generateFiles(tree, join(__dirname, 'files'), project.root, {
      name: project.name,
      fn: names(project.name).propertyName,
      offset: project.offset,
      model: model ?? '',
    });
    // A pinned runtime (not the default) goes into the settings, and the bundle targets its Node.js.
    const pinned = runtime !== DEFAULT_LAMBDA_RUNTIME;
    addDeployableProject(
      tree,
      project,
      {
        settings: {
          memorySize,
          timeout,
          ...(pinned ? { runtime } : {}),
          ...(model ? { model } : {}),
          environment: { LOG_LEVEL: 'info' },
        },
        ...(pinned ? { buildOptions: { target: esbuildTargetFor(runtime) } } : {}),
      },
      `${project.root}/src`,
    );
    return nextSteps(project);
  });
}
