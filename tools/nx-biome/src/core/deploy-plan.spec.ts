import { describe, expect, it } from 'vitest';
import { defaultShardCount, estimateCost, PlanProject, planDeploy, planShards, shardProjects } from './deploy-plan';

const MiB = 1024 * 1024;
const svc = (name: string, mib = 0.01): PlanProject => ({ name, kind: 'service', sourceBytes: mib * MiB });

describe('deploy fan-out plan', () => {
  it('K follows the project count: one shard per projectsPerShard, capped, never more than projects', () => {
    const settings = { projectsPerShard: 50, maxShards: 8 };
    expect(defaultShardCount(0, settings)).toBe(1);
    expect(defaultShardCount(3, settings)).toBe(1);
    expect(defaultShardCount(51, settings)).toBe(2);
    expect(defaultShardCount(200, settings)).toBe(4);
    expect(defaultShardCount(5000, settings)).toBe(8);
    expect(defaultShardCount(3, { projectsPerShard: 1, maxShards: 8 })).toBe(3);
  });

  it('every project lands in exactly one shard; the costs are balanced (longest first to the least loaded)', () => {
    const projects = [
      svc('big', 4),
      svc('mid', 2),
      svc('mid2', 2),
      ...Array.from({ length: 20 }, (_, i) => svc(`s${String(i).padStart(2, '0')}`)),
    ];
    const shards = planShards(projects, 3);
    expect(shards.map((s) => s.index)).toEqual([1, 2, 3]);
    expect(shards.flatMap((s) => s.projects).sort()).toEqual(projects.map((p) => p.name).sort());
    const costs = shards.map((s) => s.cost);
    const total = projects.reduce((t, p) => t + estimateCost(p), 0);
    // LPT is within 4/3 of the optimum; the optimum is at least the mean and the largest job.
    expect(Math.max(...costs)).toBeLessThanOrEqual((4 / 3) * Math.max(total / 3, estimateCost(projects[0])) + 1e-6);
    expect(shards.find((s) => s.projects.includes('big'))!.projects).not.toContain('mid');
  });

  it('is deterministic whatever the input order, so every shard machine plans the same split', () => {
    const projects = Array.from({ length: 30 }, (_, i) => svc(`p${i}`, (i % 7) / 10));
    const a = planShards(projects, 4);
    const b = planShards([...projects].reverse(), 4);
    expect(b).toEqual(a);
  });

  it('keeps empty shards when K exceeds the projects (a fixed batch graph), and models and workflows cost by kind', () => {
    const shards = planShards([svc('a'), { name: 'wf', kind: 'workflow', sourceBytes: 1000 }], 4);
    expect(shards.map((s) => s.projects.length)).toEqual([1, 1, 0, 0]);
    expect(estimateCost({ name: 'm', kind: 'model', sourceBytes: 100 * MiB })).toBeGreaterThan(
      estimateCost(svc('s', 1)),
    );
  });

  it('the plan carries biome, base, head, K and a shard lookup; bad K or shard is refused with the fix', () => {
    const plan = planDeploy({
      biome: 'dev-x',
      base: 'all',
      head: 'abc',
      projects: [svc('a'), svc('b'), svc('c')],
      settings: { projectsPerShard: 2, maxShards: 8 },
    });
    expect(plan).toMatchObject({ biome: 'dev-x', base: 'all', head: 'abc', shardCount: 2, projects: 3 });
    expect([...shardProjects(plan, 1), ...shardProjects(plan, 2)].sort()).toEqual(['a', 'b', 'c']);
    expect(() => shardProjects(plan, 3)).toThrow(
      expect.objectContaining({ code: 'OPTIONS_INVALID', hint: expect.stringContaining('1 to 2') }),
    );
    expect(() => planShards([svc('a')], 0)).toThrow(expect.objectContaining({ code: 'OPTIONS_INVALID' }));
    expect(() => planShards([svc('a'), svc('a')], 1)).toThrow(/listed twice/);
  });
});
