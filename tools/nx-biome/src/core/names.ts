import { BiomeError } from './errors';
import type { EnvironmentConfig, WorkspaceConfig } from './config';
import { NAME_PATTERN, ProjectKind, WORKSPACE_CONFIG_FILE } from './constants';

export { NAME_PATTERN, PROJECT_KINDS } from './constants';
export type { ProjectKind } from './constants';
const NAME_RULE =
  'lowercase letters a-z, digits and single hyphens, starting with a letter and not ending with a hyphen';

export interface BiomeRef {
  name: string;
  environment: EnvironmentConfig;
  /** True for `<env>-<suffix>` biomes; false for the environment's main biome. */
  sandpit: boolean;
}

/** Shows a name with control characters and non-ASCII visible. */
function show(name: string): string {
  return JSON.stringify(name).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function checkPattern(what: 'Biome' | 'Project', name: string, example: string): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new BiomeError(
      what === 'Biome' ? 'BIOME_NAME_INVALID' : 'PROJECT_NAME_INVALID',
      `${what} name is empty.`,
      `Give a name such as ${example}.`,
    );
  }
  if (!NAME_PATTERN.test(name)) {
    throw new BiomeError(
      what === 'Biome' ? 'BIOME_NAME_INVALID' : 'PROJECT_NAME_INVALID',
      `${what} name ${show(name)} is invalid: use ${NAME_RULE}.`,
      `Rename it, for example ${example}.`,
    );
  }
}

/**
 * Parses and validates a biome name against the workspace config:
 * `<env>` or `<env>-<suffix>` for a configured environment, sandpits only in
 * multi-tenant environments, at most `maxBiomeLength` characters.
 */
export function parseBiomeName(name: string, config: WorkspaceConfig): BiomeRef {
  checkPattern('Biome', name, 'dev-bob');
  if (name.length > config.maxBiomeLength) {
    throw new BiomeError(
      'BIOME_NAME_INVALID',
      `Biome name ${show(name)} is ${name.length} characters; the limit is ${config.maxBiomeLength} (maxBiomeLength in ${WORKSPACE_CONFIG_FILE}).`,
      'Use a shorter suffix, e.g. dev-bob or dev-mr-142.',
    );
  }
  const envNames = Object.keys(config.environments).sort((a, b) => b.length - a.length);
  const envName = envNames.find((env) => name === env || name.startsWith(`${env}-`));
  if (!envName) {
    throw new BiomeError(
      'BIOME_UNKNOWN_ENVIRONMENT',
      `Biome ${show(name)} does not belong to a configured environment.`,
      `Start the name with one of ${envNames.map((e) => `"${e}"`).join(', ')}, e.g. ${envNames.includes('dev') ? 'dev-bob' : `${envNames[0]}-bob`}.`,
    );
  }
  const environment = config.environments[envName];
  const sandpit = name !== envName;
  if (sandpit && !environment.multiTenant) {
    throw new BiomeError(
      'BIOME_SANDPIT_NOT_ALLOWED',
      `Biome ${show(name)}: environment "${envName}" is single-tenant, so it has only the main biome "${envName}".`,
      `Deploy to "${envName}" (promotion), or use a sandpit in a multi-tenant environment such as ${multiTenantExample(config)}.`,
    );
  }
  return { name, environment, sandpit };
}

function multiTenantExample(config: WorkspaceConfig): string {
  const env = Object.values(config.environments).find((e) => e.multiTenant);
  return env ? `${env.name}-bob` : '(none is configured)';
}

/** Validates a project name (same character rule as biomes). */
export function validateProjectName(name: string): void {
  checkPattern('Project', name, 'assay-ingest');
}

/** Where an AWS name must be unique: two names in one namespace name one resource. */
export type AwsNamespace =
  'lambda' | 'iam-role' | 'states' | 'logs' | 's3-bucket' | 'postgres' | 'sagemaker-target' | 's3-key';

/** The AWS resource names a biome and its projects produce, with their limits. */
export interface AwsName {
  resource: string;
  name: string;
  limit: number;
  namespace: AwsNamespace;
  /** Whether the name belongs to the whole biome or to one project of it. */
  scope: 'biome' | 'project';
}

/**
 * Separator between the biome and the project in a resource name. Neither
 * name can hold it (NAME_PATTERN allows single hyphens only, and neither
 * starts nor ends with one), so `<prefix>-<biome>--<project>` splits one way
 * only: biome `dev` + project `assay-ingest` and biome `dev-assay` + project
 * `ingest` give different names. Unlike `_`, `--` is valid in every AWS name
 * family (S3 buckets and SageMaker names refuse `_`), and the names still
 * match the environment's IAM pattern `<prefix>-<env>-*`.
 */
export const NAME_SEPARATOR = '--';

/** Lambda function / IAM role / state machine name of a project in a biome: `<prefix>-<biome>--<project>`. */
export function resourceName(config: Pick<WorkspaceConfig, 'namePrefix'>, biome: string, project: string): string {
  return `${config.namePrefix}-${biome}${NAME_SEPARATOR}${project}`;
}

