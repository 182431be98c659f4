import { GeneratorCallback, generateFiles, Tree } from '@nx/devkit';
import { join } from 'node:path';
import { addDeployableProject, nextSteps, planNewProject, runGenerator } from '../project';
import type { ModelGeneratorSchema } from './schema';

/** `nx g @geo/nx-biome:model <name>`: model files and inference code, packaged as `<name>-<sha>.tar.gz`. */
export default async function modelGenerator(tree: Tree, options: ModelGeneratorSchema): Promise<GeneratorCallback> {
  return runGenerator(() => {
    const project = planNewProject(tree, 'model', options);
    generateFiles(tree, join(__dirname, 'files'), project.root, { name: project.name });
    addDeployableProject(tree, project);
    return nextSteps(project);
  });
}
