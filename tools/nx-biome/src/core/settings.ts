import { z } from 'zod';
import { canonicalJson } from './canonical-json';
import type { DataSetConfig, EnvironmentConfig, WorkspaceConfig } from './config';
import { NAME_PATTERN, ProjectKind, WORKSPACE_CONFIG_FILE } from './constants';
import { BiomeError } from './errors';
import type { BiomeRef } from './names';
import {
  ALL_PROJECTS,
  checkSettings,
  describeLayer,
  ENV_VAR_NAME,
  parseSecretReference,
  SecretReference,
  settingError,
  SETTINGS_LAYERS,
  SettingsLayer,
} from './setting-rules';

export {
  ALL_PROJECTS,
  biomeSettingsKey,
  checkSetting,
  checkSettings,
  dataSetPrefixVariable,
  describeLayer,
  ENV_VAR_NAME,
  parseSecretReference,
  secretLikeReason,
  SETTINGS_LAYERS,
} from './setting-rules';
export type { SecretReference, SettingsLayer } from './setting-rules';

/**
 * Layered settings of a deployable project: the environment variables its
 * function runs with, resolved project defaults → environment → biome, the
 * shared data sets it reads and the secrets it may fetch. Pure: the layers
 * come in as values, the result goes into the ledger record and the tfvars
 * (never into the artifact, whose bytes and key stay the same).
 */

/** The resolved settings of one project in one biome, as the ledger records them. */
export interface ResolvedSettings {
  /** Environment variables, secret references kept as references (`ssm:/…`). */
  environment: Record<string, string>;
  /** The layer each variable came from. */
  sources: Record<string, SettingsLayer>;
  secrets: SecretReference[];
  /** Data sets read: name → prefix in the environment's data-set bucket (no trailing slash). */
  dataSets: Record<string, string>;
}

/** A biome's own layer, stored at `biomes/<biome>/config.json`. */
export interface BiomeSettings {
  schemaVersion: 1;
  biome: string;
  /** Project name (or `*`) → variable → value. */
  projects: Record<string, Record<string, string>>;
  updatedAt?: string;
  updatedBy?: string;
}

/** Layer values of one project from a map keyed by project (or `*`). */
function layerFor(map: Record<string, Record<string, string>> | undefined, project: string): Record<string, string> {
  if (!map) return {};
  return {
    ...(Object.hasOwn(map, ALL_PROJECTS) ? map[ALL_PROJECTS] : {}),
    ...(Object.hasOwn(map, project) ? map[project] : {}),
  };
}

/** The environment's data-set bucket: configured, else `<prefix>-datasets-<env>-<account>` (the shared stack's rule). */
export function dataSetBucketName(config: WorkspaceConfig, env: EnvironmentConfig): string {
  return env.dataSetBucket ?? `${config.namePrefix}-datasets-${env.name}-${env.account}`;
}

/** The data sets a project's settings declare (`settings.dataSets`), checked for shape. */
export function declaredDataSets(project: string, settings: Record<string, unknown>): string[] {
  const raw = settings.dataSets;
  if (raw === undefined) return [];
  if (!Array.isArray(raw) || raw.some((n) => typeof n !== 'string' || !NAME_PATTERN.test(n))) {
    throw new BiomeError(
      'SETTING_INVALID',
      `${project}: settings.dataSets in its package target must be a list of data-set names, got ${JSON.stringify(raw)}.`,
      `Write e.g. "dataSets": ["assay-reference"] with names declared in ${WORKSPACE_CONFIG_FILE} environments.<env>.dataSets.`,
    );
  }
  return [...new Set(raw as string[])].sort();
}