/** The (biome, project) pair a resource name was made from, or undefined when it does not follow the rule. */
export function parseResourceName(
  config: Pick<WorkspaceConfig, 'namePrefix'>,
  name: string,
): { biome: string; project: string } | undefined {
  const prefix = `${config.namePrefix}-`;
  if (!name.startsWith(prefix)) return undefined;
  const parts = name.slice(prefix.length).split(NAME_SEPARATOR);
  if (parts.length !== 2 || !parts.every((p) => NAME_PATTERN.test(p))) return undefined;
  return { biome: parts[0], project: parts[1] };
}

/** Postgres schema (and role) of a biome on the shared RDS instance. */
export function databaseSchemaName(biome: string): string {
  return `biome_${biome.replace(/-/g, '_')}`;
}

/** The biome's own data bucket (pay per use), unique per account. */
export function biomeBucketName(config: WorkspaceConfig, biome: BiomeRef): string {
  return `${config.namePrefix}-${biome.name}-data-${biome.environment.account}`;
}

/** The role EventBridge Scheduler assumes to start a biome's workflows (infra/stacks/biome). */
export function schedulerRoleName(config: WorkspaceConfig, biome: string): string {
  return `${config.namePrefix}-${biome}-scheduler`;
}

/** Longest artifact file name suffix: `-<40-hex sha>-dirty-<12 hex>.tar.gz`. */
const LONGEST_ARTIFACT_SUFFIX = `-${'0'.repeat(40)}-dirty-${'0'.repeat(12)}.tar.gz`;

/**
 * Every AWS name a biome with the given projects produces (infra/stacks/biome
 * and the store layout), with its limit and the namespace it must be unique
 * in. Biome-level names differ from project names by construction: they hold
 * no `--`.
 */
export function awsNamesFor(
  config: WorkspaceConfig,
  biome: BiomeRef,
  projects: { name: string; kind: ProjectKind }[],
): AwsName[] {
  const own = (resource: string, name: string, limit: number, namespace: AwsNamespace): AwsName => ({
    resource,
    name,
    limit,
    namespace,
    scope: 'biome',
  });
  const names: AwsName[] = [
    own('S3 bucket (biome data)', biomeBucketName(config, biome), 63, 's3-bucket'),
    own('Postgres schema and role', databaseSchemaName(biome.name), 63, 'postgres'),
    own('IAM role (scheduler)', schedulerRoleName(config, biome.name), 64, 'iam-role'),
  ];
  for (const p of projects) {
    const base = resourceName(config, biome.name, p.name);
    const of = (resource: string, name: string, limit: number, namespace: AwsNamespace): AwsName => ({
      resource: `${resource} (${p.name})`,
      name,
      limit,
      namespace,
      scope: 'project',
    });
    names.push(of('ledger record key', `biomes/${biome.name}/ledger/${p.name}.json`, 1024, 's3-key'));
    if (p.kind === 'service') {
      names.push(
        of('Lambda function', base, 64, 'lambda'),
        of('IAM role', base, 64, 'iam-role'),
        of('log group', `/aws/lambda/${base}`, 512, 'logs'),
      );
    } else if (p.kind === 'workflow') {
      names.push(
        of('Step Functions state machine', base, 80, 'states'),
        of('IAM role', base, 64, 'iam-role'),
        of('log group', `/aws/vendedlogs/states/${base}`, 512, 'logs'),
      );
    } else {
      names.push(
        of('SageMaker target model', `${biome.name}/${p.name}${LONGEST_ARTIFACT_SUFFIX}`, 1024, 'sagemaker-target'),
      );
    }
  }
  return names;
}

/**
 * Checks that every AWS name fits its limit; throws AWS_NAME_TOO_LONG naming
 * each name over the limit, the limit and by how much.
 */
export function checkAwsNameBudget(
  config: WorkspaceConfig,
  biome: BiomeRef,
  projects: { name: string; kind: ProjectKind }[],
): void {
  const over = awsNamesFor(config, biome, projects).filter((n) => n.name.length > n.limit);
  if (over.length === 0) return;
  const lines = over.map((n) => `${n.resource} "${n.name}" is ${n.name.length} characters (AWS limit ${n.limit})`);
  throw new BiomeError(
    'AWS_NAME_TOO_LONG',
    `Biome "${biome.name}" would produce AWS names over their limit:\n  - ${lines.join('\n  - ')}`,
    'Use a shorter biome suffix or project name.',
  );
}

/**
 * The longest project name that fits every AWS limit in the longest biome the
 * config allows (used by generators, before any biome is known).
 */
export function maxProjectNameLength(config: WorkspaceConfig): number {
  // <prefix>-<biome>--<project> <= 64 (Lambda function and IAM role, the tightest per-project limit), biome at its maximum length.
  return 64 - config.namePrefix.length - 1 - config.maxBiomeLength - NAME_SEPARATOR.length;
}
