import { z } from 'zod';
import { BiomeError } from './errors';
import { WORKSPACE_CONFIG_FILE } from './constants';
import { checkSettings, describeLayer } from './setting-rules';

export { WORKSPACE_CONFIG_FILE } from './constants';

const ENVIRONMENT_NAME = /^[a-z][a-z0-9]{1,15}$/;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

const DATA_SET_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const SETTINGS_PROJECT = /^(\*|[a-z][a-z0-9]*(-[a-z0-9]+)*)$/;

/** A named data set: a prefix of the environment's data-set bucket that functions may read. */
export const dataSetSchema = z
  .object({
    prefix: z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/,
        'must be a key prefix such as "assays/reference" (lowercase segments, no leading or trailing "/")',
      ),
    description: z.string().min(1, 'must say what the data set holds'),
    owner: z.string().min(1, 'must name who curates the data set'),
  })
  .strict();

export const environmentSchema = z
  .object({
    account: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id'),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as ap-southeast-2'),
    multiTenant: z.boolean().default(false),
    bucket: z.string().regex(BUCKET_NAME, 'must be a valid S3 bucket name').optional(),
    store: z.string().optional(),
    modelPrefix: z
      .string()
      .regex(/^[a-z0-9][a-z0-9/_-]*\/$/, 'must end with "/"')
      .default('models/'),
    dataSetBucket: z.string().regex(BUCKET_NAME, 'must be a valid S3 bucket name').optional(),
    dataSets: z
      .record(z.string().regex(DATA_SET_NAME, 'data-set names are kebab-case, e.g. assay-reference'), dataSetSchema)
      .optional(),
    /** The environment layer of project settings: project name (or "*") → variable → value. */
    settings: z
      .record(
        z.string().regex(SETTINGS_PROJECT, 'keys are project names or "*" (every project)'),
        z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
      )
      .optional(),
  })
  .strict();

export type DataSetConfig = z.infer<typeof dataSetSchema>;

/** HCP Terraform / Terraform Enterprise: where biome stacks run when `terraform.backend` is "cloud". */
export const cloudSchema = z
  .object({
    organization: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/,
        'must be an HCP Terraform organization name (letters, digits, "-" and "_")',
      ),
    // A host name, optionally with a port (Terraform Enterprise behind a non-standard port, or a loopback test server).
    hostname: z
      .string()
      .regex(
        /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/,
        'must be a host name such as app.terraform.io (no scheme, no path)',
      )
      .default('app.terraform.io'),
    projectPerEnvironment: z.boolean().default(true),
  })
  .strict();

/** Which backend holds the biome stacks' state and runs their plans: the S3 bucket per environment (default) or HCP Terraform. */
export const terraformSchema = z
  .object({
    backend: z.enum(['s3', 'cloud']).default('s3'),
    cloud: cloudSchema.optional(),
  })
  .strict();

export type CloudConfig = z.infer<typeof cloudSchema>;
export type TerraformConfig = z.infer<typeof terraformSchema>;

/** The zod schema of `nx-biome.json` (tools/nx-biome/config.schema.json mirrors it for editors; a test keeps them in step). */
export const configSchema = z
  .object({
    $schema: z.string().optional(),
    namePrefix: z
      .string()
      .regex(/^[a-z][a-z0-9]{0,9}$/, 'must be 1-10 lowercase letters or digits, starting with a letter'),
    sandpitTtlHours: z
      .number()
      .int()
      .positive()
      .max(24 * 90)
      .default(72),
    maxBiomeLength: z.number().int().min(3).max(48).default(24),
    promotionOrder: z.array(z.string()).min(1),
    environments: z.record(
      z.string().regex(ENVIRONMENT_NAME, 'environment names are 2-16 lowercase letters or digits'),
      environmentSchema,
    ),
    // Fan-out of a deploy over K shards (nx run infra:deploy-plan): K = ceil(projects / projectsPerShard), at most maxShards.
    fanout: z
      .object({
        projectsPerShard: z.number().int().min(1).max(10_000).default(50),
        maxShards: z.number().int().min(1).max(100).default(8),
      })
      .strict()
      .default({ projectsPerShard: 50, maxShards: 8 }),
    terraform: terraformSchema.default({ backend: 's3' }),
  })
  .strict();

export type EnvironmentConfig = Omit<z.infer<typeof environmentSchema>, 'settings'> & {
  name: string;
  settings?: Record<string, Record<string, string>>;
};
export interface WorkspaceConfig {
  namePrefix: string;
  sandpitTtlHours: number;
  maxBiomeLength: number;
  promotionOrder: string[];
  environments: Record<string, EnvironmentConfig>;
  fanout: { projectsPerShard: number; maxShards: number };
  terraform: TerraformConfig;
}

