import type { TargetConfiguration } from '@nx/devkit';
import {
  ASL_BUILD_EXECUTOR,
  DEPLOY_EXECUTOR,
  ESBUILD_EXECUTOR,
  MODEL_BUILD_EXECUTOR,
  PACKAGE_EXECUTOR,
  ProjectKind,
} from './constants';
import { BiomeError } from './errors';
import { DEFAULT_LAMBDA_RUNTIME, esbuildTargetFor } from './runtimes';

/**
 * The targets the plugin infers for a deployable project (createNodesV2 in
 * src/plugins/inferred-targets.ts): `build`, `package` and `deploy`, with the
 * options every project.json used to spell out by hand. Pure: the project's
 * root and the files found there come in as values.
 */

/**
 * The Node.js version services are bundled for (esbuild `target`): that of
 * the default Lambda runtime, so the two move together. A service that pins
 * another runtime (settings.runtime) sets its build target's `target` in its
 * project.json (the service generator's --runtime does both).
 */
export const ESBUILD_TARGET = esbuildTargetFor(DEFAULT_LAMBDA_RUNTIME);

/**
 * The esbuild options every service builds with: one CJS bundle with the AWS
 * SDK left to the runtime, and `preserveSymlinks` so bundle bytes do not
 * depend on where node_modules lives.
 */
export const SERVICE_BUILD_OPTIONS = {
  platform: 'node',
  target: ESBUILD_TARGET,
  format: ['cjs'],
  bundle: true,
  thirdParty: true,
  external: ['@aws-sdk/*'],
  skipTypeCheck: true,
  generatePackageJson: false,
  deleteOutputPath: true,
  esbuildOptions: { outExtension: { '.js': '.js' }, legalComments: 'none', sourcemap: false, preserveSymlinks: true },
};

/** The executor of each inferred target, by kind. */
export const BUILD_EXECUTORS: Record<ProjectKind, string> = {
  service: ESBUILD_EXECUTOR,
  workflow: ASL_BUILD_EXECUTOR,
  model: MODEL_BUILD_EXECUTOR,
};

/** The plugin's options in nx.json (`plugins: [{ "plugin": "@geo/nx-biome", "options": { … } }]`). */
export interface InferredTargetsOptions {
  /** Name of the inferred build target (default `build`). */
  buildTargetName?: string;
  /** Name of the inferred package target (default `package`). */
  packageTargetName?: string;
  /** Name of the inferred deploy target (default `deploy`). */
  deployTargetName?: string;
  /** esbuild options laid over {@link SERVICE_BUILD_OPTIONS} for every service (e.g. `{ "target": "node22" }`). */
  serviceBuildOptions?: Record<string, unknown>;
}

export type NormalizedInferredTargetsOptions = Required<InferredTargetsOptions>;

const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9:_-]*$/;

/** The plugin's package name, as nx.json's `plugins` names it. */
export const PLUGIN_NAME = '@geo/nx-biome';

/** True for nx.json's `plugins` entry of this plugin, bare (`"@geo/nx-biome"`) or with options. */
export const isPluginEntry = (p: unknown): boolean =>
  (typeof p === 'string' ? p : (p as { plugin?: unknown } | null)?.plugin) === PLUGIN_NAME;

/**
 * The name of the deploy target in a workspace: the `deployTargetName` the
 * @geo/nx-biome entry of nx.json's `plugins` gives, else `deploy`. The hooks
 * read a command line (`nx run-many -t ship`) with it.
 */
export function deployTargetOf(plugins: readonly unknown[] | undefined): string {
  const entry = plugins?.find(isPluginEntry);
  const name = (entry as { options?: { deployTargetName?: unknown } } | undefined)?.options?.deployTargetName;
  return typeof name === 'string' && TARGET_NAME.test(name) ? name : 'deploy';
}

