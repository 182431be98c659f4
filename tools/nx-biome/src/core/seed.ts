import { WorkspaceConfig } from './config';
import { BiomeError } from './errors';
import { BiomeMeta, LedgerRecord } from './ledger';
import { BiomeRef, parseBiomeName } from './names';
import type { ResolvedSettings } from './settings';

/**
 * The biome a sandpit is seeded from: `from` must be the main biome of the
 * sandpit's own environment (same store, same accounts), and only a sandpit
 * is seeded (a main biome is what others are seeded from).
 */
export function resolveSeedSource(config: WorkspaceConfig, target: BiomeRef, from: string): BiomeRef {
  if (typeof from !== 'string' || from === '')
    throw new BiomeError(
      'SEED_INVALID',
      '--from was given without a value.',
      `Pass --from=${target.environment.name} (the main biome of ${target.name}'s environment).`,
    );
  if (!target.sandpit) {
    throw new BiomeError(
      'SEED_INVALID',
      `${target.name} is the main biome of ${target.environment.name}; only sandpits are seeded.`,
      `Leave --from out, or seed a sandpit such as ${target.name}-bob.`,
    );
  }
  const source = parseBiomeName(from, config);
  if (source.name !== target.environment.name) {
    throw new BiomeError(
      'SEED_INVALID',
      `${target.name} can be seeded only from ${target.environment.name}, the main biome of its environment, not from ${source.name}.`,
      `Pass --from=${target.environment.name}.`,
    );
  }
  return source;
}

/** What seeding a sandpit does. */
export type SeedPlan =
  /** Copy these records (every project the sandpit lacks), then mark the sandpit seeded. */
  | { action: 'seed'; commit: string; records: LedgerRecord[]; kept: string[] }
  /** Nothing to copy: the sandpit was seeded already, deploys of its own, or the source records nothing. */
  | { action: 'skip'; reason: string };

/**
 * Plans the seed of a sandpit from its main biome: one record per project the
 * main biome runs, naming the same artifact key, sha256, size and commit
 * (`gitSha` stays the commit the bytes were built from), with the sandpit's
 * own resolved settings and `origin: {action: 'seed', from, commit}`, where
 * `commit` is the main biome's commit the sandpit starts at (its first
 * deploy is affected from there).
 *
 * A sandpit is seeded once: not when its biome.json says it was, nor when it
 * records a project of its own (a deploy, promotion, rollback or settings
 * change: seeding would replace what someone deployed). A seed cut short
 * (seed records, no mark yet) is finished: the projects it lacks are copied.
 */
export function planSeed(input: {
  source: BiomeRef;
  target: BiomeRef;
  sourceRecords: LedgerRecord[];
  targetRecords: LedgerRecord[];
  targetMeta?: BiomeMeta;
  /** The main biome's commit (chooseAffectedBase over its records). */
  commit?: string;
  now: Date;
  deployedBy: string;
  ciJobUrl?: string;
  resolve: (record: LedgerRecord) => ResolvedSettings;
}): SeedPlan {
  const { source, target } = input;
  if (input.targetMeta?.seed)
    return {
      action: 'skip',
      reason: `${target.name} was seeded from ${input.targetMeta.seed.from} at ${input.targetMeta.seed.commit.slice(0, 8)} already`,
    };
  const own = input.targetRecords.filter((r) => r.origin?.action !== 'seed');
  if (own.length > 0)
    return {
      action: 'skip',
      reason: `${target.name} already records ${own.length} project${own.length > 1 ? 's' : ''} of its own; a seed would replace them (destroy it first to start again from ${source.name})`,
    };
  if (input.sourceRecords.length === 0 || !input.commit)
    return {
      action: 'skip',
      reason: `${source.name} records no deployed project yet: nothing to seed, the first deploy deploys every project`,
    };
  const have = new Set(input.targetRecords.map((r) => r.project));
  const at = input.now.toISOString();
  const records = input.sourceRecords
    .filter((r) => !have.has(r.project))
    .map((r): LedgerRecord => {
      const { ciJobUrl: _ignored, sequence: _sequence, ...rest } = r;
      return {
        ...rest,
        biome: target.name,
        environment: target.environment.name,
        deployedAt: at,
        deployedBy: input.deployedBy,
        ...(input.ciJobUrl ? { ciJobUrl: input.ciJobUrl } : {}),
        origin: { action: 'seed', from: source.name, commit: input.commit! },
        resolvedSettings: input.resolve(r),
      };
    });
  return { action: 'seed', commit: input.commit, records, kept: [...have].sort() };
}
