import { WorkspaceConfig } from '../core/config';
import { BiomeError } from '../core/errors';
import { BiomeMeta, biomeMetaKey, LedgerRecord } from '../core/ledger';
import { biomesInKeys, BiomeSummary, planBiomeCreate, planBiomeSleep, summarizeBiome } from '../core/lifecycle';
import { BiomeRef, parseBiomeName } from '../core/names';
import { GitPort } from '../adapters/git';
import { StorePort } from '../adapters/store/store';
import { readBiomeMeta, readLedger, readLedgerReport, updateBiomeMeta } from './ledger-store';
import { renderBiomeTfvars } from './render';

/**
 * The biomes of one environment found in a store. A store may be shared by
 * several environments (one BIOME_STORE for all), so the biome's name decides
 * where it belongs; names that no longer parse are reported, not guessed.
 * `names`: the biome names when the caller found them otherwise (the
 * folders below `biomes/`), instead of one listing of every key.
 */
export async function biomesOfEnvironment(
  store: StorePort,
  config: WorkspaceConfig,
  environment: string,
  names?: string[],
): Promise<{ biomes: BiomeRef[]; unknown: string[] }> {
  const biomes: BiomeRef[] = [];
  const unknown: string[] = [];
  for (const name of names ?? biomesInKeys((await store.list('biomes/')).map((o) => o.key))) {
    let ref: BiomeRef;
    try {
      ref = parseBiomeName(name, config);
    } catch {
      unknown.push(name);
      continue;
    }
    if (ref.environment.name === environment) biomes.push(ref);
  }
  return { biomes, unknown };
}

/** A biome's metadata, records and the subjects of their commits; BIOME_NOT_FOUND when the store has neither. */
export async function readBiome(
  store: StorePort,
  biome: BiomeRef,
  git: GitPort,
): Promise<{ meta?: BiomeMeta; records: LedgerRecord[]; subjects: Map<string, string> }> {
  const [meta, records] = await Promise.all([readBiomeMeta(store, biome.name), readLedger(store, biome.name)]);
  if (!meta && records.length === 0) {
    throw new BiomeError(
      'BIOME_NOT_FOUND',
      `Biome ${biome.name} does not exist in ${store.url}.`,
      `List the biomes with nx run infra:biome-list --environment=${biome.environment.name}, or create it with nx run infra:biome-create --biome=${biome.name}.`,
    );
  }
  return { meta, records, subjects: await git.commitSubjects(records.map((r) => r.gitSha)) };
}

/** A stored object that failed validation: reported and skipped, repaired with biome-repair. */
export interface StoreProblem {
  biome: string;
  key: string;
  message: string;
}

/**
 * A biome's metadata and valid records, with what failed validation reported
 * instead of thrown: one bad object never hides the other biomes.
 */
export async function readBiomeTolerant(
  store: StorePort,
  biome: string,
): Promise<{ meta?: BiomeMeta; records: LedgerRecord[]; problems: StoreProblem[] }> {
  const problems: StoreProblem[] = [];
  const [meta, ledger] = await Promise.all([
    readBiomeMeta(store, biome).catch((e) => {
      if (!(e instanceof BiomeError)) throw e;
      problems.push({ biome, key: biomeMetaKey(biome), message: e.message });
      return undefined;
    }),
    readLedgerReport(store, biome),
  ]);
  for (const bad of ledger.invalid) problems.push({ biome, key: bad.key, message: bad.error.message });
  return { meta, records: ledger.records, problems };
}

/** Summaries of every biome of an environment, sorted by name, and the objects that failed validation. */
export async function summarizeEnvironment(input: {
  store: StorePort;
  config: WorkspaceConfig;
  environment: string;
  git: GitPort;
  now: Date;
}): Promise<{ summaries: BiomeSummary[]; unknown: string[]; problems: StoreProblem[] }> {
  const { biomes, unknown } = await biomesOfEnvironment(input.store, input.config, input.environment);
  const summaries = await Promise.all(
    biomes.map(async (biome) => ({ biome, ...(await readBiomeTolerant(input.store, biome.name)) })),
  );
  const subjects = await input.git.commitSubjects(summaries.flatMap((s) => s.records.map((r) => r.gitSha)));
  return {
    summaries: summaries.map((s) => summarizeBiome({ ...s, subjects, now: input.now })),
    unknown,
    problems: summaries.flatMap((s) => s.problems),
  };
}

/** Creates or extends a biome (see planBiomeCreate); writes nothing on a dry run. */
export async function createBiome(input: {
  store: StorePort;
  biome: BiomeRef;
  owner?: string;
  defaultOwner: string;
  ttlHours: number;
  ttlGiven?: boolean;
  now: Date;
  dryRun: boolean;
}): Promise<{ action: 'created' | 'extended'; meta: BiomeMeta; previous?: BiomeMeta }> {
  if (input.dryRun) {
    const previous = await readBiomeMeta(input.store, input.biome.name);
    return { ...planBiomeCreate({ ...input, existing: previous }), previous };
  }
  let result: { action: 'created' | 'extended'; meta: BiomeMeta; previous?: BiomeMeta } | undefined;
  await updateBiomeMeta(input.store, input.biome.name, (previous) => {
    result = { ...planBiomeCreate({ ...input, existing: previous }), previous };
    return result.meta;
  });
  return result!;
}

/**
 * Puts a biome to sleep or wakes it, then re-renders its tfvars (which carry
 * `asleep`, so Terraform scales the biome to zero and back).
 */
export async function sleepBiome(input: {
  store: StorePort;
  config: WorkspaceConfig;
  biome: BiomeRef;
  asleep: boolean;
  workspaceRoot: string;
  dryRun: boolean;
}): Promise<{ changed: boolean; path: string }> {
  let plan = planBiomeSleep({
    meta: await readBiomeMeta(input.store, input.biome.name),
    biome: input.biome,
    asleep: input.asleep,
  });
  if (!input.dryRun) {
    // Decided again under the biome's lease, on the metadata as it is then.
    await updateBiomeMeta(input.store, input.biome.name, (meta) => {
      plan = planBiomeSleep({ meta, biome: input.biome, asleep: input.asleep });
      return plan.changed ? plan.meta : undefined;
    });
  }
  const { path } = await renderBiomeTfvars({
    store: input.store,
    config: input.config,
    biome: input.biome,
    workspaceRoot: input.workspaceRoot,
    dryRun: input.dryRun,
  });
  return { changed: plan.changed, path };
}