/** Fills the defaults of the plugin options and checks them (CONFIG_INVALID names the bad one). */
export function normalizeInferredTargetsOptions(raw: unknown): NormalizedInferredTargetsOptions {
  const options = (raw ?? {}) as InferredTargetsOptions;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new BiomeError(
      'CONFIG_INVALID',
      'nx.json: the options of the @geo/nx-biome plugin must be an object.',
      'Write "plugins": [{ "plugin": "@geo/nx-biome", "options": { "buildTargetName": "build" } }].',
    );
  }
  const known = ['buildTargetName', 'packageTargetName', 'deployTargetName', 'serviceBuildOptions'];
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new BiomeError(
      'CONFIG_INVALID',
      `nx.json: the @geo/nx-biome plugin has no option ${unknown.map((k) => `"${k}"`).join(', ')}.`,
      `Use only ${known.join(', ')} (docs/projects.md#inferred-targets).`,
    );
  }
  const normalized = {
    buildTargetName: options.buildTargetName ?? 'build',
    packageTargetName: options.packageTargetName ?? 'package',
    deployTargetName: options.deployTargetName ?? 'deploy',
    serviceBuildOptions: options.serviceBuildOptions ?? {},
  };
  const names = [normalized.buildTargetName, normalized.packageTargetName, normalized.deployTargetName];
  for (const [key, value] of Object.entries(normalized).slice(0, 3)) {
    if (typeof value !== 'string' || !TARGET_NAME.test(value)) {
      throw new BiomeError(
        'CONFIG_INVALID',
        `nx.json: @geo/nx-biome option ${key} is ${JSON.stringify(value)}, not a target name.`,
        `Give a name such as "${key.replace('TargetName', '')}" (letters, digits, : _ -).`,
      );
    }
  }
  if (new Set(names).size !== names.length) {
    throw new BiomeError(
      'CONFIG_INVALID',
      `nx.json: @geo/nx-biome target names must differ, got ${names.join(', ')}.`,
      'Give build, package and deploy three different names.',
    );
  }
  if (
    typeof normalized.serviceBuildOptions !== 'object' ||
    normalized.serviceBuildOptions === null ||
    Array.isArray(normalized.serviceBuildOptions)
  ) {
    throw new BiomeError(
      'CONFIG_INVALID',
      'nx.json: @geo/nx-biome option serviceBuildOptions must be an object of esbuild executor options.',
      'Write e.g. "serviceBuildOptions": { "target": "node22" }.',
    );
  }
  return normalized;
}

/** What the plugin found at a project root. */
export interface DetectedProject {
  root: string;
  kind: ProjectKind;
  /** A workflow's definition file (workspace-relative). */
  definition?: string;
}

/**
 * Decides the kind of each project root from the files found there:
 * `<root>/src/main.ts` is a service, `<root>/<x>.asl.json` a workflow,
 * `<root>/model/<file>` a model. Roots without a project.json are not
 * projects (a stray `model/` folder in a library stays a library). A root
 * that looks like two kinds, or holds two definitions, is an error naming
 * the files, since a guess would deploy the wrong thing.
 */
export function detectProjects(files: string[], hasProjectJson: (root: string) => boolean): DetectedProject[] {
  const found = new Map<string, { kinds: Map<ProjectKind, string[]> }>();
  for (const file of files) {
    const match = classifyFile(file);
    if (!match || !hasProjectJson(match.root)) continue;
    const entry = found.get(match.root) ?? { kinds: new Map<ProjectKind, string[]>() };
    entry.kinds.set(match.kind, [...(entry.kinds.get(match.kind) ?? []), file]);
    found.set(match.root, entry);
  }
  const out: DetectedProject[] = [];
  for (const [root, { kinds }] of [...found].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (kinds.size > 1) {
      const list = [...kinds].map(([kind, f]) => `${kind} (${f[0]})`).join(' and ');
      throw new BiomeError(
        'PROJECT_KIND_AMBIGUOUS',
        `${root} looks like a ${list}: the plugin cannot tell which targets to infer.`,
        `Keep one kind per project folder, or exclude ${root}/** from the @geo/nx-biome plugin in nx.json and write its targets in its project.json.`,
      );
    }
    const [[kind, kindFiles]] = [...kinds];
    if (kind === 'workflow' && kindFiles.length > 1) {
      throw new BiomeError(
        'PROJECT_KIND_AMBIGUOUS',
        `${root} holds ${kindFiles.length} Step Functions definitions (${kindFiles.sort().join(', ')}); a workflow project deploys one.`,
        'Move each definition to its own project folder (nx g @geo/nx-biome:workflow <name>).',
      );
    }
    out.push(kind === 'workflow' ? { root, kind, definition: kindFiles[0] } : { root, kind });
  }
  return out;
}

