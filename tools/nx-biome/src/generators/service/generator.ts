import { generateFiles, GeneratorCallback, names, Tree } from '@nx/devkit';
import { join } from 'node:path';
import { BiomeError } from '../../core/errors';
import { addDeployableProject, nextSteps, planNewProject, projectKinds, runGenerator } from '../project';
import type { ServiceGeneratorSchema } from './schema';

function checkRange(option: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new BiomeError('OPTIONS_INVALID', `--${option}=${value} is out of range: Lambda allows ${min}-${max}.`, `Pass an integer between ${min} and ${max}.`);
  }
}

/** `nx g @geo/nx-biome:service <name>`: a Lambda service that builds, packages and deploys as is. */
export default async function serviceGenerator(tree: Tree, options: ServiceGeneratorSchema): Promise<GeneratorCallback> {
  return runGenerator(() => {
    const project = planNewProject(tree, 'service', options);
    const memorySize = options.memorySize ?? 256;
    const timeout = options.timeout ?? 30;
    checkRange('memorySize', memorySize, 128, 10240);
    checkRange('timeout', timeout, 1, 900);
    const model = options.model?.trim() || undefined;
    if (model !== undefined && projectKinds(tree).get(model) !== 'model') {
      const models = [...projectKinds(tree)].filter(([, kind]) => kind === 'model').map(([name]) => name);
      throw new BiomeError('OPTIONS_INVALID', `--model=${model}: there is no model project named "${model}".`, `Use one of: ${models.join(', ') || '(none yet: nx g @geo/nx-biome:model <name>)'}.`);
    }
    generateFiles(tree, join(__dirname, 'files'), project.root, { name: project.name, fn: names(project.name).propertyName, offset: project.offset, model: model ?? '' });
    addDeployableProject(tree, project, { settings: { memorySize, timeout, ...(model ? { model } : {}), environment: { LOG_LEVEL: 'info' } } }, `${project.root}/src`);
    return nextSteps(project);
  });
}
