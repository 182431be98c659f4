import { z } from 'zod';
import { BiomeError } from './errors';

/** Name of the workspace config file, at the workspace root. */
export const WORKSPACE_CONFIG_FILE = 'nx-biome.json';

const ENVIRONMENT_NAME = /^[a-z][a-z0-9]{1,15}$/;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

const environmentSchema = z
  .object({
    account: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id'),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as ap-southeast-2'),
    multiTenant: z.boolean().default(false),
    bucket: z.string().regex(BUCKET_NAME, 'must be a valid S3 bucket name').optional(),
    store: z.string().optional(),
    modelPrefix: z.string().regex(/^[a-z0-9][a-z0-9/_-]*\/$/, 'must end with "/"').default('models/'),
  })
  .strict();

const configSchema = z
  .object({
    $schema: z.string().optional(),
    namePrefix: z.string().regex(/^[a-z][a-z0-9]{0,9}$/, 'must be 1-10 lowercase letters or digits, starting with a letter'),
    sandpitTtlHours: z.number().int().positive().max(24 * 90).default(72),
    maxBiomeLength: z.number().int().min(3).max(48).default(24),
    promotionOrder: z.array(z.string()).min(1),
    environments: z.record(z.string().regex(ENVIRONMENT_NAME, 'environment names are 2-16 lowercase letters or digits'), environmentSchema),
  })
  .strict();

export type EnvironmentConfig = z.infer<typeof environmentSchema> & { name: string };
export interface WorkspaceConfig {
  namePrefix: string;
  sandpitTtlHours: number;
  maxBiomeLength: number;
  promotionOrder: string[];
  environments: Record<string, EnvironmentConfig>;
}

/**
 * Validates the parsed workspace config (`nx-biome.json`) and fills defaults.
 * Throws CONFIG_INVALID naming every offending field.
 */
export function parseWorkspaceConfig(raw: unknown, source = WORKSPACE_CONFIG_FILE): WorkspaceConfig {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new BiomeError('CONFIG_INVALID', `${source} is invalid:\n  - ${problems.join('\n  - ')}`, `Fix ${source}; docs/configuration.md lists every field.`);
  }
  const value = parsed.data;
  const environments: Record<string, EnvironmentConfig> = {};
  for (const [name, env] of Object.entries(value.environments)) environments[name] = { ...env, name };
  if (Object.keys(environments).length === 0) {
    throw new BiomeError('CONFIG_INVALID', `${source} declares no environments.`, 'Add at least one entry under "environments".');
  }
  for (const name of value.promotionOrder) {
    if (!environments[name]) {
      throw new BiomeError('CONFIG_INVALID', `${source}: promotionOrder names unknown environment "${name}".`, `Use only environments declared under "environments" (${Object.keys(environments).join(', ')}).`);
    }
  }
  return { ...value, environments };
}

/** Looks up an environment by name, with an error that lists the known ones. */
export function requireEnvironment(config: WorkspaceConfig, name: string): EnvironmentConfig {
  const env = Object.hasOwn(config.environments, name) ? config.environments[name] : undefined;
  if (!env) {
    throw new BiomeError('BIOME_UNKNOWN_ENVIRONMENT', `Unknown environment "${name}".`, `Use one of: ${Object.keys(config.environments).join(', ')} (declared in ${WORKSPACE_CONFIG_FILE}).`);
  }
  return env;
}

/** Environment variables that pick a store, most specific first. */
export function storeVariableNames(environment: string): string[] {
  return [`BIOME_STORE_${environment.toUpperCase()}`, 'BIOME_STORE'];
}

/**
 * Chooses the store URL for an environment: `BIOME_STORE_<ENV>`, then
 * `BIOME_STORE`, then the environment's configured `store`, else the embedded
 * local store `.biome-store/<env>`.
 */
export function resolveStoreUrl(env: EnvironmentConfig, vars: Record<string, string | undefined>): string {
  for (const name of storeVariableNames(env.name)) {
    const value = vars[name]?.trim();
    if (value) return value;
  }
  return env.store ?? `file://.biome-store/${env.name}`;
}

/**
 * The bucket Terraform reads artifacts from in the environment's own account
 * (the replica of the devops bucket the deploys write to): the configured
 * `bucket`, else the devops stack's naming rule.
 */
export function artifactBucketName(config: WorkspaceConfig, env: EnvironmentConfig): string {
  return env.bucket ?? `${config.namePrefix}-artifacts-${env.name}-${env.account}`;
}
