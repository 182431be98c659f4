/**
 * Fan-out planning: split the deployables a run must deploy into K shards of
 * about equal cost, so K machines (CodeBuild batch builds, GitLab parallel
 * jobs) each deploy one shard and a final step renders the biome from its
 * whole ledger. Pure: the projects, their sizes and the settings come in.
 */
import { BiomeError } from './errors';
import type { ProjectKind } from './names';

/** One deployable with what its cost is estimated from. */
export interface PlanProject {
  name: string;
  kind: ProjectKind;
  /** Bytes of the project's source files (bundled code, ASL, model files). */
  sourceBytes: number;
}

export interface DeployShard {
  /** 1-based, as CodeBuild and GitLab number parallel jobs. */
  index: number;
  projects: string[];
  /** Estimated seconds of work on one core. */
  cost: number;
}

export interface DeployPlan {
  biome: string;
  /** The commit the affected set is computed from, or "all". */
  base: string;
  head: string;
  shardCount: number;
  projects: number;
  cost: number;
  shards: DeployShard[];
}

export interface FanoutSettings {
  projectsPerShard: number;
  maxShards: number;
}

/**
 * Seconds of work per project, measured on the bench machine (docs/scale-out.md):
 * a fixed part per kind (task process, hashing, archive, publish, ledger) and
 * a part per source byte (esbuild and deflate for services, deflate for models).
 */
export const COST_MODEL: Record<ProjectKind, { fixed: number; perMiB: number }> = {
  service: { fixed: 0.35, perMiB: 2.0 },
  workflow: { fixed: 0.15, perMiB: 0.5 },
  model: { fixed: 0.25, perMiB: 0.6 },
};

/** Estimated seconds of one project's build, package and deploy. */
export function estimateCost(project: PlanProject): number {
  const m = COST_MODEL[project.kind];
  return m.fixed + (m.perMiB * project.sourceBytes) / (1024 * 1024);
}

/** K for a number of projects: one shard per `projectsPerShard`, at most `maxShards`, never more than projects. */
export function defaultShardCount(projects: number, settings: FanoutSettings): number {
  if (projects <= 0) return 1;
  return Math.max(1, Math.min(settings.maxShards, Math.ceil(projects / settings.projectsPerShard), projects));
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/**
 * Splits projects into `shardCount` shards by estimated cost: longest
 * processing time first (each project, most expensive first, to the least
 * loaded shard). Deterministic: ties go by name and shard index, so every
 * machine that plans the same input gets the same shards. Empty shards stay
 * (a fixed batch graph may have more slots than projects).
 */
export function planShards(projects: PlanProject[], shardCount: number): DeployShard[] {
  if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > 100) {
    throw new BiomeError(
      'OPTIONS_INVALID',
      `--shards=${shardCount} is not a shard count.`,
      'Pass a whole number from 1 to 100, or leave it out for the default (fanout in nx-biome.json).',
    );
  }
  const names = new Set<string>();
  for (const p of projects) {
    if (names.has(p.name))
      throw new BiomeError('OPTIONS_INVALID', `Project ${p.name} is listed twice.`, 'List each project once.');
    names.add(p.name);
  }
  const shards: DeployShard[] = Array.from({ length: shardCount }, (_, i) => ({ index: i + 1, projects: [], cost: 0 }));
  const ordered = projects
    .map((p) => ({ name: p.name, cost: estimateCost(p) }))
    .sort((a, b) => b.cost - a.cost || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const p of ordered) {
    let target = shards[0];
    for (const s of shards) if (s.cost < target.cost - 1e-9) target = s;
    target.projects.push(p.name);
    target.cost += p.cost;
  }
  for (const s of shards) {
    s.projects.sort();
    s.cost = round(s.cost);
  }
  return shards;
}

/** The whole plan of a deploy run, with K from the settings unless given. */
export function planDeploy(input: {
  biome: string;
  base: string;
  head: string;
  projects: PlanProject[];
  shards?: number;
  settings: FanoutSettings;
}): DeployPlan {
  const shardCount = input.shards ?? defaultShardCount(input.projects.length, input.settings);
  const shards = planShards(input.projects, shardCount);
  return {
    biome: input.biome,
    base: input.base,
    head: input.head,
    shardCount,
    projects: input.projects.length,
    cost: round(shards.reduce((t, s) => t + s.cost, 0)),
    shards,
  };
}

/** The projects of shard `index` (1-based) of a plan. */
export function shardProjects(plan: DeployPlan, index: number): string[] {
  const shard = plan.shards.find((s) => s.index === index);
  if (!shard)
    throw new BiomeError(
      'OPTIONS_INVALID',
      `--shard=${index} is not a shard of this plan (1-${plan.shardCount}).`,
      `Pass --shard from 1 to ${plan.shardCount}, with the same --shards as the other shards.`,
    );
  return shard.projects;
}
