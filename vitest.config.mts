import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// Workspace libraries resolve through the same tsconfig paths Nx and esbuild use.
const { compilerOptions } = JSON.parse(readFileSync(new URL('./tsconfig.base.json', import.meta.url), 'utf8'));
const alias = Object.entries(compilerOptions.paths as Record<string, string[]>).map(([find, [target]]) => ({
  find,
  replacement: resolve(import.meta.dirname, target),
}));

export default defineConfig({
  resolve: { alias },
  test: {
    globals: false,
    include: ['{apps,libs,tools,infra,test,bench}/**/*.spec.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', '**/files/**', 'bench/.work/**'],
    // Sized for a loaded 2-core machine: an end-to-end test runs the real Nx CLI
    // several times, each ~5 s idle and up to ~40 s when other work shares the cores.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // s3rver (in the test processes) encrypts its ListObjectsV2 continuation tokens with DES, which Node's
    // OpenSSL 3 offers only through its legacy provider: without it, any listing past one page of 1,000 keys
    // fails with InternalError, which real S3 never does.
    execArgv: ['--openssl-legacy-provider'],
    // Two cores: end-to-end files run the Nx CLI, so keep the file parallelism modest.
    maxWorkers: 2,
  },
});
