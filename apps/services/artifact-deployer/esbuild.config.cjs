// esbuild options of the artifact deployer's bundle (used instead of esbuildOptions).
//
// The deployer reuses the plugin's pure core (src/core) to validate ledger
// records. That core is side-effect free by rule (STYLE.md), but esbuild cannot
// know it, so it would keep modules the deployer never calls (the zod schema of
// nx-biome.json alone is ~450 KB). Declaring them side-effect free lets esbuild
// drop whatever is unused: the bundle stays ~20 KB.
const { resolve, sep } = require('node:path');

const pluginCore = resolve(__dirname, '../../../tools/nx-biome/src/core') + sep;

/** @type {import('esbuild').Plugin} */
const pureCore = {
  name: 'nx-biome-core-is-pure',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\// }, async (args) => {
      if (args.pluginData === pureCore.name) return undefined;
      const r = await build.resolve(args.path, {
        resolveDir: args.resolveDir,
        kind: args.kind,
        importer: args.importer,
        pluginData: pureCore.name,
      });
      if (r.errors.length > 0 || !r.path.startsWith(pluginCore))
        return r.errors.length > 0
          ? { errors: r.errors }
          : { path: r.path, namespace: r.namespace, external: r.external };
      return { path: r.path, namespace: r.namespace, sideEffects: false };
    });
  },
};

module.exports = {
  outExtension: { '.js': '.js' },
  legalComments: 'none',
  sourcemap: false,
  preserveSymlinks: true,
  plugins: [pureCore],
};
