import { WorkspaceConfig } from '../core/config';
import { BiomeError } from '../core/errors';
import { historyKey, LedgerRecord, touchBiomeMeta } from '../core/ledger';
import { BiomeRef } from '../core/names';
import {
  artifactKeysAtSha,
  lastChangeProjects,
  parseShaPrefix,
  previousRecord,
  recordAtSha,
  rollbackRecord,
} from '../core/rollback';
import { sha256Hex } from '../adapters/archive';
import { StorePort } from '../adapters/store/store';
import { ciJobUrl, Deps, deployerName } from './context';
import { readHistory, readLedgerReport, updateBiomeMeta, writeRecord } from './ledger-store';
import { biomeScope, withLease } from './store-lock';
import { verifyArtifact } from './publish';
import { renderBiomeTfvars } from './render';
import { readBiomeSettings } from './settings';
import { resolveSettings } from '../core/settings';

export interface RollbackStep {
  project: string;
  current: LedgerRecord;
  /** The deployment restored; undefined when the project is kept (see `why`). */
  restore?: LedgerRecord;
  /** History key or artifact key the restored deployment came from. */
  from?: string;
  why?: string;
}

/** What `--to=<sha>` restores for one project: its history record at that commit, else a stored artifact of it. */
async function findAtSha(
  store: StorePort,
  current: LedgerRecord,
  history: LedgerRecord[],
  sha: string,
): Promise<{ restore: LedgerRecord; from: string } | undefined> {
  const recorded = recordAtSha(history, sha);
  if (recorded) return { restore: recorded, from: historyKey(recorded) };
  const keys = artifactKeysAtSha(
    (await store.list(`artifacts/${current.project}/`)).map((o) => o.key),
    current.project,
    sha,
  );
  const key = keys.find((k) => k.endsWith(current.kind === 'model' ? '.tar.gz' : '.zip'));
  if (!key) return undefined;
  const head = await store.head(key);
  const body = await store.get(key);
  if (!head || !body) return undefined;
  // Never recorded in this biome: its bytes come from the store, its settings stay the current ones.
  const sha256 = head.metadata?.sha256 ?? sha256Hex(body);
  const gitSha = /-([0-9a-f]{40})\.(zip|tar\.gz)$/.exec(key)![1];
  return { restore: { ...current, artifactKey: key, sha256, size: body.length, gitSha, dirty: false }, from: key };
}

/**
 * Plans and applies a rollback: each named project (or, with none named, the
 * projects of the biome's last change; with `--to`, every project) goes back
 * to its previous recorded deployment, or to the one at commit `to`. Every
 * artifact is checked (present, right sha256) before any record is written;
 * then the records are written (origin: rollback) and the tfvars re-rendered.
 */
export async function rollbackBiome(input: RollbackInput): Promise<{ steps: RollbackStep[]; tfvarsPath?: string }> {
  if (input.dryRun) return planAndApplyRollback(input);
  // Under the biome's lease: no sleep, promote or destroy of the biome in between.
  return withLease(input.store, biomeScope(input.biome.name), 'exclusive', () => planAndApplyRollback(input), {
    purpose: `rollback ${input.biome.name}`,
  });
}

interface RollbackInput {
  store: StorePort;
  config: WorkspaceConfig;
  biome: BiomeRef;
  projects?: string[];
  to?: string;
  deps: Deps;
  workspaceRoot: string;
  dryRun: boolean;
}

/**
 * The current records of a biome. A project whose current record fails
 * validation is reported and stands at its newest valid history record
 * (what the ledger held before it was damaged: history is written first).
 */
async function currentRecords(store: StorePort, biome: string, log: (line: string) => void): Promise<LedgerRecord[]> {
  const { records, invalid } = await readLedgerReport(store, biome);
  for (const bad of invalid) {
    const newest = (await readHistory(store, biome, bad.project)).pop();
    log(
      `warning: ${bad.error.message} ${newest ? `Taking its newest history record (${historyKey(newest)}) as current.` : 'It has no valid history record.'}`,
    );
    if (newest) records.push(newest);
  }
  return records.sort((a, b) => (a.project < b.project ? -1 : 1));
}

