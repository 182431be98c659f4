/**
 * `@geo/nx-biome:esbuild`: @nx/esbuild's executor, with the same options and
 * schema, plus a batch implementation (batch.ts). A single task is exactly
 * `@nx/esbuild:esbuild`.
 */
export { esbuildExecutor as default } from '@nx/esbuild/executors';
