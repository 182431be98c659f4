import { join } from 'node:path';
import { WorkspaceConfig } from '../core/config';
import { BiomeRef } from '../core/names';
import { renderTfvars, BiomeTfvars } from '../core/tfvars';
import { LedgerRecord } from '../core/ledger';
import { StorePort } from '../adapters/store/store';
import { writeFileAtomic } from '../adapters/workspace';
import { BiomeError } from '../core/errors';
import { readBiomeMeta, readLedgerEntries, refreshLedgerIndex } from './ledger-store';
import { checkStoredArtifact } from './publish';

/** Where a biome's Terraform variables are written. */
export function tfvarsPath(workspaceRoot: string, biome: string): string {
  return join(workspaceRoot, 'dist', 'terraform', `${biome}.tfvars.json`);
}

/**
 * Checks that the store holds every record's artifact as recorded: one HEAD
 * per record, all at once (the store's own checksum where it has one, else
 * the ETag against the MD5 recorded at upload, else size and sha256
 * metadata, and then the bytes are read; see checkStoredArtifact). Records already in `verified` are not
 * asked again. ARTIFACT_UNVERIFIED lists every project whose artifact is
 * missing or holds other bytes.
 */
export async function verifyRecordedArtifacts(
  store: StorePort,
  biome: string,
  records: LedgerRecord[],
  verified = new Set<string>(),
): Promise<void> {
  const id = (r: LedgerRecord) => `${r.artifactKey}\0${r.sha256}\0${r.size}`;
  const checked = await Promise.all(
    records
      .filter((r) => !verified.has(id(r)))
      .map(async (r) => ({ r, state: await checkStoredArtifact(store, r.artifactKey, r, { readUnvouched: true }) })),
  );
  const bad = checked.filter((c) => c.state !== 'same');
  for (const c of checked) if (c.state === 'same') verified.add(id(c.r));
  if (bad.length === 0) return;
  const lines = bad.map(
    ({ r, state }) =>
      `  ${r.project}: ${r.artifactKey} ${state === 'absent' ? 'is missing' : `holds other bytes than the recorded sha256 ${r.sha256.slice(0, 12)}… (${r.size} bytes)`}`,
  );
  const projects = bad
    .map((b) => b.r.project)
    .sort()
    .join(',');
  throw new BiomeError(
    'ARTIFACT_UNVERIFIED',
    `${store.url}: ${bad.length} record(s) of biome ${biome} name an artifact the store does not hold as recorded, so no tfvars were written:\n${lines.join('\n')}`,
    `Deploy them again (nx run-many -t deploy --biome=${biome} --projects=${projects}): a missing artifact is uploaded anew. An artifact holding other bytes was altered after it was recorded: delete that object from the store first (or roll the project back).`,
  );
}

/**
 * Renders `dist/terraform/<biome>.tfvars.json` from the biome's whole ledger
 * (never from the projects of the current run alone), after checking that the
 * store holds every record's artifact as recorded (`verify`, on unless the
 * render only feeds a `terraform destroy`): a missing or altered artifact
 * fails the render and nothing is written. A dry run checks nothing. The same
 * render refuses (RUNTIME_DEPRECATED) a service on a Lambda runtime that Lambda
 * has deprecated `now`, so no plan or apply starts; not a render for a destroy
 * (`verify` false), which must stay possible.
 */
export async function renderBiomeTfvars(input: {
  store: StorePort;
  config: WorkspaceConfig;
  biome: BiomeRef;
  workspaceRoot: string;
  dryRun?: boolean;
  verify?: boolean;
  now?: Date;
  /** Artifacts the caller has just verified as verifyRecordedArtifacts does (it fills the set): not asked again. */
  verified?: Set<string>;
}): Promise<{ path: string; tfvars: BiomeTfvars; records: LedgerRecord[]; warnings: string[] }> {
  const verify = input.verify ?? true;
  const verified = input.verified ?? new Set<string>();
  const render = async () => {
    const [entries, meta] = await Promise.all([
      readLedgerEntries(input.store, input.biome.name),
      readBiomeMeta(input.store, input.biome.name),
    ]);
    const bad = entries.find((e) => e.error);
    if (bad) throw bad.error;
    const records = entries.flatMap((e) => (e.record ? [e.record] : []));
    if (verify && !input.dryRun) await verifyRecordedArtifacts(input.store, input.biome.name, records, verified);
    const today = verify ? (input.now ?? new Date()).toISOString() : undefined;
    const out = renderTfvars({ config: input.config, biome: input.biome, meta, records, today });
    return { ...out, entries, records, text: `${JSON.stringify(out.tfvars, null, 2)}\n` };
  };
  const path = tfvarsPath(input.workspaceRoot, input.biome.name);
  let result = await render();
  if (input.dryRun) return { path, tfvars: result.tfvars, records: result.records, warnings: result.warnings };
  // Written now, not only at the end: the read-back below (and the next run) then reads one index, not every record.
  await refreshLedgerIndex(input.store, input.biome.name, result.entries);
  // Another deploy of the biome may record a project between our read and our
  // write, and its own render may land before ours: read the ledger again after
  // writing, and write again until the file matches the ledger (bounded).
  for (let pass = 0; pass < 5; pass++) {
    await writeFileAtomic(path, result.text);
    const again = await render();
    if (again.text === result.text) {
      result = again;
      break;
    }
    result = again;
  }
  // The next reader of this ledger (the next run's deploys and render) reads one index instead of every record.
  await refreshLedgerIndex(input.store, input.biome.name, result.entries);
  return { path, tfvars: result.tfvars, records: result.records, warnings: result.warnings };
}
