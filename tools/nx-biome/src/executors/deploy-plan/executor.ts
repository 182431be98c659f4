import type { ExecutorContext } from '@nx/devkit';
import { join } from 'node:path';
import { DeployPlan, PlanProject, planDeploy, shardProjects } from '../../core/deploy-plan';
import { isDeployable } from '../../core/deploy-run';
import { BiomeError } from '../../core/errors';
import { deployTargetOf } from '../../core/inferred-targets';
import { parseBiomeName, ProjectKind } from '../../core/names';
import { assertNotShallow } from '../../adapters/git';
import { createNxCli, NxCliPort } from '../../adapters/nx-cli';
import { loadWorkspaceConfig, sourceBytes, workspaceOutputPath, writeFileAtomic } from '../../adapters/workspace';
import { Deps, realDeps, storeOf } from '../../operations/context';
import { findBiomeBase } from '../../operations/biome-base';
import { requireBiomeOption, runExecutor } from '../run';

export interface DeployPlanOptions {
  biome: string;
  base?: string;
  fallback?: string;
  head?: string;
  shards?: number;
  /** Cap on the default K (the slots of a fixed batch graph). */
  maxShards?: number;
  shard?: number;
  outputFile?: string;
}

export interface DeployPlanDeps extends Deps {
  nx: NxCliPort;
  /** Writes the result (stdout by default: one line, nothing else from this executor). */
  print(text: string): void;
}

const KINDS = new Set<ProjectKind>(['service', 'workflow', 'model']);

/** Deployable projects of the graph (tag `deployable`) with their kind (tag `kind:<kind>`). */
function deployables(context: ExecutorContext): Map<string, { kind: ProjectKind; root: string }> {
  // The deploy target by its executor, whatever the plugin's deployTargetName calls it.
  const out = new Map<string, { kind: ProjectKind; root: string }>();
  for (const [name, node] of Object.entries(context.projectGraph?.nodes ?? {})) {
    const tags = node.data.tags ?? [];
    const kind = tags.find((t) => t.startsWith('kind:'))?.slice(5) as ProjectKind | undefined;
    if (tags.includes('deployable') && kind && KINDS.has(kind) && isDeployable(node.data.targets))
      out.set(name, { kind, root: node.data.root });
  }
  return out;
}

/** Reads the biome's base, the affected deployables and their sizes, and plans the shards. */
export async function deployPlanWith(
  options: DeployPlanOptions,
  context: ExecutorContext,
  deps?: DeployPlanDeps,
): Promise<DeployPlan> {
  const config = await loadWorkspaceConfig(context.root);
  const biome = parseBiomeName(requireBiomeOption(options.biome), config);
  const d: DeployPlanDeps = deps ?? {
    ...realDeps(context.root, config),
    nx: createNxCli(context.root),
    print: (t) => process.stdout.write(`${t}\n`),
  };
  for (const [name, v] of [
    ['shards', options.shards],
    ['maxShards', options.maxShards],
    ['shard', options.shard],
  ] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1))
      throw new BiomeError(
        'OPTIONS_INVALID',
        `--${name}=${v} is not a whole number from 1.`,
        `Pass --${name}=1 or more.`,
      );
  }
  const outputFile = options.outputFile
    ? workspaceOutputPath(context.root, 'outputFile', options.outputFile)
    : undefined;
  await assertNotShallow(d.git);

  let base = options.base;
  if (!base) {
    base = (
      await findBiomeBase({
        store: storeOf(d, biome),
        biome: biome.name,
        git: d.git,
        fallback: options.fallback ?? 'all',
      })
    ).base!;
  }
  const head = options.head ?? 'HEAD';
  const graph = deployables(context);
  const target = deployTargetOf(context.nxJsonConfiguration?.plugins);
  const names = await d.nx.projectsWithTarget(target, base === 'all' ? undefined : { base, head });
  const projects: PlanProject[] = [];
  for (const name of names) {
    const p = graph.get(name);
    if (p) projects.push({ name, kind: p.kind, sourceBytes: await sourceBytes(join(context.root, p.root)) });
  }
  const plan = planDeploy({
    biome: biome.name,
    base,
    head,
    projects,
    shards: options.shards,
    settings: options.maxShards
      ? { ...config.fanout, maxShards: Math.min(config.fanout.maxShards, options.maxShards) }
      : config.fanout,
  });
  // A shard slot beyond K (a fixed batch graph with more slots than needed) has nothing to do.
  const text =
    options.shard === undefined
      ? JSON.stringify(plan)
      : options.shard > plan.shardCount && options.shards === undefined
        ? ''
        : shardProjects(plan, options.shard).join(',');
  if (outputFile) await writeFileAtomic(outputFile, `${text}\n`);
  d.print(text);
  return plan;
}

export default async function deployPlanExecutor(
  options: DeployPlanOptions,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  return runExecutor('deploy-plan', async () => {
    await deployPlanWith(options, context);
  });
}
