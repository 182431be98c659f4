import { join } from 'node:path';
import { WorkspaceConfig } from '../core/config';
import { BiomeRef } from '../core/names';
import { renderTfvars, BiomeTfvars } from '../core/tfvars';
import { LedgerRecord } from '../core/ledger';
import { StorePort } from '../adapters/store/store';
import { writeFileAtomic } from '../adapters/workspace';
import { readBiomeMeta, readLedger } from './ledger-store';

/** Where a biome's Terraform variables are written. */
export function tfvarsPath(workspaceRoot: string, biome: string): string {
  return join(workspaceRoot, 'dist', 'terraform', `${biome}.tfvars.json`);
}

/**
 * Renders `dist/terraform/<biome>.tfvars.json` from the biome's whole ledger
 * (never from the projects of the current run alone).
 */
export async function renderBiomeTfvars(input: { store: StorePort; config: WorkspaceConfig; biome: BiomeRef; workspaceRoot: string; dryRun?: boolean }): Promise<{ path: string; tfvars: BiomeTfvars; records: LedgerRecord[]; warnings: string[] }> {
  const render = async () => {
    const [records, meta] = await Promise.all([readLedger(input.store, input.biome.name), readBiomeMeta(input.store, input.biome.name)]);
    const out = renderTfvars({ config: input.config, biome: input.biome, meta, records });
    return { ...out, records, text: `${JSON.stringify(out.tfvars, null, 2)}\n` };
  };
  const path = tfvarsPath(input.workspaceRoot, input.biome.name);
  let result = await render();
  if (input.dryRun) return { path, tfvars: result.tfvars, records: result.records, warnings: result.warnings };
  // Another deploy of the biome may record a project between our read and our
  // write, and its own render may land before ours: read the ledger again after
  // writing, and write again until the file matches the ledger (bounded).
  for (let pass = 0; pass < 5; pass++) {
    await writeFileAtomic(path, result.text);
    const again = await render();
    if (again.text === result.text) break;
    result = again;
  }
  return { path, tfvars: result.tfvars, records: result.records, warnings: result.warnings };
}
