import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import type { EsBuildExecutorOptions } from '@nx/esbuild/executors';
import type { BuildOptions } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { batchTasks, BatchTask, BatchTaskResult, runBatch } from '../batch';
import { refuseAssetSymlinks } from './assets';

type Task = BatchTask<EsBuildExecutorOptions>;

/** Builds per esbuild call, and calls at a time: keeps a 200-service build well under 1 GiB. */
const CALL_SIZE = 25;
const CALLS_IN_FLIGHT = 2;

/**
 * @nx/esbuild's own option handling, loaded from its package by path: the
 * batch computes exactly the esbuild options `@nx/esbuild:esbuild` would use.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- @nx/esbuild's internals are not exported: load them by path (the smoke test checks the bytes) */
function nxEsbuildInternals() {
  const dir = dirname(require.resolve('@nx/esbuild/package.json'));
  const lib = join(dir, 'dist/src/executors/esbuild/lib');
  return {
    normalizeOptions: require(join(lib, 'normalize.js')).normalizeOptions as (
      o: EsBuildExecutorOptions,
      c: ExecutorContext,
    ) => Promise<Normalized>,
    buildEsbuildOptions: require(join(lib, 'build-esbuild-options.js')).buildEsbuildOptions as (
      format: string,
      o: Normalized,
      c: ExecutorContext,
    ) => BuildOptions,
    deleteOutputDir: require(join(dir, 'dist/src/utils/fs.js')).deleteOutputDir as (
      root: string,
      outputPath: string,
    ) => void,
    esbuild: require(require.resolve('esbuild', { paths: [dir] })) as typeof import('esbuild'),
  };
}
/* eslint-enable @typescript-eslint/no-require-imports */

interface Normalized extends EsBuildExecutorOptions {
  singleEntry: boolean;
  skipTypeCheck: boolean;
  thirdParty: boolean;
  format: ('cjs' | 'esm')[];
}

/** A build that can share one esbuild call with others: its entry, its output path without extension, and the rest of its options. */
interface Plan {
  task: Task;
  entry: string;
  out: string;
  shared: BuildOptions;
  key: string;
  normalized: Normalized;
}

/**
 * The key under which builds may share one esbuild call: every esbuild
 * option except the entry point and output file, and the tsconfig by content
 * and by what it extends (esbuild applies one tsconfig to a whole call).
 * Undefined when the tsconfig cannot be compared safely.
 */
