import { WorkspaceConfig } from '../core/config';
import { canonicalJson, LedgerRecord } from '../core/ledger';
import { BiomeRef } from '../core/names';
import {
  BiomeSettings,
  biomeSettingsKey,
  parseBiomeSettings,
  planSettingsChange,
  ResolvedSettings,
  resolveSettings,
  SettingsChange,
} from '../core/settings';
import { StorePort } from '../adapters/store/store';
import { putFenced, readLedger, writeRecord } from './ledger-store';
import { biomeScope, withLease } from './store-lock';
import { renderBiomeTfvars } from './render';

/** A biome's own settings layer (`biomes/<biome>/config.json`), if it has one. */
export async function readBiomeSettings(
  store: StorePort,
  config: WorkspaceConfig,
  biome: BiomeRef,
): Promise<BiomeSettings | undefined> {
  const key = biomeSettingsKey(biome.name);
  const body = await store.get(key);
  return body ? parseBiomeSettings(body.toString('utf8'), `${store.url} ${key}`, { config, biome }) : undefined;
}

/** The settings a project runs with in a biome, from its project defaults and the environment and biome layers. */
export async function resolveProjectSettings(input: {
  store: StorePort;
  config: WorkspaceConfig;
  biome: BiomeRef;
  project: string;
  kind: LedgerRecord['kind'];
  settings: Record<string, unknown>;
}): Promise<ResolvedSettings> {
  const biomeSettings = await readBiomeSettings(input.store, input.config, input.biome);
  return resolveSettings({ ...input, biomeSettings });
}

/** A record that changes only in its resolved settings: same artifact, same commit. */
export interface SettingsUpdate {
  project: string;
  before?: ResolvedSettings;
  record: LedgerRecord;
}

/**
 * Re-resolves every record of a biome against the given biome layer (and the
 * current environment layer): the records whose resolved settings change,
 * as new records that keep their artifact, sha256 and commit.
 */
export function planSettingsUpdates(input: {
  config: WorkspaceConfig;
  biome: BiomeRef;
  records: LedgerRecord[];
  biomeSettings?: BiomeSettings;
  now: Date;
  by: string;
}): SettingsUpdate[] {
  const updates: SettingsUpdate[] = [];
  for (const r of input.records) {
    const resolved = resolveSettings({
      config: input.config,
      biome: input.biome,
      project: r.project,
      kind: r.kind,
      settings: r.settings,
      biomeSettings: input.biomeSettings,
    });
    if (canonicalJson(resolved) === canonicalJson(r.resolvedSettings)) continue;
    const { ciJobUrl: _old, ...rest } = r;
    updates.push({
      project: r.project,
      before: r.resolvedSettings,
      record: {
        ...rest,
        resolvedSettings: resolved,
        deployedAt: input.now.toISOString(),
        deployedBy: input.by,
        origin: { action: 'configure' },
      },
    });
  }
  return updates;
}

/**
 * Changes a biome's settings layer and puts it live without building
 * anything: writes `biomes/<b>/config.json`, writes a new record (same
 * artifact) for every project whose resolved settings change, and re-renders
 * the biome's tfvars from the ledger. A dry run writes nothing.
 */
export async function configureBiome(input: {
  store: StorePort;
  config: WorkspaceConfig;
  biome: BiomeRef;
  change: SettingsChange;
  workspaceRoot: string;
  now: Date;
  by: string;
  ciJobUrl?: string;
  dryRun: boolean;
}): Promise<{
  next: BiomeSettings;
  changed: boolean;
  notSet: { project: string; key: string }[];
  updates: SettingsUpdate[];
  tfvarsPath: string;
  warnings: string[];
}> {
  const { store, config, biome } = input;
  const configure = async () => {
    const [current, records] = await Promise.all([
      readBiomeSettings(store, config, biome),
      readLedger(store, biome.name),
    ]);
    const plan = planSettingsChange({ current, change: input.change, config, biome, now: input.now, by: input.by });
    const updates = planSettingsUpdates({
      config,
      biome,
      records,
      biomeSettings: plan.next,
      now: input.now,
      by: input.by,
    }).map((u) => ({ ...u, record: { ...u.record, ...(input.ciJobUrl ? { ciJobUrl: input.ciJobUrl } : {}) } }));
    if (!input.dryRun) {
      // The layer first: a crash after it leaves records that the next run (or any deploy) brings in line.
      if (plan.changed)
        await putFenced(store, biomeSettingsKey(biome.name), Buffer.from(`${JSON.stringify(plan.next, null, 2)}\n`));
      for (const u of updates) await writeRecord(store, u.record);
    }
    return { plan, updates };
  };
  // Read, decided and written under the biome's lease held alone: two biome-config runs, or a
  // deploy resolving its settings (under the shared lease), never interleave with it.
  const { plan, updates } = input.dryRun
    ? await configure()
    : await withLease(store, biomeScope(biome.name), 'exclusive', configure, { purpose: `biome-config ${biome.name}` });
  const rendered = await renderBiomeTfvars({
    store,
    config,
    biome,
    workspaceRoot: input.workspaceRoot,
    dryRun: input.dryRun,
  });
  return { ...plan, updates, tfvarsPath: rendered.path, warnings: rendered.warnings };
}
