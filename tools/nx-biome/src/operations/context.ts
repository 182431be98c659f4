import { userInfo } from 'node:os';
import { requireExplicitStore } from '../core/ci-store';
import { resolveStoreUrl, WorkspaceConfig } from '../core/config';
import { BiomeRef } from '../core/names';
import { createGit, GitPort } from '../adapters/git';
import { openStore } from '../adapters/store/open-store';
import { StorePort } from '../adapters/store/store';

/**
 * The outside world an executor acts on. Executors take it as a parameter
 * with the real one as default, so tests pass real-but-local parts.
 */
export interface Deps {
  /** Opens the store of an environment (by name). */
  storeFor(environment: string): StorePort;
  git: GitPort;
  now(): Date;
  env: Record<string, string | undefined>;
  log(line: string): void;
}

/** Real dependencies: stores from config and environment variables, the git binary, the clock. */
export function realDeps(
  workspaceRoot: string,
  config: WorkspaceConfig,
  env: Record<string, string | undefined> = process.env,
): Deps {
  const stores = new Map<string, StorePort>();
  return {
    storeFor(environment) {
      let store = stores.get(environment);
      if (!store) {
        const envConfig = config.environments[environment];
        // In GitLab CI or CodeBuild, an unconfigured store is an error, not the throwaway local folder.
        requireExplicitStore(envConfig, env);
        store = openStore(resolveStoreUrl(envConfig, env), workspaceRoot);
        stores.set(environment, store);
      }
      return store;
    },
    git: createGit(workspaceRoot),
    now: () => new Date(),
    env,
    log: (line) => console.log(line),
  };
}

/** Who deploys: the CI user when there is one, else git's user, else the OS user. */
export async function deployerName(deps: Deps): Promise<string> {
  const e = deps.env;
  return (
    e.GITLAB_USER_LOGIN ??
    e.CODEBUILD_INITIATOR ??
    e.BIOME_DEPLOYED_BY ??
    (await deps.git.userName()) ??
    e.USER ??
    userInfo().username
  );
}

/** The CI job that deploys, when there is one. */
export function ciJobUrl(env: Record<string, string | undefined>): string | undefined {
  return env.CI_JOB_URL ?? env.CODEBUILD_BUILD_URL ?? undefined;
}

/** The store of a biome's environment. */
export function storeOf(deps: Deps, biome: BiomeRef): StorePort {
  return deps.storeFor(biome.environment.name);
}