function classifyFile(file: string): { root: string; kind: ProjectKind } | undefined {
  const parts = file.split('/');
  const name = parts[parts.length - 1];
  if (parts.length >= 3 && name === 'main.ts' && parts[parts.length - 2] === 'src')
    return { root: parts.slice(0, -2).join('/') || '.', kind: 'service' };
  if (parts.length >= 2 && name.endsWith('.asl.json')) return { root: parts.slice(0, -1).join('/'), kind: 'workflow' };
  if (parts.length >= 3 && parts[parts.length - 2] === 'model')
    return { root: parts.slice(0, -2).join('/'), kind: 'model' };
  return undefined;
}

/** What an inferred target says it does (`nx show project` prints it). */
const DESCRIPTIONS = {
  service: 'Bundle the Lambda handler with esbuild (one CJS file, AWS SDK left to the runtime).',
  workflow: 'Validate the Step Functions definition (asl-validator) and copy it to the build output.',
  model: 'Copy the model files and inference code to the build output (symlinks, secrets and git metadata refused).',
  package: 'Pack the build output into a reproducible <name>-<sha> archive with its sha256.',
  deploy:
    "Package the build output (as the package target does) and publish the artifact to the biome's store, then record it in the biome's ledger (--biome=<biome>).",
};

/**
 * The build, package and deploy targets of one detected project: the same
 * executors and options the generators wrote into project.json before the
 * targets were inferred, with target names from the plugin options.
 */
export function planInferredTargets(
  project: DetectedProject,
  options: NormalizedInferredTargetsOptions,
): Record<string, TargetConfiguration> {
  const { root, kind } = project;
  const outputPath = `dist/${root}`;
  const buildOptions: Record<string, unknown> =
    kind === 'service'
      ? {
          main: `${root}/src/main.ts`,
          outputPath,
          tsConfig: `${root}/tsconfig.app.json`,
          ...SERVICE_BUILD_OPTIONS,
          ...options.serviceBuildOptions,
        }
      : kind === 'workflow'
        ? { definition: project.definition, outputPath }
        : { modelDir: `${root}/model`, codeDir: `${root}/code`, outputPath };
  return {
    [options.buildTargetName]: {
      executor: BUILD_EXECUTORS[kind],
      cache: true,
      inputs: ['production', '^production'],
      dependsOn: [`^${options.buildTargetName}`],
      outputs: ['{options.outputPath}'],
      options: buildOptions,
      metadata: { description: DESCRIPTIONS[kind], ...(kind === 'service' ? { technologies: ['esbuild'] } : {}) },
    },
    [options.packageTargetName]: {
      executor: PACKAGE_EXECUTOR,
      cache: false,
      dependsOn: [options.buildTargetName],
      options: { kind },
      metadata: { description: DESCRIPTIONS.package },
    },
    [options.deployTargetName]: {
      executor: DEPLOY_EXECUTOR,
      cache: false,
      // Not on the package target: deploy packages with that target's options in its own process (one batch
      // worker fewer per run; docs/performance.md). `nx run <p>:package` still makes the archive alone.
      dependsOn: [options.buildTargetName],
      metadata: { description: DESCRIPTIONS.deploy },
    },
  };
}
