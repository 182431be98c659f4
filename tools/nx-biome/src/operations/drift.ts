import { DriftReport, DriftTarget, judgeDrift, planDriftTargets, summarizeDrift } from '../core/drift';
import { WorkspaceConfig } from '../core/config';
import { BiomeRef } from '../core/names';
import { StorePort } from '../adapters/store/store';
import { WorkloadProbe } from '../adapters/workload';
import { GitPort } from '../adapters/git';
import { readBiome } from './lifecycle';

/** Probes one target with the call that fits its kind. */
function observe(probe: WorkloadProbe, t: DriftTarget) {
  if (t.lambda) return probe.lambda(t.lambda.functionName);
  if (t.stateMachine) return probe.stateMachine(t.stateMachine.arn, t.stateMachine.aliasArn);
  return probe.model(t.model!.bucket, t.model!.key);
}

/**
 * Compares a biome's ledger with its workload account: reads the ledger,
 * names every resource as the tfvars do, probes them a few at a time (the
 * SDK retries throttling), and judges each project.
 */
export async function checkDrift(input: {
  store: StorePort;
  config: WorkspaceConfig;
  biome: BiomeRef;
  git: GitPort;
  probe: WorkloadProbe;
  now: Date;
  concurrency?: number;
}): Promise<DriftReport> {
  const { meta, records } = await readBiome(input.store, input.biome, input.git);
  const targets = planDriftTargets({ config: input.config, biome: input.biome, meta, records });
  const rows = new Array(targets.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(input.concurrency ?? 4, targets.length) }, async () => {
      while (next < targets.length) {
        const i = next++;
        rows[i] = judgeDrift(targets[i], await observe(input.probe, targets[i]));
      }
    }),
  );
  return summarizeDrift({ biome: input.biome, now: input.now, rows });
}
