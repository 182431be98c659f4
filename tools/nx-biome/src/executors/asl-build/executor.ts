import type { ExecutorContext } from '@nx/devkit';
import { readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { BiomeError } from '../../core/errors';
import {
  AslValidate,
  checkWorkflowDefinition,
  ProjectShape,
  serviceProjectNames,
  WORKFLOW_DEFINITION_FILE,
} from '../../core/workflow';
import { writeFileAtomic } from '../../adapters/workspace';
import { currentProject, runExecutor } from '../run';
import type { AslBuildExecutorSchema } from './schema';

/** asl-validator pulls in ajv and jsonpath: load it only when a workflow is built. */
function loadAslValidator(): AslValidate {
  return createRequire(__filename)('asl-validator') as AslValidate;
}

/**
 * Validates a workflow's definition and writes it, canonical and with its
 * `${service:<name>}` references kept, to `<outputPath>/definition.asl.json`
 * (the package step zips that folder and records the definition).
 */
export async function buildWorkflow(
  options: AslBuildExecutorSchema,
  context: ExecutorContext,
  validate: AslValidate = loadAslValidator(),
): Promise<{ file: string; services: string[] }> {
  const project = currentProject(context);
  const projects = context.projectsConfigurations!.projects as Record<string, ProjectShape>;
  // Same default as the project graph uses (workflowDefinitionPath), so the graph and the build read one file.
  const file = options.definition ?? `${project.root}/${project.name}.asl.json`;
  const text = await readFile(join(context.root, file), 'utf8').catch(() => {
    throw new BiomeError(
      'BUILD_OUTPUT_MISSING',
      `${file} does not exist.`,
      `Create it, or point the build target's "definition" option of ${project.name} at the definition file.`,
    );
  });
  const checked = checkWorkflowDefinition({ file, text, services: serviceProjectNames(projects), validate });
  const outputPath = join(context.root, options.outputPath ?? join('dist', project.root));
  await rm(outputPath, { recursive: true, force: true });
  await writeFileAtomic(join(outputPath, WORKFLOW_DEFINITION_FILE), checked.text);
  const invokes = checked.services.length ? `invokes ${checked.services.join(', ')}` : 'invokes no service';
  console.log(
    `built ${project.name}: ${file} is valid (${invokes}) → ${join(options.outputPath ?? join('dist', project.root), WORKFLOW_DEFINITION_FILE)}`,
  );
  return { file, services: checked.services };
}

export default async function aslBuildExecutor(
  options: AslBuildExecutorSchema,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  return runExecutor(`build ${context.projectName}`, async () => {
    await buildWorkflow(options, context);
  });
}
