import { DefaultBasePlan, planDefaultBase } from '../core/base';
import { WorkspaceConfig } from '../core/config';
import { BASE_RESOLVED_VARIABLE } from '../core/deploy-run';
import { biomeMetaKey } from '../core/ledger';
import { BiomeRef } from '../core/names';
import { RunSelection } from '../core/run-selection';
import { planNewBiome } from '../core/lifecycle';
import { GitPort, mergeBase, resolveCommit } from '../adapters/git';
import { StorePort } from '../adapters/store/store';
import { biomesOfEnvironment } from './lifecycle';
import { realDeps, storeOf } from './context';
import { findBiomeBase } from './biome-base';
import { declaredDataSets, resolveDataSets } from '../core/settings';
import { BiomeError, isBiomeError } from '../core/errors';
import { isDeployable, packageOptionsOf } from '../core/deploy-run';
import type { ProjectGraph } from '@nx/devkit';

/**
 * What a deploy run checks once, before any task: that the biome's store URL
 * is valid and the store answers (credentials, bucket, network) with one
 * request, so that a problem is reported once instead of once per project after
 * every build; and, for `nx affected` without `--base`, the base that brings
 * the biome up to date.
 */
export async function preflightDeploy(input: {
  workspaceRoot: string;
  config: WorkspaceConfig;
  biome: BiomeRef;
  run: RunSelection;
  argv: string[];
  /** nx.json's defaultBase: what `nx affected` compares with when no base is given. */
  nxDefaultBase: string;
  env: Record<string, string | undefined>;
}): Promise<{ plan?: DefaultBasePlan; note?: string }> {
  const { workspaceRoot: root, config, biome, env } = input;
  const deps = realDeps(root, config, env);
  const store = storeOf(deps, biome);
  const exists = await store.head(biomeMetaKey(biome.name));
  // A run started again with its base (rerun below) was checked the first time.
  const note = exists || env[BASE_RESOLVED_VARIABLE] ? undefined : await checkNewBiome(store, config, biome, env);
  return { plan: await planBase(input, store, deps.git), note };
}

/**
 * A deploy to a biome the store does not know: "new biome <b>", or, outside
 * a pipeline, a refusal when the name is a typing slip away from an existing
 * biome (planNewBiome). A biome with records but no biome.json exists.
 */
async function checkNewBiome(
  store: StorePort,
  config: WorkspaceConfig,
  biome: BiomeRef,
  env: Record<string, string | undefined>,
): Promise<string | undefined> {
  const { biomes } = await biomesOfEnvironment(store, config, biome.environment.name);
  const existing = biomes.map((b) => b.name);
  if (existing.includes(biome.name)) return undefined;
  // GitLab and CodeBuild jobs (MR and personal biomes) create theirs without asking.
  const pipeline = env.GITLAB_CI === 'true' || !!env.CODEBUILD_BUILD_ID;
  return planNewBiome({ biome, existing, pipeline, store: store.url }).message;
}

async function planBase(
  input: Parameters<typeof preflightDeploy>[0],
  store: StorePort,
  git: GitPort,
): Promise<DefaultBasePlan | undefined> {
  const { workspaceRoot: root, biome, run, env } = input;
  if (!run.affected || run.base !== undefined || run.customRange || env.NX_BASE || env[BASE_RESOLVED_VARIABLE])
    return undefined;
  const { base, seed, mergedWithHead } = await findBiomeBase({ store, biome: biome.name, git });
  const nxBase = await resolveCommit(root, input.nxDefaultBase);
  const head = await resolveCommit(root, 'HEAD');
  const nxBaseSha = nxBase && head ? await mergeBase(root, nxBase, head) : undefined;
  return planDefaultBase({
    biome: biome.name,
    argv: input.argv,
    biomeBase: base,
    nxBaseSha,
    ...(seed ? { seed: { ...seed, mergedWithHead } } : {}),
  });
}

/**
 * The data sets that the run's deployable projects read (their `package`
 * target's `settings.dataSets`) all exist in the biome's environment; one
 * DATA_SET_UNKNOWN names every missing one before any task runs.
 */
export function checkDataSetsOf(
  graph: Pick<ProjectGraph, 'nodes'>,
  projects: string[] | undefined,
  biome: BiomeRef,
): void {
  const problems: BiomeError[] = [];
  for (const name of projects ?? Object.keys(graph.nodes)) {
    const targets = graph.nodes[name]?.data.targets;
    if (!isDeployable(targets)) continue;
    // The settings deploy packages with: those of the project's package target, whatever it is called.
    const settings = packageOptionsOf(targets)?.settings ?? {};
    try {
      resolveDataSets(biome.environment, name, declaredDataSets(name, settings));
    } catch (e) {
      if (!isBiomeError(e)) throw e;
      problems.push(e);
    }
  }
  if (problems.length === 1) throw problems[0];
  if (problems.length > 1)
    throw new BiomeError(problems[0].code, problems.map((p) => p.message).join('\n  '), problems[0].hint);
}
