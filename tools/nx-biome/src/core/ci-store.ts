import {
  EnvironmentConfig,
  explicitStoreUrl,
  storeVariableNames,
  WorkspaceConfig,
  WORKSPACE_CONFIG_FILE,
} from './config';
import { BiomeError } from './errors';

/**
 * The CI runner this process runs in, from the variables only the runners
 * themselves set: GitLab CI (`GITLAB_CI=true`) or CodeBuild
 * (`CODEBUILD_BUILD_ID`). Plain `CI=true` is not enough: developers, test
 * suites and other tools set it too (docs/pipeline.md).
 */
export function ciRunnerName(vars: Record<string, string | undefined>): string | undefined {
  if (vars.CODEBUILD_BUILD_ID) return 'CodeBuild';
  if (vars.GITLAB_CI === 'true') return 'GitLab CI';
  return undefined;
}

/**
 * In a CI runner, refuses to fall back to the embedded local store: its
 * folder lives in the job's workspace and is thrown away with it, so a deploy
 * would report "uploaded" and keep nothing (a fork's merge request pipeline,
 * which gets no project variables, does exactly that).
 */
export function requireExplicitStore(env: EnvironmentConfig, vars: Record<string, string | undefined>): void {
  const runner = ciRunnerName(vars);
  if (!runner || explicitStoreUrl(env, vars) !== undefined) return;
  const [specific, generic] = storeVariableNames(env.name);
  throw new BiomeError(
    'STORE_NOT_CONFIGURED',
    `No store is configured for environment ${env.name} in ${runner}: the local folder store would be thrown away with the job.`,
    `Set ${specific} (or ${generic}) to s3://<bucket> in the CI/CD variables or the CodeBuild project, or "store" of environments.${env.name} in ${WORKSPACE_CONFIG_FILE}.`,
  );
}

/**
 * The same check for every environment a run will touch, before any task
 * runs (for the plugin's pre-run hook): throws for the first one that has no
 * explicit store.
 */
export function requireExplicitStores(
  config: WorkspaceConfig,
  environments: string[],
  vars: Record<string, string | undefined>,
): void {
  for (const name of environments) {
    const env = config.environments[name];
    if (env) requireExplicitStore(env, vars);
  }
}
