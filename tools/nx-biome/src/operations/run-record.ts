import { BiomeRunRecord, parseRunRecord, runRecordKey } from '../core/base';
import { GitPort, resolveCommit } from '../adapters/git';
import { StorePort } from '../adapters/store/store';
import { putFenced, readIncarnation, withBiomeShared } from './ledger-store';

/**
 * The biome's last complete deploy run, if one is recorded for its current
 * incarnation (a malformed record, or one left from before a destroy, counts
 * as none).
 */
export async function readRunRecord(store: StorePort, biome: string): Promise<BiomeRunRecord | undefined> {
  const [body, incarnation] = await Promise.all([store.get(runRecordKey(biome)), readIncarnation(store, biome)]);
  const run = body ? parseRunRecord(body.toString('utf8'), biome) : undefined;
  return run && run.incarnation === incarnation ? run : undefined;
}

/**
 * Records that a deploy run brought every project of the biome up to
 * `gitSha`: under the biome's shared lease (as a deploy's records; destroy
 * holds it alone) and fenced by it, stamped with the biome's incarnation.
 */
export async function writeRunRecord(store: StorePort, record: Omit<BiomeRunRecord, 'incarnation'>): Promise<void> {
  await withBiomeShared(store, record.biome, async () => {
    const incarnation = await readIncarnation(store, record.biome);
    await putFenced(
      store,
      runRecordKey(record.biome),
      Buffer.from(`${JSON.stringify({ ...record, incarnation }, null, 2)}\n`),
    );
  });
}

/**
 * Whether a deploy run from `base` (a commit, or `all` for every project)
 * covered everything that changed since the biome's last complete run: `all`
 * does, a commit does when it is that run's commit or older.
 */
export async function coversSinceLastRun(
  store: StorePort,
  git: GitPort,
  biome: string,
  base: string,
): Promise<boolean> {
  if (base === 'all') return true;
  const last = await readRunRecord(store, biome);
  return !!last && (await git.isAncestor(base, last.gitSha)) === true;
}

/** Records a complete run of the biome at `gitSha` and says so. */
export async function recordCompleteRun(
  store: StorePort,
  input: { biome: string; gitSha: string; now: Date; projects: string[]; log: (line: string) => void },
): Promise<void> {
  await writeRunRecord(store, {
    biome: input.biome,
    gitSha: input.gitSha,
    finishedAt: input.now.toISOString(),
    projects: [...input.projects].sort(),
  });
  input.log(
    `${input.biome} is up to date at ${input.gitSha.slice(0, 8)}: the next nx-biome deploy (or nx affected without --base) starts from there.`,
  );
}

/**
 * The render step of a deploy split over several Nx runs (the CI fan-out),
 * which runs only once every part succeeded: records the run at HEAD when its
 * base covers everything since the biome's last complete run and no record
 * is dirty.
 */
export async function recordRunFrom(
  store: StorePort,
  deps: { git: GitPort; now(): Date; log(line: string): void },
  input: { workspaceRoot: string; biome: string; base: string; records: { project: string; dirty: boolean }[] },
): Promise<void> {
  const head = await resolveCommit(input.workspaceRoot, 'HEAD');
  if (
    !head ||
    input.records.some((r) => r.dirty) ||
    !(await coversSinceLastRun(store, deps.git, input.biome, input.base))
  )
    return;
  await recordCompleteRun(store, {
    biome: input.biome,
    gitSha: head,
    now: deps.now(),
    projects: input.records.map((r) => r.project),
    log: deps.log,
  });
}
