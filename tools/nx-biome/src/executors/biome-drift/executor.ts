import type { ExecutorContext } from '@nx/devkit';
import { join } from 'node:path';
import { DriftReport, explainUnchecked, renderDriftTable } from '../../core/drift';
import { BiomeError } from '../../core/errors';
import { parseBiomeName } from '../../core/names';
import { loadWorkspaceConfig, writeFileAtomic } from '../../adapters/workspace';
import { createWorkloadProbe, WorkloadProbe } from '../../adapters/workload';
import { Deps, realDeps, storeOf } from '../../operations/context';
import { checkDrift } from '../../operations/drift';
import { requireBiomeOption, runExecutor } from '../run';
import type { BiomeDriftExecutorSchema } from './schema';

function concurrencyOption(value: unknown): number {
  if (value === undefined) return 4;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 32) {
    throw new BiomeError(
      'OPTIONS_INVALID',
      `--concurrency must be a whole number from 1 to 32, got ${JSON.stringify(value)}.`,
      'Pass e.g. --concurrency=4 (the SDK retries throttled calls).',
    );
  }
  return value;
}

/**
 * Checks a biome's workload account against its ledger and prints the table
 * (or JSON). Throws DRIFT_DETECTED when something differs or is missing, and
 * DRIFT_UNCHECKED when AWS could not answer for some project (not drift).
 */
export async function biomeDriftWith(
  options: BiomeDriftExecutorSchema,
  context: ExecutorContext,
  deps?: Deps,
  probe?: WorkloadProbe,
): Promise<DriftReport> {
  const config = await loadWorkspaceConfig(context.root);
  const biome = parseBiomeName(requireBiomeOption(options.biome), config);
  const concurrency = concurrencyOption(options.concurrency);
  const d = deps ?? realDeps(context.root, config);
  const report = await checkDrift({
    store: storeOf(d, biome),
    config,
    biome,
    git: d.git,
    probe: probe ?? createWorkloadProbe({ region: biome.environment.region, env: d.env }),
    now: d.now(),
    concurrency,
  });
  if (options.outputFile)
    await writeFileAtomic(join(context.root, options.outputFile), `${JSON.stringify(report, null, 2)}\n`);
  if (options.json) d.log(JSON.stringify(report, null, 2));
  else {
    const count = (s: string) => report.rows.filter((r) => r.status === s).length;
    d.log(
      `drift check of ${biome.name} (account ${biome.environment.account}, ${biome.environment.region}): ${count('ok')} ok, ${count('drift')} drifted, ${count('missing')} missing, ${count('unchecked')} not checked`,
    );
    if (report.rows.length) d.log(renderDriftTable(report));
  }
  const bad = report.rows.filter((r) => r.status === 'drift' || r.status === 'missing');
  if (bad.length) {
    throw new BiomeError(
      'DRIFT_DETECTED',
      `${bad.length} project(s) in ${biome.name} do not run what the ledger records: ${bad.map((r) => `${r.project} (${r.status})`).join(', ')}.`,
      `Find who changed them (the "since" column, CloudTrail), then re-apply the biome: nx run infra:deploy --biome=${biome.name} --apply, or roll back the ledger if the account is right.`,
    );
  }
  const unchecked = report.rows.filter((r) => r.status === 'unchecked');
  if (unchecked.length) {
    throw new BiomeError(
      'DRIFT_UNCHECKED',
      `${unchecked.length} project(s) in ${biome.name} could not be checked (this is not drift): ${unchecked.map((r) => `${r.project}: ${r.detail}`).join('; ')}.`,
      explainUnchecked(unchecked, biome),
    );
  }
  return report;
}

export default async function biomeDriftExecutor(
  options: BiomeDriftExecutorSchema,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  return runExecutor('biome-drift', async () => {
    await biomeDriftWith(options, context);
  });
}
