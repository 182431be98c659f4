import { join } from 'node:path';
import { WorkspaceConfig } from '../core/config';
import { BiomeRef } from '../core/names';
import { renderTfvars, BiomeTfvars } from '../core/tfvars';
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
export async function renderBiomeTfvars(input: { store: StorePort; config: WorkspaceConfig; biome: BiomeRef; workspaceRoot: string; dryRun?: boolean }): Promise<{ path: string; tfvars: BiomeTfvars; warnings: string[] }> {
  const [records, meta] = await Promise.all([readLedger(input.store, input.biome.name), readBiomeMeta(input.store, input.biome.name)]);
  const { tfvars, warnings } = renderTfvars({ config: input.config, biome: input.biome, meta, records });
  const path = tfvarsPath(input.workspaceRoot, input.biome.name);
  if (!input.dryRun) await writeFileAtomic(path, `${JSON.stringify(tfvars, null, 2)}\n`);
  return { path, tfvars, warnings };
}
