import type { ExecutorContext } from '@nx/devkit';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { renderBoard } from '../../core/board-html';
import { requireEnvironment } from '../../core/config';
import { BiomeError } from '../../core/errors';
import { createBoardCache } from '../../adapters/board-cache';
import { CommitLogPort, createCommitLog } from '../../adapters/git-log';
import { writeSite } from '../../adapters/site';
import { loadWorkspaceConfig } from '../../adapters/workspace';
import { collectBoard } from '../../operations/board';
import { Deps, realDeps } from '../../operations/context';
import { runExecutor } from '../run';
import type { BiomeBoardExecutorSchema } from './schema';

function positiveInt(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 100_000) {
    throw new BiomeError(
      'OPTIONS_INVALID',
      `--${name} must be a whole number from 1 to 100000, got ${JSON.stringify(value)}.`,
      `Pass e.g. --${name}=${fallback}.`,
    );
  }
  return value;
}

/** Renders the biome board into `out` and returns the pages written and where. */
export async function biomeBoardWith(
  options: BiomeBoardExecutorSchema,
  context: ExecutorContext,
  deps?: Deps,
  commitLog?: CommitLogPort,
): Promise<{ dir: string; pages: string[] }> {
  const config = await loadWorkspaceConfig(context.root);
  const historyLimit = positiveInt('historyLimit', options.historyLimit, 200);
  const commitLimit = positiveInt('commitLimit', options.commitLimit, 30);
  const out = typeof options.out === 'string' && options.out ? options.out : 'dist/biome-board';
  const dir = isAbsolute(out) ? out : join(context.root, out);
  if (relative(context.root, dir) === '')
    throw new BiomeError(
      'OPTIONS_INVALID',
      '--out names the workspace root, which the board would replace.',
      'Pass a folder of its own, e.g. --out=dist/biome-board.',
    );
  const d = deps ?? realDeps(context.root, config);
  const environments = options.environment
    ? [requireEnvironment(config, options.environment).name]
    : [...new Set([...config.promotionOrder, ...Object.keys(config.environments)])];
  const projectRoots = Object.fromEntries(
    Object.entries(context.projectsConfigurations?.projects ?? {}).map(([name, p]) => [name, p.root]),
  );
  if (options.cache !== undefined && typeof options.cache !== 'boolean')
    throw new BiomeError(
      'OPTIONS_INVALID',
      `--cache must be true or false, got ${JSON.stringify(options.cache)}.`,
      'Pass --cache=false to read every object from the stores.',
    );
  const cacheDir =
    typeof options.cacheDir === 'string' && options.cacheDir ? options.cacheDir : 'node_modules/.cache/nx-biome/board';
  const cache = options.cache === false ? undefined : createBoardCache(resolve(context.root, cacheDir));
  const { model, unknown, counts } = await collectBoard({
    config,
    environments,
    storeFor: (env) => d.storeFor(env),
    commitLog: commitLog ?? createCommitLog(context.root),
    projectRoots,
    now: d.now(),
    historyLimit,
    commitLimit,
    cache,
    progress: (line) => d.log(line),
  });
  const files = renderBoard(model);
  await writeSite(dir, files);
  d.log(
    `biome board: ${model.columns.length} biome(s) × ${model.projects.length} project(s), ${files.size} page(s) → ${join(relative(context.root, dir) || '.', 'index.html')}`,
  );
  d.log(
    `  read ${counts.read} object(s) from the store(s)${cache ? `, ${counts.reused} unchanged since the last build from ${cacheDir}` : ''}`,
  );
  if (unknown.length)
    d.log(`  note: the stores also hold ${unknown.join(', ')}, which belong to no configured environment`);
  return { dir, pages: [...files.keys()] };
}

export default async function biomeBoardExecutor(
  options: BiomeBoardExecutorSchema,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  return runExecutor('biome-board', async () => {
    await biomeBoardWith(options, context);
  });
}
