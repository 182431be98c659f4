import { defineConfig } from 'vitest/config';
import base from './vitest.config.mts';

// The fast lane (`npm run test:unit`: about 23 CPU s, well under a minute on an idle 2-core machine): the
// plugin's own tests (pure core, operations against temp-folder stores and temp git repositories, adapters,
// executors, generators on a virtual tree), the apps' and libraries' unit tests and the lint rules. Nothing here
// runs the Nx CLI or Terraform, or copies the workspace; `npm test` runs everything, this included.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['tools/nx-biome/**/*.spec.ts', 'libs/**/*.spec.ts', 'apps/**/*.spec.ts', 'test/lint/**/*.spec.ts'],
  },
});
