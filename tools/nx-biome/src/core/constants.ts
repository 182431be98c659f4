/**
 * Constants and types shared across the core: a leaf module that imports
 * nothing of the package, so that no import cycle can run through it and no
 * module can read one of these before it is initialised.
 */

/** Name of the workspace config file, at the workspace root. */
export const WORKSPACE_CONFIG_FILE = 'nx-biome.json';

/** Lowercase ASCII letters and digits in hyphen-separated words, starting with a letter. */
export const NAME_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** The three kinds of deployable project. */
export type ProjectKind = 'service' | 'workflow' | 'model';
export const PROJECT_KINDS: readonly ProjectKind[] = ['service', 'workflow', 'model'];

/** A full 40-character git commit SHA (lowercase hex). */
export const FULL_SHA = /^[0-9a-f]{40}$/;

/** The plugin's executors that the core recognises projects by. */
export const ESBUILD_EXECUTOR = '@geo/nx-biome:esbuild';
export const ASL_BUILD_EXECUTOR = '@geo/nx-biome:asl-build';
export const MODEL_BUILD_EXECUTOR = '@geo/nx-biome:model-build';
export const PACKAGE_EXECUTOR = '@geo/nx-biome:package';
/** The executor of a deployable project's `deploy` target. */
export const DEPLOY_EXECUTOR = '@geo/nx-biome:deploy';
