import type { ExecutorContext } from '@nx/devkit';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Buildspec,
  CodeBuildOptions,
  planCodeBuildRequest,
  validateBuildspec,
  defaultCodeBuildProject,
} from '../../core/codebuild';
import { requireExplicitStores } from '../../core/ci-store';
import { BiomeError } from '../../core/errors';
import { parseBiomeName } from '../../core/names';
import { renderTable } from '../../core/table';
import { CodeBuildPort, createCodeBuild } from '../../adapters/codebuild';
import { createGit, GitPort } from '../../adapters/git';
import { loadWorkspaceConfig } from '../../adapters/workspace';
import { runBuildspecLocally, runInCodeBuild } from '../../operations/codebuild';
import { CodeBuildBatchPort, createCodeBuildBatch } from '../../adapters/codebuild-batch';
import { runBatchInCodeBuild } from '../../operations/codebuild-batch';
import { biomeBaseWith } from '../biome-base/executor';
import { runExecutor } from '../run';

/** The outside world of the runner; tests pass a CodeBuild client aimed at a local double. */
export interface CodeBuildRunnerDeps {
  codebuild: CodeBuildPort;
  /** Batch builds; default: the SDK client. */
  batch?: CodeBuildBatchPort;
  git: GitPort;
  env: Record<string, string | undefined>;
  now(): number;
  sleep(ms: number): Promise<void>;
  log(line: string): void;
  output?: (chunk: string) => void;
}

function realRunnerDeps(root: string): CodeBuildRunnerDeps {
  return {
    codebuild: createCodeBuild(),
    git: createGit(root),
    env: process.env,
    now: () => Date.now(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    log: (line) => console.log(line),
  };
}

/** Reads and validates a buildspec of the workspace. */
export async function readBuildspec(root: string, path: string): Promise<Buildspec> {
  const text = await readFile(join(root, path), 'utf8').catch(() => {
    throw new BiomeError(
      'OPTIONS_INVALID',
      `Buildspec ${path} does not exist.`,
      'Use deploy, promote, destroy or a path under buildspecs/.',
    );
  });
  const { parse } = await import('yaml');
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new BiomeError(
      'OPTIONS_INVALID',
      `Buildspec ${path} is not valid YAML: ${(e as Error).message}`,
      'Fix the YAML syntax.',
    );
  }
  return validateBuildspec(doc, path);
}

/**
 * Runs a buildspec in CodeBuild (or, with --local, in a shell here) for a
 * biome at a commit, following it to the end.
 */
export async function codebuildWith(
  options: CodeBuildOptions,
  context: ExecutorContext,
  deps: CodeBuildRunnerDeps = realRunnerDeps(context.root),
): Promise<void> {
  if (options.retryBatch) {
    // A retry reruns the batch's failed builds with the batch's own variables and commit.
    const projectName = options.codebuildProject ?? deps.env.CODEBUILD_PROJECT ?? options.retryBatch.split(':')[0];
    await runBatchInCodeBuild(
      {
        retry: options.retryBatch,
        projectName,
        timeoutSeconds: options.timeoutSeconds ?? 3600,
        pollSeconds: options.pollSeconds ?? 10,
      },
      { ...deps, batch: deps.batch ?? createCodeBuildBatch() },
    );
    return;
  }
  const config =
    options.biome !== undefined || options.local || options.to !== undefined
      ? await loadWorkspaceConfig(context.root)
      : undefined;
  const biome = options.biome !== undefined ? parseBiomeName(options.biome, config!) : undefined;
  if (!options.codebuildProject && !deps.env.CODEBUILD_PROJECT && !options.local && config) {
    // The devops stack's project for this buildspec and biome; a main-biome project fixes its buildspec and variables.
    const project = defaultCodeBuildProject({
      namePrefix: config.namePrefix,
      buildspec: options.buildspec,
      biome,
      to: options.to,
    });
    if (project)
      options = { ...options, codebuildProject: project.name, fixedProject: options.fixedProject ?? project.fixed };
  }
  const request = planCodeBuildRequest(options, deps.env, await deps.git.headSha());
  if (options.local && config) {
    // A local run in GitLab CI or CodeBuild stores for real or not at all: refuse before any phase runs.
    const vars = { ...deps.env, ...Object.fromEntries(request.variables.map((v) => [v.name, v.value])) };
    const from = options.from ? parseBiomeName(options.from, config) : undefined;
    const environments = [biome?.environment.name, from?.environment.name, options.to].filter((e): e is string => !!e);
    requireExplicitStores(config, environments, vars);
  }
  // The buildspec is read and checked here too, so a broken file fails before CodeBuild is asked.
  const spec = await readBuildspec(context.root, request.buildspec);
  if (options.dryRun) {
    const where = options.local
      ? 'run locally'
      : `start CodeBuild project ${request.projectName} at ${request.sourceVersion}`;
    deps.log(`[dry-run] would ${where}: ${request.buildspec} (${spec.phases.map((p) => p.name).join(' → ')})`);
    deps.log(
      renderTable(
        ['variable', 'value'],
        request.variables.map((v) => [v.name, v.value]),
      ),
    );
    return;
  }
  if (options.batchBuild) {
    if (options.local)
      throw new BiomeError(
        'OPTIONS_INVALID',
        '--batchBuild runs in CodeBuild, not --local.',
        'Run one build of the graph locally instead, e.g. --local --variables=SHARD_INDEX=1 --variables=BASE=<sha>.',
      );
    // Every shard must deploy from the same base; the ledger moves as they finish, so it is read once, here.
    if (options.biome && !request.variables.some((v) => v.name === 'BASE')) {
      const base = await biomeBaseWith({ biome: options.biome, fallback: options.baseFallback ?? 'all' }, context);
      request.variables = [...request.variables, { name: 'BASE', value: base }].sort((a, b) =>
        a.name < b.name ? -1 : 1,
      );
    }
    await runBatchInCodeBuild({ request }, { ...deps, batch: deps.batch ?? createCodeBuildBatch() });
    return;
  }
  if (options.local)
    await runBuildspecLocally(spec, request, {
      cwd: context.root,
      env: deps.env,
      now: deps.now,
      log: deps.log,
      output: deps.output,
    });
  else await runInCodeBuild(request, deps);
}

export default async function codebuildExecutor(
  options: CodeBuildOptions,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  return runExecutor('codebuild', () => codebuildWith(options, context));
}