/**
 * Validates the parsed workspace config (`nx-biome.json`) and fills defaults.
 * Throws CONFIG_INVALID naming every offending field.
 */
export function parseWorkspaceConfig(raw: unknown, source = WORKSPACE_CONFIG_FILE): WorkspaceConfig {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new BiomeError(
      'CONFIG_INVALID',
      `${source} is invalid:\n  - ${problems.join('\n  - ')}`,
      `Fix ${source}; docs/configuration.md lists every field.`,
    );
  }
  const value = parsed.data;
  // Every problem at once, as the message promises: one round of fixes, not one per run.
  const problems: string[] = [];
  if (Object.keys(value.environments).length === 0)
    problems.push('environments: declares no environment; add at least one entry');
  for (const name of value.promotionOrder) {
    if (!Object.hasOwn(value.environments, name))
      problems.push(
        `promotionOrder: names unknown environment "${name}"; use only environments declared under "environments" (${Object.keys(value.environments).join(', ') || 'none'})`,
      );
  }
  for (const [name, env] of Object.entries(value.environments))
    problems.push(...dataSetPrefixProblems(name, env.dataSets ?? {}));
  if (value.terraform.backend === 'cloud' && !value.terraform.cloud)
    problems.push(
      'terraform.cloud: backend "cloud" needs terraform.cloud.organization (and hostname when not app.terraform.io); or set terraform.backend to "s3"',
    );
  if (problems.length > 0) {
    throw new BiomeError(
      'CONFIG_INVALID',
      `${source} is invalid:\n  - ${problems.join('\n  - ')}`,
      `Fix ${source}; docs/configuration.md lists every field.`,
    );
  }
  const environments: Record<string, EnvironmentConfig> = {};
  for (const [name, env] of Object.entries(value.environments))
    environments[name] = { ...env, name, settings: checkEnvironmentSettings(value, name, env.settings) };
  return { ...value, environments };
}

/** No data-set prefix lies below another: a grant to one would reach into the other. */
function dataSetPrefixProblems(environment: string, dataSets: Record<string, { prefix: string }>): string[] {
  const sets = Object.entries(dataSets);
  const out: string[] = [];
  for (const [a, da] of sets) {
    for (const [b, db] of sets) {
      if (
        a !== b &&
        (db.prefix === da.prefix || db.prefix.startsWith(`${da.prefix}/`)) &&
        !(db.prefix === da.prefix && b < a)
      ) {
        out.push(
          `environments.${environment}.dataSets: "${b}" (${db.prefix}) lies inside "${a}" (${da.prefix}), so reading "${a}" would also read "${b}"; give every data set its own prefix, none below another (e.g. assays/reference and assays/raw, not assays and assays/raw)`,
        );
      }
    }
  }
  return out;
}

/** The environment layer of settings, every value checked by the rules of all layers (SETTING_INVALID / SETTING_LOOKS_SECRET). */
function checkEnvironmentSettings(
  config: { namePrefix: string },
  environment: string,
  raw: Record<string, Record<string, unknown>> | undefined,
): Record<string, Record<string, string>> | undefined {
  if (!raw) return undefined;
  const out: Record<string, Record<string, string>> = {};
  for (const [project, values] of Object.entries(raw)) {
    out[project] = checkSettings({
      layerText: describeLayer('environment', { project, environment, biome: environment }),
      values,
      config,
      environment,
    });
  }
  return out;
}

/** Looks up an environment by name, with an error that lists the known ones. */
export function requireEnvironment(config: WorkspaceConfig, name: string): EnvironmentConfig {
  const env = Object.hasOwn(config.environments, name) ? config.environments[name] : undefined;
  if (!env) {
    throw new BiomeError(
      'BIOME_UNKNOWN_ENVIRONMENT',
      `Unknown environment "${name}".`,
      `Use one of: ${Object.keys(config.environments).join(', ')} (declared in ${WORKSPACE_CONFIG_FILE}).`,
    );
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
  return explicitStoreUrl(env, vars) ?? `file://.biome-store/${env.name}`;
}

/** The store explicitly configured for an environment (a variable, else nx-biome.json), if any. */
export function explicitStoreUrl(env: EnvironmentConfig, vars: Record<string, string | undefined>): string | undefined {
  for (const name of storeVariableNames(env.name)) {
    const value = vars[name]?.trim();
    if (value) return value;
  }
  return env.store;
}

/**
 * The bucket Terraform reads artifacts from in the environment's own account
 * (the replica of the devops bucket the deploys write to): the configured
 * `bucket`, else the devops stack's naming rule.
 */
export function artifactBucketName(config: WorkspaceConfig, env: EnvironmentConfig): string {
  return env.bucket ?? `${config.namePrefix}-artifacts-${env.name}-${env.account}`;
}
