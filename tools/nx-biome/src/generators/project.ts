import { addProjectConfiguration, getProjects, logger, offsetFromRoot, readJson, Tree } from '@nx/devkit';
import { parseWorkspaceConfig, WorkspaceConfig, WORKSPACE_CONFIG_FILE } from '../core/config';
import { BiomeError, formatBiomeError, isBiomeError } from '../core/errors';
import { maxProjectNameLength, ProjectKind, validateProjectName } from '../core/names';
import { projectKindOf, ProjectShape } from '../core/workflow';
import { ensureInferencePlugin, explicitTargets, infersTargetsFor, optionsOf, readInferencePlugin } from './inference';

/** Options every generator takes. */
export interface CommonGeneratorOptions {
  name: string;
  /** Project root; default `apps/<kind>s/<name>`. */
  directory?: string;
  /** Extra tags, comma-separated, added to `kind:<kind>` and `deployable`. */
  tags?: string;
}

/** A new deployable project, validated and ready to be written. */
export interface NewProject {
  name: string;
  kind: ProjectKind;
  root: string;
  /** Path from the project root back to the workspace root (`../../../`). */
  offset: string;
  tags: string[];
  config: WorkspaceConfig;
}

const DIRECTORY = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;
const TAG = /^[A-Za-z0-9:._/-]+$/;

/** `nx-biome.json` from the tree: the name budget depends on the configured longest biome. */
export function readConfigFromTree(tree: Tree): WorkspaceConfig {
  if (!tree.exists(WORKSPACE_CONFIG_FILE)) {
    throw new BiomeError(
      'CONFIG_INVALID',
      `${WORKSPACE_CONFIG_FILE} not found at the workspace root.`,
      'Create it (see docs/configuration.md); generators size project names by its maxBiomeLength.',
    );
  }
  return parseWorkspaceConfig(readJson(tree, WORKSPACE_CONFIG_FILE));
}

/** The kinds of the workspace's projects, by name. */
export function projectKinds(tree: Tree): Map<string, string | undefined> {
  const kinds = new Map<string, string | undefined>();
  for (const [name, project] of getProjects(tree)) kinds.set(name, projectKindOf(project as ProjectShape));
  return kinds;
}

/** Comma-separated list option (also accepts an array, as Nx passes repeated flags). */
export function listOption(value: string | string[] | undefined): string[] {
  const items = Array.isArray(value) ? value : (value ?? '').split(',');
  return [...new Set(items.map((s) => s.trim()).filter(Boolean))];
}

/**
 * Checks a new project's name, folder and tags before anything is written:
 * the deploy's name rule, the AWS name budget with the longest biome the
 * config allows, no existing project of that name, an empty folder.
 */
export function planNewProject(tree: Tree, kind: ProjectKind, options: CommonGeneratorOptions): NewProject {
  const config = readConfigFromTree(tree);
  const name = options.name;
  validateProjectName(name);
  const max = maxProjectNameLength(config);
  if (name.length > max) {
    throw new BiomeError(
      'PROJECT_NAME_INVALID',
      `Project name "${name}" is ${name.length} characters; the limit is ${max}, so that "${config.namePrefix}-<biome>--${name}" fits AWS's 64-character limit (Lambda, IAM) with a biome of maxBiomeLength ${config.maxBiomeLength} (${WORKSPACE_CONFIG_FILE}).`,
      `Use a shorter name (at most ${max} characters).`,
    );
  }
  const existing = getProjects(tree).get(name);
  if (existing) {
    throw new BiomeError(
      'PROJECT_NAME_INVALID',
      `A project named "${name}" already exists (${existing.root}).`,
      'Choose another name; project names are unique in the workspace and in every biome.',
    );
  }
  const root = (options.directory ?? `apps/${kind}s/${name}`).replace(/\/+$/, '');
  if (!DIRECTORY.test(root) || root.split('/').some((part) => part === '.' || part === '..')) {
    throw new BiomeError(
      'OPTIONS_INVALID',
      `--directory "${options.directory}" is not a folder inside the workspace.`,
      `Give a relative path such as apps/${kind}s/${name}.`,
    );
  }
  if (tree.exists(root) && (!tree.isFile(root) ? tree.children(root).length > 0 : true)) {
    throw new BiomeError(
      'OPTIONS_INVALID',
      `${root} already exists and is not empty.`,
      'Choose another --directory, or remove that folder first.',
    );
  }
  const extra = listOption(options.tags);
  const badTag = extra.find((t) => !TAG.test(t));
  if (badTag !== undefined)
    throw new BiomeError(
      'OPTIONS_INVALID',
      `Tag "${badTag}" is invalid: use letters, digits and : . _ / -.`,
      'Pass tags as --tags=scope:plant,team:ml.',
    );
  const tags = [...new Set([`kind:${kind}`, 'deployable', ...extra])];
  return { name, kind, root, offset: offsetFromRoot(root), tags, config };
}

/**
 * Writes the project's project.json in the short form: name, tags and the
 * project's own settings; the plugin infers build, package and deploy
 * (registering the plugin in nx.json if it is not yet). A root the plugin is
 * told to leave alone (nx.json `exclude`) gets its targets spelled out.
 */
export function addDeployableProject(
  tree: Tree,
  project: NewProject,
  own: { definition?: string; settings?: Record<string, unknown>; buildOptions?: Record<string, unknown> } = {},
  sourceRoot = project.root,
): void {
  const entry = readInferencePlugin(tree) ?? ensureInferencePlugin(tree);
  const options = optionsOf(entry);
  const settings = own.settings ? { options: { settings: own.settings } } : undefined;
  let targets: Record<string, object> = {};
  if (infersTargetsFor(entry, project.root)) {
    if (settings) targets = { [options.packageTargetName]: settings };
    // Only what differs from the inferred build (a pinned runtime's esbuild target): Nx merges it over the inferred options.
    if (own.buildOptions) targets[options.buildTargetName] = { options: own.buildOptions };
  } else {
    targets = explicitTargets({ root: project.root, kind: project.kind, definition: own.definition }, options);
    if (own.settings)
      targets[options.packageTargetName] = {
        ...targets[options.packageTargetName],
        options: { kind: project.kind, settings: own.settings },
      };
    if (own.buildOptions) {
      const build = targets[options.buildTargetName] as { options?: Record<string, unknown> };
      targets[options.buildTargetName] = { ...build, options: { ...build.options, ...own.buildOptions } };
    }
  }
  addProjectConfiguration(tree, project.name, {
    root: project.root,
    projectType: 'application',
    sourceRoot,
    tags: project.tags,
    targets,
  });
}

/**
 * Runs a generator body; a user error becomes one clear message (code, what,
 * fix) and, as it is thrown before any write, the tree stays untouched.
 */
export async function runGenerator<T>(body: () => T | Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    if (!isBiomeError(e)) throw e;
    const error = new Error(formatBiomeError(e));
    error.stack = formatBiomeError(e);
    throw error;
  }
}

/** What to do next, printed after the files are written (not on --dry-run). */
export function nextSteps(project: NewProject): () => void {
  return () =>
    logger.info(
      [
        `${project.kind} ${project.name} created in ${project.root}. Deploy it to your biome:`,
        `  git add ${project.root} && git commit -m "Add ${project.name}"`,
        `  npx nx affected -t deploy --biome=dev-<you> --base=HEAD~1`,
      ].join('\n'),
    );
}
