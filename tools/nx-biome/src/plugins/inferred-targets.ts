import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CreateNodesContextV2, CreateNodesResult, CreateNodesV2, TargetConfiguration } from '@nx/devkit';
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

type CachedTargets = Record<string, TargetConfiguration>;

/**
 * The inferred targets, cached per project root by a hash of the root's
 * files, the plugin options and the inference code itself (a changed rule
 * must not be answered from an old cache), in Nx's workspace data folder.
 */
export const createNodesV2: CreateNodesV2<InferredTargetsOptions> = [
  INFERRED_PROJECT_GLOB,
  async (files, rawOptions, context) => {
    const { options, projects } = detect(files, rawOptions, context.workspaceRoot);
    if (projects.length === 0) return [];
    // Loaded here: every Nx command loads the plugin, and these pull in Nx internals only graph building needs.
    const { calculateHashesForCreateNodes, hashObject, PluginCache, workspaceDataDirectory } =
      await import('@nx/devkit/internal');
    const cache = new PluginCache<CachedTargets>(join(workspaceDataDirectory, `nx-biome-${hashObject(options)}.hash`));
    const hashes = await calculateHashesForCreateNodes(
      projects.map((p) => p.root),
      { options, rules: inferenceRulesHash(hashObject) },
      context as CreateNodesContextV2,
    );
    const representative = representativeFiles(projects, files);
    try {
      return projects.map((project, i) => {
        const key = `${hashes[i]}:${project.kind}:${project.definition ?? ''}`;
        let targets = cache.get(key);
        if (!targets) {
          targets = planInferredTargets(project, options);
          cache.set(key, targets);
        }
        const result: CreateNodesResult = { projects: { [project.root]: { root: project.root, targets } } };
        return [representative.get(project.root) ?? project.root, result] as const;
      });
    } finally {
      cache.writeToDisk();
    }
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

let rulesHash: string | undefined;
/** Hash of the module that holds the inference rules (source or compiled, whichever is loaded). */
function inferenceRulesHash(hashObject: (o: object) => string): string {
  rulesHash ??= hashObject({ text: readFileSync(require.resolve('../core/inferred-targets'), 'utf8') });
  return rulesHash;
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
