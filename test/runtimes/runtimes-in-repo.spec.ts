import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ESBUILD_TARGET } from '../../tools/nx-biome/src/core/inferred-targets';
import { checkLambdaRuntime, DEFAULT_LAMBDA_RUNTIME, esbuildTargetFor } from '../../tools/nx-biome/src/core/runtimes';
import { WORKSPACE_ROOT } from '../support/workspace';

function files(dir: string, ext: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.name.startsWith('.')
      ? []
      : e.isDirectory()
        ? files(join(dir, e.name), ext)
        : e.name.endsWith(ext)
          ? [join(dir, e.name)]
          : [],
  );
}

/**
 * Every Lambda runtime the repository names (Terraform literals and defaults,
 * each service's settings) is one Lambda still accepts today, and each
 * service's bundle targets the Node.js of its runtime.
 */
describe('runtimes named in the repository', () => {
  const today = new Date().toISOString();

  it('Terraform names only current Node.js runtimes (the account-level functions and the module default)', () => {
    const found: string[] = [];
    for (const file of files(join(WORKSPACE_ROOT, 'infra'), '.tf')) {
      for (const m of readFileSync(file, 'utf8').matchAll(/"(nodejs[0-9]+\.x)"/g)) {
        found.push(`${relative(WORKSPACE_ROOT, file)}: ${m[1]}`);
        expect(() =>
          checkLambdaRuntime({ project: relative(WORKSPACE_ROOT, file), runtime: m[1], today }),
        ).not.toThrow();
      }
    }
    expect(found).toEqual(
      expect.arrayContaining([
        `infra/modules/lambda-service/variables.tf: ${DEFAULT_LAMBDA_RUNTIME}`,
        `infra/stacks/shared/artifact-deployer.tf: ${DEFAULT_LAMBDA_RUNTIME}`,
        `infra/stacks/shared/schema-manager.tf: ${DEFAULT_LAMBDA_RUNTIME}`,
      ]),
    );
  });

  it("each service builds for the Node.js of its runtime (settings.runtime, else the default; the inferred build targets the default's)", () => {
    expect(ESBUILD_TARGET).toBe(esbuildTargetFor(DEFAULT_LAMBDA_RUNTIME));
    const services = readdirSync(join(WORKSPACE_ROOT, 'apps/services'));
    expect(services.length).toBeGreaterThan(0);
    for (const name of services) {
      const project = JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'apps/services', name, 'project.json'), 'utf8'));
      const runtime = project.targets.package?.options?.settings?.runtime ?? DEFAULT_LAMBDA_RUNTIME;
      // A project.json build option overrides the inferred one (Nx merges it over the inferred target).
      expect(project.targets.build?.options?.target ?? ESBUILD_TARGET, name).toBe(esbuildTargetFor(runtime));
      expect(() => checkLambdaRuntime({ project: name, runtime, today })).not.toThrow();
    }
  });
});