/** Looks up the data sets a project reads in one environment; DATA_SET_UNKNOWN names every missing one. */
export function resolveDataSets(env: EnvironmentConfig, project: string, names: string[]): Record<string, string> {
  const known = env.dataSets ?? {};
  const missing = names.filter((n) => !Object.hasOwn(known, n));
  if (missing.length > 0) {
    const list = Object.keys(known);
    throw new BiomeError(
      'DATA_SET_UNKNOWN',
      `${project} reads data set${missing.length > 1 ? 's' : ''} ${missing.map((n) => `"${n}"`).join(', ')}, which environment ${env.name} does not declare${list.length ? ` (it declares: ${list.join(', ')})` : ' (it declares none)'}.`,
      `Declare ${missing.length > 1 ? 'them' : 'it'} in ${WORKSPACE_CONFIG_FILE} under environments.${env.name}.dataSets (prefix, description, owner), or remove ${missing.length > 1 ? 'them' : 'it'} from ${project}'s settings.dataSets.`,
    );
  }
  return Object.fromEntries(names.map((n) => [n, (known[n] as DataSetConfig).prefix]));
}

/**
 * Resolves a project's settings in a biome: project defaults
 * (`settings.environment`), then the environment's layer, then the biome's,
 * each checked; plus its data sets and the secrets its variables refer to.
 */
export function resolveSettings(input: {
  config: WorkspaceConfig;
  biome: BiomeRef;
  project: string;
  kind: ProjectKind;
  settings: Record<string, unknown>;
  biomeSettings?: BiomeSettings;
}): ResolvedSettings {
  const { config, biome, project } = input;
  const env = biome.environment;
  const where = { project, environment: env.name, biome: biome.name };
  const names = declaredDataSets(project, input.settings);
  if (input.kind !== 'service' && names.length > 0) {
    throw new BiomeError(
      'SETTING_INVALID',
      `${project} is a ${input.kind}: only services have a function role that can read data sets.`,
      `Remove settings.dataSets from ${project}, and declare them on the services it calls.`,
    );
  }
  const rawProject = input.settings.environment;
  if (
    rawProject !== undefined &&
    (typeof rawProject !== 'object' || rawProject === null || Array.isArray(rawProject))
  ) {
    throw settingError(
      describeLayer('project', where),
      'environment',
      'is not an object',
      'Write "environment": { "LOG_LEVEL": "info" }.',
    );
  }
  const layers: Record<SettingsLayer, Record<string, unknown>> = {
    project: (rawProject as Record<string, unknown>) ?? {},
    environment: layerFor(env.settings, project),
    biome: layerFor(input.biomeSettings?.projects, project),
  };
  const environment: Record<string, string> = {};
  const sources: Record<string, SettingsLayer> = {};
  for (const layer of SETTINGS_LAYERS) {
    const values = checkSettings({
      layerText: describeLayer(layer, where),
      values: layers[layer],
      config,
      environment: env.name,
    });
    for (const [key, value] of Object.entries(values)) {
      environment[key] = value;
      sources[key] = layer;
    }
  }
  const sorted = Object.fromEntries(Object.entries(environment).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const secrets = Object.entries(sorted)
    .map(([key, value]) => parseSecretReference(key, value))
    .filter((r): r is SecretReference => !!r);
  return { environment: sorted, sources, secrets, dataSets: resolveDataSets(env, project, names) };
}

/** ARN of a referenced parameter or secret in the biome's account and region (Secrets Manager adds a 6-character suffix). */
export function secretArn(env: EnvironmentConfig, ref: SecretReference): string {
  if (ref.service === 'ssm') return `arn:aws:ssm:${env.region}:${env.account}:parameter${ref.name}`;
  return `arn:aws:secretsmanager:${env.region}:${env.account}:secret:${ref.name}-??????`;
}

const biomeSettingsSchema = z
  .object({
    schemaVersion: z.literal(1),
    biome: z.string().regex(NAME_PATTERN),
    projects: z.record(
      z.string().refine((p) => p === ALL_PROJECTS || NAME_PATTERN.test(p), 'must be a project name or "*"'),
      z.record(z.string(), z.string()),
    ),
    updatedAt: z.string().optional(),
    updatedBy: z.string().optional(),
  })
  .strict();

/**
 * Parses a biome's settings file read back from the store; every value is
 * checked like the other layers, so a hand-edited file cannot smuggle a
 * secret or a reserved name into the tfvars.
 */
export function parseBiomeSettings(
  text: string,
  source: string,
  where: { config: WorkspaceConfig; biome: BiomeRef },
): BiomeSettings {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new BiomeError(
      'SETTING_INVALID',
      `Biome settings ${source} is not valid JSON.`,
      `Fix or delete it; then set values again with nx run infra:biome-config --biome=${where.biome.name} --project=<p> --set KEY=value.`,
    );
  }
  const parsed = biomeSettingsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new BiomeError(
      'SETTING_INVALID',
      `Biome settings ${source} (layer: biome ${where.biome.name}) is invalid:\n  - ${problems.join('\n  - ')}`,
      `Fix or delete it; nx run infra:biome-config --biome=${where.biome.name} --list shows what is set.`,
    );
  }
  if (parsed.data.biome !== where.biome.name) {
    throw new BiomeError(
      'SETTING_INVALID',
      `Biome settings ${source} is for biome ${parsed.data.biome}, not ${where.biome.name}.`,
      'Delete it; settings are never shared between biomes.',
    );
  }
  for (const [project, values] of Object.entries(parsed.data.projects)) {
    checkSettings({
      layerText: describeLayer('biome', {
        project,
        environment: where.biome.environment.name,
        biome: where.biome.name,
      }),
      values,
      config: where.config,
      environment: where.biome.environment.name,
    });
  }
  return parsed.data as BiomeSettings;
}

