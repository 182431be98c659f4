import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** Where every reliability and security test file writes its figures. */
export const FIGURES_DIR = resolve(__dirname, '../../dist/reliability');

export interface Figures {
  /** Faults injected: connection cuts, 503 SlowDown answers, delays, held responses, server and process kills. */
  faultsInjected: number;
  /** Bad inputs tried (names, configs, URLs, records, artifacts, files). */
  badInputs: number;
  /** Projects whose ledger record was expected after a run and is not there. */
  recordsLost: number;
  /** Ledger records pointing at a missing or partial artifact. */
  danglingRecords: number;
  /** Artifact objects in a store that are not complete. */
  partialArtifacts: number;
  /** Free-form details (per test). */
  notes: Record<string, unknown>;
}

/** Collects one test file's figures and writes them to dist/reliability/<name>.json. */
export function createFigures(name: string) {
  const figures: Figures = {
    faultsInjected: 0,
    badInputs: 0,
    recordsLost: 0,
    danglingRecords: 0,
    partialArtifacts: 0,
    notes: {},
  };
  return {
    figures,
    add(key: Exclude<keyof Figures, 'notes'>, n: number) {
      figures[key] += n;
    },
    note(key: string, value: unknown) {
      figures.notes[key] = value;
    },
    async write() {
      await mkdir(FIGURES_DIR, { recursive: true });
      await writeFile(
        join(FIGURES_DIR, `${name}.json`),
        `${JSON.stringify({ file: name, writtenAt: new Date().toISOString(), ...figures }, null, 2)}\n`,
      );
    },
  };
}
