import { GeneratorCallback, generateFiles, getProjects, Tree } from '@nx/devkit';
import { join } from 'node:path';
import { BiomeError } from '../../core/errors';
import { validateProjectName } from '../../core/names';
import { scaffoldWorkflowDefinition } from '../../core/workflow';
import { addDeployableProject, listOption, nextSteps, planNewProject, projectKinds, runGenerator } from '../project';
import type { WorkflowGeneratorSchema } from './schema';

/** `nx g @geo/nx-biome:workflow <name> --services=a,b`: a Step Functions workflow invoking biome services. */
export default async function workflowGenerator(
  tree: Tree,
  options: WorkflowGeneratorSchema,
): Promise<GeneratorCallback> {
  return runGenerator(() => {
    const project = planNewProject(tree, 'workflow', options);
    const services = listOption(options.services);
    const kinds = projectKinds(tree);
    const projects = getProjects(tree);
    for (const service of services) {
      validateProjectName(service);
      // Only deployables live in a biome: an account-level service (the artifact deployer) has no biome function to invoke.
      const tags = projects.get(service)?.tags ?? [];
      if (kinds.get(service) === 'service' && !tags.includes('deployable')) {
        throw new BiomeError(
          'OPTIONS_INVALID',
          `--services: "${service}" is an account-level service (tags ${tags.join(', ')}), deployed once per account, not in any biome.`,
          'Invoke services that are deployed to biomes (tag "deployable").',
        );
      }
      if (kinds.get(service) !== 'service') {
        const known = [...kinds]
          .filter(([, kind]) => kind === 'service')
          .map(([name]) => name)
          .sort();
        throw new BiomeError(
          'OPTIONS_INVALID',
          `--services: "${service}" is not a service project of this workspace.`,
          `Use service projects: ${known.join(', ') || '(none yet: nx g @geo/nx-biome:service <name>)'}.`,
        );
      }
    }
    const definitionFile = `${project.root}/${project.name}.asl.json`;
    tree.write(definitionFile, `${JSON.stringify(scaffoldWorkflowDefinition(project.name, services), null, 2)}\n`);
    generateFiles(tree, join(__dirname, 'files'), project.root, { name: project.name, services });
    addDeployableProject(tree, project, { definition: definitionFile });
    return nextSteps(project);
  });
}
