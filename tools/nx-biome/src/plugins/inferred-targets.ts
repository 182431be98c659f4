import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CreateNodesResult, CreateNodesV2 } from '@nx/devkit';
import { formatBiomeError, isBiomeError } from '../core/errors';
import {
  detectProjects,
  InferredTargetsOptions,
  normalizeInferredTargetsOptions,
  planInferredTargets,
} from '../core/inferred-targets';

/**
 * createNodesV2 of @geo/nx-biome: finds the deployable projects by their
 * files and infers their build, package and deploy targets, as @nx/vite and
 * @nx/jest infer theirs. A project.json keeps only what is the project's own
 * (name, tags, `package.options.settings`); Nx merges it over what is
 * inferred, so it can still override any option. Projects that must stay
 * explicit are excluded in nx.json (`"exclude"` on the plugin entry).
 */

/** Services (`<root>/src/main.ts`), workflows (`<root>/<x>.asl.json`) and models (`<root>/model/<file>`). */
export const INFERRED_PROJECT_GLOB = '{**/src/main.ts,**/*.asl.json,**/model/*}';

/**
 * The inferred targets of every deployable project. They depend only on the
 * project's root, kind and definition file (file names Nx hands over) and the
 * plugin options, never on file contents, so nothing is cached: hashing every
 * project's files for a cache key cost more (0.3 s at 1,000 projects) than
 * planning the targets again.
 */
export const createNodesV2: CreateNodesV2<InferredTargetsOptions> = [
  INFERRED_PROJECT_GLOB,
  async (files, rawOptions, context) => {
    const { options, projects } = detect(files, rawOptions, context.workspaceRoot);
    const representative = representativeFiles(projects, files);
    return projects.map((project) => {
      const result: CreateNodesResult = {
        projects: { [project.root]: { root: project.root, targets: planInferredTargets(project, options) } },
      };
      return [representative.get(project.root) ?? project.root, result] as const;
    });
  },
];

/** The options and projects; a BiomeError becomes the one message Nx shows (code, problem, fix). */
function detect(files: readonly string[], rawOptions: InferredTargetsOptions | undefined, workspaceRoot: string) {
  try {
    const options = normalizeInferredTargetsOptions(rawOptions);
    return {
      options,
      projects: detectProjects([...files], (root) => existsSync(join(workspaceRoot, root, 'project.json'))),
    };
  } catch (e) {
    throw isBiomeError(e) ? new Error(formatBiomeError(e)) : e;
  }
}

/**
 * The first matched file of each project, the file Nx attributes the project
 * to; one pass over the files (a lookup per project was quadratic: 0.1 s at
 * 1,000 projects).
 */
function representativeFiles(projects: { root: string }[], files: readonly string[]): Map<string, string> {
  const roots = new Set(projects.map((p) => p.root));
  const out = new Map<string, string>();
  for (const file of files) {
    // A project root is a prefix of its file's folder: try each ancestor folder, nearest first.
    for (let i = file.lastIndexOf('/'); i > 0; i = file.lastIndexOf('/', i - 1)) {
      const root = file.slice(0, i);
      if (roots.has(root) && !out.has(root)) out.set(root, file);
    }
  }
  return out;
}
