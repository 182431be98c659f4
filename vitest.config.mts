import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globals: false,
    include: ['{apps,libs,tools,infra,test,bench}/**/*.spec.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', '**/files/**', 'bench/.work/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: end-to-end files run the Nx CLI, so keep the file parallelism modest.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
