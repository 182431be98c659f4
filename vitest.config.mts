import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// Workspace libraries resolve through the same tsconfig paths Nx and esbuild use.
const { compilerOptions } = JSON.parse(readFileSync(new URL('./tsconfig.base.json', import.meta.url), 'utf8'));
const alias = Object.entries(compilerOptions.paths as Record<string, string[]>).map(([find, [target]]) => ({ find, replacement: resolve(import.meta.dirname, target) }));

export default defineConfig({
  resolve: { alias },
  test: {
    globals: false,
    include: ['{apps,libs,tools,infra,test,bench}/**/*.spec.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', '**/files/**', 'bench/.work/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: end-to-end files run the Nx CLI, so keep the file parallelism modest.
    maxWorkers: 2,
  },
});