/** A change asked of biome-config: `--set K=V` and `--unset K` for one or more projects. */
export interface SettingsChange {
  projects: string[];
  set: Record<string, string>;
  unset: string[];
}

/**
 * Parses `--set` values (`KEY=value`, the value may hold `=`). A value that
 * is not `KEY=value` is never echoed (it may be a secret typed without its
 * key). Keys become own properties, `__proto__` included, so that every key
 * is checked (and refused) like any other.
 */
export function parseAssignments(values: string[]): Record<string, string> {
  const entries: [string, string][] = [];
  values.forEach((item, i) => {
    const at = item.indexOf('=');
    if (at <= 0) {
      throw new BiomeError(
        'OPTIONS_INVALID',
        `--set value number ${i + 1} (${item.length} characters, not shown: it may be a secret) is not KEY=value.`,
        'Write --set LOG_LEVEL=debug (repeat --set for several); to keep a value off the command line, pass --setFromEnv=KEY and put the value in the environment variable KEY.',
      );
    }
    entries.push([item.slice(0, at), item.slice(at + 1)]);
  });
  return Object.fromEntries(entries);
}

/**
 * The `--setFromEnv` keys with their values read from the environment
 * variables of the same names: values that never appear on a command line
 * (Nx prints its command line in the job log). A key also given with
 * `--set`, or whose variable is not set, is refused.
 */
export function assignmentsFromEnv(
  keys: string[],
  env: Record<string, string | undefined>,
  set: Record<string, string>,
): Record<string, string> {
  const entries: [string, string][] = [];
  for (const key of keys) {
    if (!ENV_VAR_NAME.test(key))
      throw new BiomeError(
        'OPTIONS_INVALID',
        `--setFromEnv ${JSON.stringify(key.slice(0, 128))} is not an environment variable name.`,
        'Use letters, digits and underscores, starting with a letter, e.g. --setFromEnv=DB_PASSWORD.',
      );
    if (Object.hasOwn(set, key))
      throw new BiomeError(
        'OPTIONS_INVALID',
        `${key} is given both with --set and with --setFromEnv.`,
        'Pass each key once.',
      );
    const value = env[key];
    if (value === undefined)
      throw new BiomeError(
        'OPTIONS_INVALID',
        `--setFromEnv=${key}: the environment variable ${key} is not set.`,
        `Set it for this command (e.g. read -s ${key} && export ${key}, or a masked CI variable named ${key}) and run again.`,
      );
    entries.push([key, value]);
  }
  return Object.fromEntries(entries);
}

