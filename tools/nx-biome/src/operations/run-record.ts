import { BiomeRunRecord, chooseAffectedBase, parseRunRecord, runRecordKey } from '../core/base';
import { BiomeRef } from '../core/names';
import { GitPort } from '../adapters/git';
import { StorePort } from '../adapters/store/store';

/** The biome's last complete deploy run, if one is recorded (a malformed record counts as none). */
export async function readRunRecord(store: StorePort, biome: string): Promise<BiomeRunRecord | undefined> {
  const body = await store.get(runRecordKey(biome));
  return body ? parseRunRecord(body.toString('utf8'), biome) : undefined;
}

/** Records that a deploy run brought every project of the biome up to `gitSha`. */
export async function writeRunRecord(store: StorePort, record: BiomeRunRecord): Promise<void> {
  await store.put(runRecordKey(record.biome), Buffer.from(`${JSON.stringify(record, null, 2)}\n`), { contentType: 'application/json' });
}

/**
 * The base of the biome's next `nx affected -t deploy`: the commit of its
 * last complete run when this clone has it, else `fallback`. One piece of
 * code for `nx-biome base`, `nx-biome deploy`, `infra:biome-base`, the CI
 * fan-out plan and the headline command's pre-run check.
 */
export async function readBiomeBase(store: StorePort, git: GitPort, biome: BiomeRef, fallback?: string): Promise<{ base?: string; from: 'run' | 'fallback' | 'none' }> {
  const run = await readRunRecord(store, biome.name);
  const known = run ? await git.commitSubjects([run.gitSha]) : new Map<string, string>();
  return chooseAffectedBase(run, (sha) => known.has(sha), fallback);
}