async function planAndApplyRollback(input: RollbackInput): Promise<{ steps: RollbackStep[]; tfvarsPath?: string }> {
  const { store, biome, deps } = input;
  const records = await currentRecords(store, biome.name, deps.log);
  if (records.length === 0) {
    throw new BiomeError(
      'BIOME_NOT_FOUND',
      `Biome ${biome.name} records no project in ${store.url}.`,
      `Check the name with nx run infra:biome-list --environment=${biome.environment.name}.`,
    );
  }
  const byProject = new Map(records.map((r) => [r.project, r]));
  const unknown = (input.projects ?? []).filter((p) => !byProject.has(p));
  if (unknown.length) {
    throw new BiomeError(
      'ROLLBACK_INVALID',
      `Biome ${biome.name} records no project ${unknown.join(', ')}.`,
      `Its projects: ${records.map((r) => r.project).join(', ')}.`,
    );
  }
  const sha = input.to === undefined ? undefined : parseShaPrefix(input.to);
  const named = !!input.projects?.length;
  const projects = named ? input.projects! : sha ? records.map((r) => r.project) : lastChangeProjects(records);

  const steps: RollbackStep[] = [];
  for (const project of projects) {
    const current = byProject.get(project)!;
    const history = await readHistory(store, biome.name, project);
    const found = sha
      ? await findAtSha(store, current, history, sha)
      : (() => {
          const restore = previousRecord(current, history);
          return restore && { restore, from: historyKey(restore) };
        })();
    if (!found) {
      const why = sha
        ? `the store holds no clean artifact of ${project} at ${sha}`
        : `${project} has no earlier deployment in ${biome.name}`;
      if (named)
        throw new BiomeError(
          'ROLLBACK_INVALID',
          `Cannot roll back ${project} in ${biome.name}: ${why}.`,
          `See its deployments with nx run infra:biome-show --biome=${biome.name}.`,
        );
      steps.push({ project, current, why });
    } else if (found.restore.sha256 === current.sha256 && found.restore.artifactKey === current.artifactKey) {
      steps.push({ project, current, why: `already at ${current.gitSha.slice(0, 8)}` });
    } else {
      steps.push({ project, current, ...found });
    }
  }
  const moves = steps.filter((s) => s.restore);
  if (moves.length === 0) {
    throw new BiomeError(
      'ROLLBACK_INVALID',
      `Nothing to roll back in ${biome.name}: ${steps.map((s) => s.why).join('; ')}.`,
      'Name a project (--projects=<p>) or a commit the store holds (--to=<sha>).',
    );
  }
  // Every artifact is present and intact before the ledger changes at all.
  for (const s of moves) await verifyArtifact(store, s.restore!.artifactKey, s.restore!.sha256);
  // The code goes back; the biome's settings layers (and its overrides) stay as they are now.
  const biomeSettings = await readBiomeSettings(store, input.config, biome);
  const resolved = new Map(
    moves.map((s) => [
      s.project,
      resolveSettings({
        config: input.config,
        biome,
        project: s.project,
        kind: s.restore!.kind,
        settings: s.restore!.settings,
        biomeSettings,
      }),
    ]),
  );
  if (input.dryRun) return { steps };

  const now = deps.now();
  const deployedBy = await deployerName(deps);
  for (const s of moves)
    await writeRecord(store, {
      ...rollbackRecord(s.restore!, {
        current: s.current,
        now,
        deployedBy,
        ciJobUrl: ciJobUrl(deps.env),
        from: s.from!,
      }),
      resolvedSettings: resolved.get(s.project),
    });
  await updateBiomeMeta(store, biome.name, (existing) =>
    touchBiomeMeta({
      existing,
      biome: biome.name,
      environment: biome.environment.name,
      sandpit: biome.sandpit,
      owner: deployedBy,
      now,
      ttlHours: input.config.sandpitTtlHours,
    }),
  );
  const { path } = await renderBiomeTfvars({ store, config: input.config, biome, workspaceRoot: input.workspaceRoot });
  return { steps, tfvarsPath: path };
}
