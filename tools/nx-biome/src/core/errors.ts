/**
 * The error taxonomy of the plugin. A `BiomeError` is a user error: it has a
 * stable code, a message that names the problem and a hint that names the
 * fix. Anything else that escapes is an internal error and keeps its stack.
 */
export type BiomeErrorCode =
  | 'BIOME_NAME_INVALID'
  | 'BIOME_UNKNOWN_ENVIRONMENT'
  | 'BIOME_SANDPIT_NOT_ALLOWED'
  | 'BIOME_NOT_FOUND'
  | 'BIOME_MAIN_PROTECTED'
  | 'PROJECT_NAME_INVALID'
  | 'PROJECT_KIND_AMBIGUOUS'
  | 'AWS_NAME_TOO_LONG'
  | 'CONFIG_INVALID'
  | 'OPTIONS_INVALID'
  | 'STORE_URL_INVALID'
  | 'STORE_UNREACHABLE'
  | 'STORE_NOT_CONFIGURED'
  | 'ARTIFACT_CONFLICT'
  | 'ARTIFACT_MISSING'
  | 'REPLICATION_TIMEOUT'
  | 'ARTIFACT_CORRUPT'
  | 'ARTIFACT_DIRTY'
  | 'LEDGER_RECORD_INVALID'
  | 'GIT_NOT_A_REPOSITORY'
  | 'GIT_SHALLOW_CLONE'
  | 'GIT_BASE_UNKNOWN'
  | 'GIT_DIRTY_TREE'
  | 'PACKAGE_INPUT_INVALID'
  | 'BUILD_OUTPUT_MISSING'
  | 'WORKFLOW_INVALID'
  | 'PROMOTION_INVALID'
  | 'ROLLBACK_INVALID'
  | 'TERRAFORM_MISSING'
  | 'TERRAFORM_FAILED'
  | 'TERRAFORM_OVERRIDE_FOREIGN'
  | 'HCP_TERRAFORM_TOKEN_MISSING'
  | 'HCP_TERRAFORM_UNREACHABLE'
  | 'HCP_TERRAFORM_FAILED'
  | 'HCP_WORKSPACE_NOT_EMPTY'
  | 'CODEBUILD_FAILED'
  | 'PUBLISH_FAILED'
  | 'DISK_FULL'
  | 'DISK_READ_ONLY'
  | 'SETTING_INVALID'
  | 'SETTING_LOOKS_SECRET'
  | 'DATA_SET_UNKNOWN'
  | 'DATA_SET_MISSING'
  | 'BIOME_LOCKED'
  | 'LEASE_LOST'
  | 'ARTIFACT_UNVERIFIED'
  | 'DRIFT_DETECTED'
  | 'DRIFT_UNCHECKED'
  | 'RUN_FAILED'
  | 'SEED_INVALID'
  | 'RUNTIME_DEPRECATED'
  | 'RUNTIME_UNSUPPORTED';

export class BiomeError extends Error {
  override readonly name = 'BiomeError';

  constructor(
    readonly code: BiomeErrorCode,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** True for errors that are the user's to fix (as opposed to bugs). */
export function isBiomeError(error: unknown): error is BiomeError {
  return error instanceof BiomeError;
}

/** One line for the terminal: `CODE: message\n  fix: hint`. */
export function formatBiomeError(error: BiomeError): string {
  return error.hint ? `${error.code}: ${error.message}\n  fix: ${error.hint}` : `${error.code}: ${error.message}`;
}
