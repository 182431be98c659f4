/*
 * One writer of the plugin's operations layer in its own process, for the
 * fencing tests: it stops ITSELF (SIGSTOP) at a named point inside its lease,
 * so the test can let the lease expire, let a competitor work, and SIGCONT it
 * at a moment it controls (no timing luck involved).
 * argv: <meta|deploy> <store url> <workspace root> <biome> [project content]
 *   meta:   updateBiomeMeta, stopping when it reads biome.json (inside the biome lease)
 *   deploy: deployProject, stopping when it lists the project's history (inside the collection lease)
 * Prints `CODE: message` of a BiomeError and exits 1; exits 0 when it wrote.
 */
import { isBiomeError } from '../../tools/nx-biome/src/core/errors';
import { parseBiomeName } from '../../tools/nx-biome/src/core/names';
import { openStore } from '../../tools/nx-biome/src/adapters/store/open-store';
import { StorePort } from '../../tools/nx-biome/src/adapters/store/store';
import { deployProject } from '../../tools/nx-biome/src/operations/deploy';
import { updateBiomeMeta } from '../../tools/nx-biome/src/operations/ledger-store';
import { FENCING_CONFIG, packagedFor } from './fencing-fixture';

/** The store, stopping this process once, just before the first request that `at` matches. */
function stoppingAt(store: StorePort, at: (call: string, key: string) => boolean): StorePort {
  let stopped = false;
  const stop = (call: string, key: string) => {
    if (stopped || !at(call, key)) return;
    stopped = true;
    process.stdout.write(`STOPPING at ${call} ${key}\n`);
    process.kill(process.pid, 'SIGSTOP');
  };
  return {
    url: store.url,
    bucket: store.bucket,
    head: (key, o) => (stop('head', key), store.head(key, o)),
    get: (key) => (stop('get', key), store.get(key)),
    put: (key, body, o) => (stop('put', key), store.put(key, body, o)),
    list: (prefix) => (stop('list', prefix), store.list(prefix)),
    delete: (keys) => store.delete(keys),
  };
}

async function main() {
  const [command, url, root, biomeName, project, content] = process.argv.slice(2);
  const biome = parseBiomeName(biomeName, FENCING_CONFIG);
  const real = openStore(url, root);
  if (command === 'meta') {
    const store = stoppingAt(real, (call, key) => call === 'get' && key.endsWith('/biome.json'));
    await updateBiomeMeta(store, biome.name, (meta) => ({ ...meta!, owner: 'stopped-writer' }));
  } else {
    const store = stoppingAt(real, (call, key) => call === 'list' && key.includes('/history/'));
    const p = packagedFor(project, content);
    await deployProject({
      store,
      config: FENCING_CONFIG,
      biome,
      manifest: p.manifest,
      readBody: async () => p.body,
      now: new Date(),
      deployedBy: 'stopped',
      allowDirty: false,
      dryRun: false,
    });
  }
  process.stdout.write('WROTE\n');
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stdout.write(
      isBiomeError(e) ? `${e.code}: ${e.message}\n` : `internal error: ${(e as Error)?.stack ?? String(e)}\n`,
    );
    process.exit(1);
  },
);
