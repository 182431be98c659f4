import { BiomeError } from './errors';
import { EnvironmentConfig, WorkspaceConfig, WORKSPACE_CONFIG_FILE } from './config';

/** Lowercase ASCII letters and digits in hyphen-separated words, starting with a letter. */
export const NAME_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const NAME_RULE = 'lowercase letters a-z, digits and single hyphens, starting with a letter and not ending with a hyphen';

export type ProjectKind = 'service' | 'workflow' | 'model';
export const PROJECT_KINDS: readonly ProjectKind[] = ['service', 'workflow', 'model'];

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
    throw new BiomeError(what === 'Biome' ? 'BIOME_NAME_INVALID' : 'PROJECT_NAME_INVALID', `${what} name is empty.`, `Give a name such as ${example}.`);
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
    throw new BiomeError('BIOME_NAME_INVALID', `Biome name ${show(name)} is ${name.length} characters; the limit is ${config.maxBiomeLength} (maxBiomeLength in ${WORKSPACE_CONFIG_FILE}).`, 'Use a shorter suffix, e.g. dev-bob or dev-mr-142.');
  }
  const envNames = Object.keys(config.environments).sort((a, b) => b.length - a.length);
  const envName = envNames.find((env) => name === env || name.startsWith(`${env}-`));
  if (!envName) {
    throw new BiomeError('BIOME_UNKNOWN_ENVIRONMENT', `Biome ${show(name)} does not belong to a configured environment.`, `Start the name with one of ${envNames.map((e) => `"${e}"`).join(', ')}, e.g. ${envNames.includes('dev') ? 'dev-bob' : `${envNames[0]}-bob`}.`);
  }
  const environment = config.environments[envName];
  const sandpit = name !== envName;
  if (sandpit && !environment.multiTenant) {
    throw new BiomeError('BIOME_SANDPIT_NOT_ALLOWED', `Biome ${show(name)}: environment "${envName}" is single-tenant, so it has only the main biome "${envName}".`, `Deploy to "${envName}" (promotion), or use a sandpit in a multi-tenant environment such as ${multiTenantExample(config)}.`);
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

/** The AWS resource names a biome and its projects produce, with their limits. */
export interface AwsName {
  resource: string;
  name: string;
  limit: number;
}

/** Lambda function / IAM role / state machine base name of a project in a biome. */
export function resourceName(config: WorkspaceConfig, biome: string, project: string): string {
  return `${config.namePrefix}-${biome}-${project}`;
}

/** Postgres schema (and role) of a biome on the shared RDS instance. */
export function databaseSchemaName(biome: string): string {
  return `biome_${biome.replace(/-/g, '_')}`;
}

/** The biome's own data bucket (pay per use), unique per account. */
export function biomeBucketName(config: WorkspaceConfig, biome: BiomeRef): string {
  return `${config.namePrefix}-${biome.name}-data-${biome.environment.account}`;
}

/** Every AWS name a biome with the given projects produces. */
export function awsNamesFor(config: WorkspaceConfig, biome: BiomeRef, projects: { name: string; kind: ProjectKind }[]): AwsName[] {
  const names: AwsName[] = [
    { resource: 'S3 bucket (biome data)', name: biomeBucketName(config, biome), limit: 63 },
    { resource: 'Postgres schema', name: databaseSchemaName(biome.name), limit: 63 },
  ];
  for (const p of projects) {
    const base = resourceName(config, biome.name, p.name);
    if (p.kind === 'service') {
      names.push({ resource: `Lambda function (${p.name})`, name: base, limit: 64 });
      names.push({ resource: `IAM role (${p.name})`, name: base, limit: 64 });
    } else if (p.kind === 'workflow') {
      names.push({ resource: `Step Functions state machine (${p.name})`, name: base, limit: 80 });
      names.push({ resource: `IAM role (${p.name})`, name: base, limit: 64 });
    } else {
      names.push({ resource: `SageMaker model name (${p.name})`, name: base, limit: 63 });
    }
  }
  return names;
}

/**
 * Checks that every AWS name fits its limit; throws AWS_NAME_TOO_LONG naming
 * each name over the limit, the limit and by how much.
 */
export function checkAwsNameBudget(config: WorkspaceConfig, biome: BiomeRef, projects: { name: string; kind: ProjectKind }[]): void {
  const over = awsNamesFor(config, biome, projects).filter((n) => n.name.length > n.limit);
  if (over.length === 0) return;
  const lines = over.map((n) => `${n.resource} "${n.name}" is ${n.name.length} characters (AWS limit ${n.limit})`);
  throw new BiomeError('AWS_NAME_TOO_LONG', `Biome "${biome.name}" would produce AWS names over their limit:\n  - ${lines.join('\n  - ')}`, 'Use a shorter biome suffix or project name.');
}

/**
 * The longest project name that fits every AWS limit in the longest biome the
 * config allows (used by generators, before any biome is known).
 */
export function maxProjectNameLength(config: WorkspaceConfig): number {
  // <prefix>-<biome>-<project> <= 63 (the tightest limit, SageMaker), biome at its maximum length.
  return 63 - config.namePrefix.length - 2 - config.maxBiomeLength;
}