function shareKey(shared: BuildOptions, tsconfig: string): string | undefined {
  let text: string;
  let parsed: { extends?: unknown; compilerOptions?: Record<string, unknown> };
  try {
    text = readFileSync(tsconfig, 'utf8');
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  // Paths relative to the file itself would mean different things in different folders.
  if (parsed.compilerOptions && ('baseUrl' in parsed.compilerOptions || 'paths' in parsed.compilerOptions))
    return undefined;
  const base =
    typeof parsed.extends === 'string' && parsed.extends.startsWith('.')
      ? resolve(dirname(tsconfig), parsed.extends)
      : parsed.extends;
  return createHash('sha256')
    .update(JSON.stringify([shared, text, base]))
    .digest('hex');
}

/**
 * Nx batch implementation of `esbuild`: every build task of a run in one
 * process, and builds with the same options (all but entry point and output
 * file) in one esbuild call with many entry points, so shared code (zod, the
 * workspace libraries) is parsed once. The options are those @nx/esbuild
 * computes, and each output is byte for byte what `@nx/esbuild:esbuild`
 * writes (checked by bench/bench.spec.ts). A task that needs more than a
 * bundle (type-check, package.json, watch, metafile, several formats) runs
 * @nx/esbuild's executor as it is; so does every member of a shared call
 * that fails, so that each failing project reports its own errors.
 */
export default async function* esbuildBatch(
  taskGraph: TaskGraph,
  inputs: Record<string, EsBuildExecutorOptions>,
  _overrides: EsBuildExecutorOptions,
  context: ExecutorContext,
): AsyncGenerator<BatchTaskResult> {
  const nx = nxEsbuildInternals();
  const { esbuildExecutor } = await import('@nx/esbuild/executors');
  const { copyAssets } = await import('@nx/js');
  const tasks = batchTasks(taskGraph, inputs, context);

  const runAlone = async (t: Task) => {
    let success = true;
    // esbuild prints its own messages; a failed build yields success: false.
    for await (const result of esbuildExecutor(t.options, t.context)) success &&= result.success;
    return success;
  };

  // Plan: what each task's esbuild call would be, and which calls can be one.
  const plans = new Map<string, Plan>();
  for (const t of tasks) {
    process.env.NODE_ENV ??= t.context.configurationName ?? 'production';
    const o = await nx.normalizeOptions(t.options, t.context).catch(() => undefined);
    if (
      !o ||
      o.watch ||
      !o.skipTypeCheck ||
      o.generatePackageJson ||
      o.metafile ||
      !o.bundle ||
      !o.thirdParty ||
      !o.singleEntry ||
      o.format.length !== 1
    )
      continue;
    const {
      entryPoints,
      outfile,
      tsconfig,
      entryNames: _names,
      ...shared
    } = nx.buildEsbuildOptions(o.format[0], o, t.context);
    const ext = shared.outExtension?.['.js'] ?? '.js';
    if (
      !Array.isArray(entryPoints) ||
      entryPoints.length !== 1 ||
      typeof entryPoints[0] !== 'string' ||
      !outfile?.endsWith(ext) ||
      !tsconfig ||
      shared.outdir
    )
      continue;
    const key = shareKey(shared, tsconfig);
    if (key)
      plans.set(t.id, {
        task: t,
        entry: entryPoints[0],
        out: outfile.slice(0, -ext.length),
        shared: { ...shared, tsconfig },
        key,
        normalized: o,
      });
  }

  // Assets reached through a symlink fail their task before anything is copied.
  const refused = new Map<string, unknown>();
  for (const t of tasks) await refuseAssetSymlinks(t.options, t.context).catch((e) => refused.set(t.id, e));
  for (const id of refused.keys()) plans.delete(id);

  // What the executor does before bundling: clear the output folder, copy assets.
  for (const p of plans.values()) {
    if (p.normalized.deleteOutputPath) nx.deleteOutputDir(p.task.context.root, p.normalized.outputPath);
    await copyAssets(p.normalized as Parameters<typeof copyAssets>[0], p.task.context);
  }

  // One esbuild call per group of at most CALL_SIZE builds (esbuild holds a
  // call's outputs in memory); call i starts when call i - CALLS_IN_FLIGHT ends.
  const byKey = new Map<string, Plan[]>();
  for (const p of plans.values()) byKey.set(p.key, [...(byKey.get(p.key) ?? []), p]);
  const calls: Plan[][] = [];
  for (const members of byKey.values())
    for (let i = 0; i < members.length; i += CALL_SIZE) calls.push(members.slice(i, i + CALL_SIZE));
  const callOf = new Map<string, Promise<boolean>>();
  const started: Promise<boolean>[] = [];
  for (const members of calls) {
    const slot = started.length >= CALLS_IN_FLIGHT ? started[started.length - CALLS_IN_FLIGHT] : Promise.resolve(true);
    const ok = slot
      .then(() =>
        nx.esbuild.build({
          ...members[0].shared,
          logLevel: 'silent',
          outdir: members[0].task.context.root,
          entryPoints: members.map((m) => ({ in: m.entry, out: m.out })),
        }),
      )
      .then(
        (r) => r.errors.length === 0,
        () => false,
      );
    started.push(ok);
    for (const m of members) callOf.set(m.task.id, ok);
  }

  yield* runBatch(
    tasks,
    Math.max(2, availableParallelism()) * 2,
    (t) => `build ${t.context.projectName}`,
    async (t) => {
      if (refused.has(t.id)) throw refused.get(t.id);
      const plan = plans.get(t.id);
      if (!plan) return runAlone(t);
      if (await callOf.get(t.id)) return true;
      // The shared call failed: build this project alone, so that its own errors are printed.
      return runAlone(t);
    },
  );
}
