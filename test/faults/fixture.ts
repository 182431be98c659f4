import type { ExecutorContext } from '@nx/devkit';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkspaceConfig } from '../../tools/nx-biome/src/core/config';
import { PackageManifest } from '../../tools/nx-biome/src/core/artifact';
import { ProjectKind } from '../../tools/nx-biome/src/core/names';
import { loadWorkspaceConfig } from '../../tools/nx-biome/src/adapters/workspace';
import { Deps, realDeps } from '../../tools/nx-biome/src/operations/context';
import { DeployResult } from '../../tools/nx-biome/src/operations/deploy';
import { deployExecutorWith } from '../../tools/nx-biome/src/executors/deploy/executor';
import { infraDeployWith } from '../../tools/nx-biome/src/executors/infra-deploy/executor';
import { packageProject } from '../../tools/nx-biome/src/executors/package/executor';

export const FIXTURE_CONFIG = {
  namePrefix: 'geo',
  sandpitTtlHours: 72,
  maxBiomeLength: 24,
  promotionOrder: ['dev', 'staging', 'prod'],
  environments: {
    dev: { account: '111111111111', region: 'ap-southeast-2', multiTenant: true },
    staging: { account: '222222222222', region: 'ap-southeast-2', multiTenant: false },
    prod: { account: '333333333333', region: 'ap-southeast-2', multiTenant: false },
  },
};

/** Incompressible but reproducible bytes, so an archive is about `size` bytes on the wire. */
export function noise(seed: string, size: number): Buffer {
  const out: Buffer[] = [];
  let block = createHash('sha256').update(seed).digest();
  for (let n = 0; n < size; n += block.length) {
    out.push(block);
    block = createHash('sha256').update(block).digest();
  }
  return Buffer.concat(out).subarray(0, size);
}

export interface FixtureProject {
  name: string;
  kind?: ProjectKind;
  /** Size of the (incompressible) build output. */
  bytes?: number;
}

/**
 * A minimal workspace on disk (nx-biome.json, a git repository, build
 * outputs) on which the plugin's real package, deploy and infra-deploy code
 * runs in-process: the deploy path of `nx run <p>:deploy` without Nx's
 * process overhead.
 */
export interface DeployFixture {
  root: string;
  projects: FixtureProject[];
  config: WorkspaceConfig;
  lines: string[];
  context(project?: string): ExecutorContext;
  deps(env: Record<string, string | undefined>): Deps;
  package(project: string): Promise<PackageManifest>;
  deploy(project: string, biome: string, env: Record<string, string | undefined>): Promise<DeployResult>;
  render(biome: string, env: Record<string, string | undefined>): Promise<void>;
  cleanup(): Promise<void>;
}

export async function createDeployFixture(
  projects: FixtureProject[],
  prefix = 'fault-fixture-',
): Promise<DeployFixture> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  await writeFile(join(root, 'nx-biome.json'), JSON.stringify(FIXTURE_CONFIG, null, 2));
  await writeFile(join(root, '.gitignore'), 'dist/\n.biome-store/\n');
  for (const p of projects) {
    await mkdir(join(root, 'apps/services', p.name), { recursive: true });
    await writeFile(join(root, 'apps/services', p.name, 'project.json'), JSON.stringify({ name: p.name }));
    const out = join(root, 'dist/apps/services', p.name);
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'index.js'), noise(p.name, p.bytes ?? 64 * 1024));
    if ((p.kind ?? 'service') === 'workflow')
      await writeFile(join(out, 'definition.asl.json'), '{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}');
  }
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' });
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'fixture@example.com');
  git('config', 'user.name', 'Fixture');
  git('add', '-A');
  git('commit', '-qm', 'fixture');
  const config = await loadWorkspaceConfig(root);
  const lines: string[] = [];
  const projectGraph = {
    nodes: Object.fromEntries(
      projects.map((p) => [p.name, { name: p.name, type: 'app', data: { root: `apps/services/${p.name}` } }]),
    ),
    dependencies: Object.fromEntries(projects.map((p) => [p.name, []])),
  };
  const context = (project?: string) =>
    ({
      root,
      cwd: root,
      isVerbose: false,
      projectName: project,
      projectGraph,
      projectsConfigurations: {
        version: 2,
        projects: Object.fromEntries(projects.map((p) => [p.name, { root: `apps/services/${p.name}` }])),
      },
    }) as unknown as ExecutorContext;
  const deps = (env: Record<string, string | undefined>): Deps => ({
    ...realDeps(root, config, env),
    log: (line) => lines.push(line),
  });
  const kindOf = (name: string) => projects.find((p) => p.name === name)?.kind ?? 'service';
  return {
    root,
    projects,
    config,
    lines,
    context,
    deps,
    package: (project) =>
      packageProject({ kind: kindOf(project), buildOutput: `dist/apps/services/${project}` }, context(project)),
    deploy: (project, biome, env) => deployExecutorWith({ biome }, context(project), () => deps(env)),
    render: (biome, env) => infraDeployWith({ biome }, context('infra'), deps(env)),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}