/**
 * Applies a change to a biome's settings (pure). Every set value is checked
 * as the biome layer; unsetting a key that is not set is reported, not an
 * error. An emptied project disappears from the file.
 */
export function planSettingsChange(input: {
  current?: BiomeSettings;
  change: SettingsChange;
  config: WorkspaceConfig;
  biome: BiomeRef;
  now: Date;
  by: string;
}): { next: BiomeSettings; changed: boolean; notSet: { project: string; key: string }[] } {
  const { change, biome } = input;
  const projects = { ...(input.current?.projects ?? {}) };
  const notSet: { project: string; key: string }[] = [];
  let changed = false;
  for (const project of change.projects) {
    const where = { project, environment: biome.environment.name, biome: biome.name };
    const set = checkSettings({
      layerText: describeLayer('biome', where),
      values: change.set,
      config: input.config,
      environment: biome.environment.name,
    });
    for (const key of change.unset) {
      if (!ENV_VAR_NAME.test(key))
        throw settingError(
          describeLayer('biome', where),
          key,
          'is not an environment variable name',
          'Use letters, digits and underscores, starting with a letter, e.g. --unset LOG_LEVEL.',
        );
      if (Object.hasOwn(set, key))
        throw new BiomeError(
          'OPTIONS_INVALID',
          `${key} is both set and unset.`,
          'Pass either --set or --unset for a key.',
        );
    }
    const before = { ...(Object.hasOwn(projects, project) ? projects[project] : {}) };
    const after = { ...before, ...set };
    for (const key of change.unset) {
      if (!Object.hasOwn(after, key)) notSet.push({ project, key });
      delete after[key];
    }
    if (Object.keys(after).length > 0)
      projects[project] = Object.fromEntries(Object.entries(after).sort(([a], [b]) => (a < b ? -1 : 1)));
    else delete projects[project];
    changed ||= canonicalJson(before) !== canonicalJson(after);
  }
  return {
    next: { schemaVersion: 1, biome: biome.name, projects, updatedAt: input.now.toISOString(), updatedBy: input.by },
    changed,
    notSet,
  };
}

/**
 * The data sets a set of records reads that a target environment lacks, by
 * project: promotion refuses when any is missing.
 */
export function missingDataSets(
  records: { project: string; settings: Record<string, unknown> }[],
  target: EnvironmentConfig,
): { project: string; dataSets: string[] }[] {
  const known = target.dataSets ?? {};
  return records
    .map((r) => ({
      project: r.project,
      dataSets: declaredDataSets(r.project, r.settings).filter((n) => !Object.hasOwn(known, n)),
    }))
    .filter((m) => m.dataSets.length > 0);
}

/** Rows of the settings table: project, variable, value, the layer it comes from (secret references marked). */
export function settingsRows(entries: { project: string; resolved: ResolvedSettings }[]): string[][] {
  return entries.flatMap(({ project, resolved }) =>
    Object.entries(resolved.environment).map(([key, value]) => [
      project,
      key,
      value,
      `${resolved.sources[key] ?? '?'}${parseSecretReference(key, value) ? ' (secret reference)' : ''}`,
    ]),
  );
}

/** Rows of the data-set table: project, data set, `s3://<bucket>/<prefix>/`. */
export function dataSetRows(entries: { project: string; resolved: ResolvedSettings }[], bucket: string): string[][] {
  return entries.flatMap(({ project, resolved }) =>
    Object.entries(resolved.dataSets).map(([name, prefix]) => [project, name, `s3://${bucket}/${prefix}/`]),
  );
}
