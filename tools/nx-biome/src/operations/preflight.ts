import { DefaultBasePlan, planDefaultBase } from '../core/base';
import { WorkspaceConfig } from '../core/config';
import { BASE_RESOLVED_VARIABLE } from '../core/deploy-run';
import { biomeMetaKey } from '../core/ledger';
import { BiomeRef } from '../core/names';
import { RunSelection } from '../core/run-selection';
import { mergeBase, resolveCommit } from '../adapters/git';
import { realDeps, storeOf } from './context';
import { findBiomeBase } from './biome-base';
import { declaredDataSets, resolveDataSets } from '../core/settings';
import { BiomeError, isBiomeError } from '../core/errors';
import { DEPLOY_EXECUTOR } from '../core/deploy-run';
import type { ProjectGraph } from '@nx/devkit';

/**
 * What a deploy run checks once, before any task: that the biome's store URL
 * is valid and the store answers (credentials, bucket, network) with one
 * request, so that a problem is reported once instead of once per project after
 * every build; and, for `nx affected` without `--base`, the base that brings
 * the biome up to date (since its last complete deploy run).
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
}): Promise<DefaultBasePlan | undefined> {
  const { workspaceRoot: root, config, biome, run, env } = input;
  const deps = realDeps(root, config, env);
  const store = storeOf(deps, biome);
  await store.head(biomeMetaKey(biome.name));
  if (!run.affected || run.base !== undefined || run.customRange || env.NX_BASE || env[BASE_RESOLVED_VARIABLE]) return undefined;
  const { base, seed, mergedWithHead } = await findBiomeBase({ store, biome: biome.name, git: deps.git });
  const nxBase = await resolveCommit(root, input.nxDefaultBase);
  const head = await resolveCommit(root, 'HEAD');
  const nxBaseSha = nxBase && head ? await mergeBase(root, nxBase, head) : undefined;
  return planDefaultBase({ biome: biome.name, argv: input.argv, biomeBase: base, nxBaseSha, ...(seed ? { seed: { ...seed, mergedWithHead } } : {}) });
}

/**
 * The data sets that the run's deployable projects read (their `package`
 * target's `settings.dataSets`) all exist in the biome's environment; one
 * DATA_SET_UNKNOWN names every missing one before any task runs.
 */
export function checkDataSetsOf(graph: Pick<ProjectGraph, 'nodes'>, projects: string[] | undefined, biome: BiomeRef): void {
  const problems: BiomeError[] = [];
  for (const name of projects ?? Object.keys(graph.nodes)) {
    const targets = graph.nodes[name]?.data.targets;
    if (targets?.deploy?.executor !== DEPLOY_EXECUTOR) continue;
    const settings = (targets.package?.options as { settings?: Record<string, unknown> } | undefined)?.settings ?? {};
    try {
      resolveDataSets(biome.environment, name, declaredDataSets(name, settings));
    } catch (e) {
      if (!isBiomeError(e)) throw e;
      problems.push(e);
    }
  }
  if (problems.length === 1) throw problems[0];
  if (problems.length > 1) throw new BiomeError(problems[0].code, problems.map((p) => p.message).join('\n  '), problems[0].hint);
}
