import { WorkspaceConfig } from '../core/config';
import { BiomeError } from '../core/errors';
import { biomeMetaKey, historyPrefix } from '../core/ledger';
import { BiomeRef } from '../core/names';
import { planBiomeRepair, RepairAction } from '../core/repair';
import { StorePort } from '../adapters/store/store';
import { readBiomeMeta, readHistoryReport, readLedgerReport, writeBiomeMeta, writeCurrentRecord } from './ledger-store';
import { renderBiomeTfvars } from './render';
import { assertLeasesHeld, biomeScope, withLease } from './store-lock';

/**
 * Finds the objects of a biome (or of one project in it) that fail
 * validation and repairs them (see planBiomeRepair), under the biome's lease;
 * then re-renders its tfvars. A dry run only plans.
 */
export async function repairBiome(input: {
  store: StorePort;
  config: WorkspaceConfig;
  biome: BiomeRef;
  project?: string;
  workspaceRoot: string;
  now: Date;
  dryRun: boolean;
}): Promise<{ actions: RepairAction[]; tfvarsPath?: string }> {
  const run = async () => {
    const { store, biome } = input;
    const ledger = await readLedgerReport(store, biome.name);
    const badLedger = ledger.invalid
      .filter((b) => !input.project || b.project === input.project)
      .map((b) => ({ key: b.key, project: b.project, why: b.error.message }));
    const projects = input.project
      ? [input.project]
      : [
          ...new Set([
            ...ledger.records.map((r) => r.project),
            ...ledger.invalid.map((b) => b.project),
            ...(await historyProjects(store, biome.name)),
          ]),
        ];
    const badHistory: { key: string; why: string }[] = [];
    const newestHistory = new Map<string, { key: string; record: (typeof ledger.records)[number] }>();
    for (const project of projects) {
      const history = await readHistoryReport(store, biome.name, project);
      badHistory.push(...history.invalid.map((b) => ({ key: b.key, why: b.error.message })));
      if (history.records.length)
        newestHistory.set(project, { key: history.keys.at(-1)!, record: history.records.at(-1)! });
    }
    let badMeta: { key: string; text: string; why: string } | undefined;
    if (!input.project) {
      const error = await readBiomeMeta(store, biome.name).then(
        () => undefined,
        (e) => e,
      );
      if (error && !(error instanceof BiomeError)) throw error;
      if (error)
        badMeta = {
          key: biomeMetaKey(biome.name),
          text: (await store.get(biomeMetaKey(biome.name)))?.toString('utf8') ?? '',
          why: error.message,
        };
    }
    const actions = planBiomeRepair({
      biome,
      badMeta,
      badLedger,
      badHistory,
      newestHistory,
      records: ledger.records,
      now: input.now,
      ttlHours: input.config.sandpitTtlHours,
    });
    if (input.dryRun || actions.length === 0) return { actions };
    for (const a of actions) {
      if (a.kind === 'restore') await writeCurrentRecord(store, a.record);
      else if (a.kind === 'remove') {
        await assertLeasesHeld(store);
        await store.delete([a.key]);
      } else await writeBiomeMeta(store, a.meta);
    }
    const { path } = await renderBiomeTfvars({
      store,
      config: input.config,
      biome,
      workspaceRoot: input.workspaceRoot,
    });
    return { actions, tfvarsPath: path };
  };
  if (input.dryRun) return run();
  return withLease(input.store, biomeScope(input.biome.name), 'exclusive', run, {
    purpose: `repair ${input.biome.name}`,
  });
}

/** Projects that have history in a biome (a project may have lost its current record). */
async function historyProjects(store: StorePort, biome: string): Promise<string[]> {
  const prefix = historyPrefix(biome, '').slice(0, -1);
  return [...new Set((await store.list(prefix)).map((o) => o.key.slice(prefix.length).split('/')[0]))];
}
