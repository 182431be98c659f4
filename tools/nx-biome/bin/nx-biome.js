#!/usr/bin/env node
// `npx nx-biome deploy --biome=dev-bob`: the biome's base, then one Nx deploy command (what CI runs).
// Machine-readable answers without Nx's banners on stdout: `npx nx-biome base --biome=dev-bob`,
// `npx nx-biome show --biome=dev-bob | jq`, `npx nx-biome list | jq`. See src/cli.ts. Runs the compiled
// plugin (dist/), rebuilt first if src/ changed since the last build (build.js).
require('../build').ensureBuilt();
require('../dist/cli.js')
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));
