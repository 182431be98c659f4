// Prints the figures the reliability and security tests wrote to dist/reliability/ (node test/faults/summarize-figures.mjs).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(import.meta.dirname, '../../dist/reliability');
const keys = ['faultsInjected', 'badInputs', 'recordsLost', 'danglingRecords', 'partialArtifacts'];
const total = Object.fromEntries(keys.map((k) => [k, 0]));
for (const file of readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()) {
  const f = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  console.log(`${f.file.padEnd(14)} ${keys.map((k) => `${k}=${f[k]}`).join(' ')}  (${f.writtenAt})`);
  for (const k of keys) total[k] += f[k];
}
console.log(`${'total'.padEnd(14)} ${keys.map((k) => `${k}=${total[k]}`).join(' ')}`);
