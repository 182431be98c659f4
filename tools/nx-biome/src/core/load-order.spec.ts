import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CORE = __dirname;
const MODULES = readdirSync(CORE)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'))
  .map((f) => f.replace(/\.ts$/, ''));

/**
 * Node's own CommonJS loader (as Nx and the batch workers load the plugin),
 * not vitest's: each core module is required first in an empty module cache,
 * then used. With an import cycle, the module that comes first sees its
 * partner half-initialised (a constant still undefined), so which module a
 * program happened to load first decided whether it crashed.
 */
function loadEachFirst(): Record<string, string> {
  const script = `
    require('@swc-node/register');
    const out = {};
    for (const m of ${JSON.stringify(MODULES)}) {
      for (const k of Object.keys(require.cache)) if (k.startsWith(${JSON.stringify(CORE)})) delete require.cache[k];
      try {
        require(${JSON.stringify(CORE)} + '/' + m + '.ts');
        // Use what the cycle used to break: the biome settings schema and the config schema.
        const { parseBiomeSettings } = require(${JSON.stringify(CORE)} + '/settings.ts');
        const { parseWorkspaceConfig } = require(${JSON.stringify(CORE)} + '/config.ts');
        const config = parseWorkspaceConfig({ namePrefix: 'geo', promotionOrder: ['dev'], environments: { dev: { account: '111111111111', region: 'ap-southeast-2', multiTenant: true } } });
        const biome = { name: 'dev', environment: config.environments.dev, sandpit: false };
        parseBiomeSettings(JSON.stringify({ schemaVersion: 1, biome: 'dev', projects: { '*': { LOG_LEVEL: 'info' } } }), 'config.json', { config, biome });
        out[m] = 'ok';
      } catch (e) {
        out[m] = String(e && e.message || e);
      }
    }
    process.stdout.write(JSON.stringify(out));
  `;
  return JSON.parse(
    execFileSync(process.execPath, ['-e', script], { cwd: join(CORE, '../../../..'), encoding: 'utf8' }),
  );
}

describe('core modules load in any order', () => {
  it('every core module can be loaded first, and the settings and config schemas then work', () => {
    const results = loadEachFirst();
    expect(Object.keys(results).sort()).toEqual([...MODULES].sort());
    expect(Object.entries(results).filter(([, r]) => r !== 'ok')).toEqual([]);
  });
});
