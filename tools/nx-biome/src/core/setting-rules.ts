import { WORKSPACE_CONFIG_FILE } from './constants';
import { BiomeError } from './errors';

/**
 * The rules every settings layer obeys (variable names, values, secret
 * references, where a layer lives). A leaf of the core: config.ts checks the
 * environment layer with these rules and settings.ts the others, so neither
 * has to import the other.
 */

/** Where a setting came from, lowest precedence first. */
export const SETTINGS_LAYERS = ['project', 'environment', 'biome'] as const;
export type SettingsLayer = (typeof SETTINGS_LAYERS)[number];

/** A Lambda environment variable name (letters, digits, underscores; starts with a letter). */
export const ENV_VAR_NAME = /^[A-Za-z][A-Za-z0-9_]{0,127}$/;

/** Names the platform sets itself (tfvars.ts, infra/stacks/biome) or Lambda reserves. */
const PLATFORM_NAMES = new Set([
  'BIOME',
  'GIT_SHA',
  'MODEL_TARGET',
  'DATA_BUCKET',
  'DB_SCHEMA',
  'DB_HOST',
  'DB_PORT',
  'DB_NAME',
  'DB_USER',
  'SAGEMAKER_ENDPOINT',
  'DATA_SET_BUCKET',
  'TZ',
]);
const RESERVED_PREFIXES = ['AWS_', 'LAMBDA_', 'DATA_SET_'];

/**
 * The variable that holds a data set's prefix in the data-set bucket:
 * `ore-training` → `DATA_SET_ORE_TRAINING_PREFIX` (beside `DATA_SET_BUCKET`).
 */
export function dataSetPrefixVariable(name: string): string {
  return `DATA_SET_${name.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_PREFIX`;
}

/** Key in the project-wide entry of a settings map (every project of the environment or biome). */
export const ALL_PROJECTS = '*';

/** A reference to a secret held by AWS, resolved by the function at run time. */
export interface SecretReference {
  /** The environment variable that carries the reference. */
  key: string;
  service: 'ssm' | 'secretsmanager';
  /** Parameter name (`/geo/dev/db-password`) or secret name (`geo/dev/db`). */
  name: string;
}

export const biomeSettingsKey = (biome: string) => `biomes/${biome}/config.json`;

const SSM_NAME = /^\/[A-Za-z0-9_.\-/]{1,1010}$/;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

/** Parses `ssm:<name>` / `secretsmanager:<name>`; undefined for a plain value. */
export function parseSecretReference(key: string, value: string): SecretReference | undefined {
  const m = /^(ssm|secretsmanager):(.*)$/.exec(value);
  if (!m) return undefined;
  return { key, service: m[1] as SecretReference['service'], name: m[2] };
}

/** Bits of entropy per character (Shannon), to tell a random token from a word. */
function entropy(value: string): number {
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= (n / value.length) * Math.log2(n / value.length);
  return bits;
}

/**
 * Why a plain value looks like a pasted secret, or undefined. The reason
 * never repeats the value: error messages end up in CI logs.
 */
export function secretLikeReason(key: string, value: string): string | undefined {
  if (/\b(AKIA|ASIA)[A-Z0-9]{16}\b/.test(value)) return 'it holds an AWS access key id';
  if (/-----BEGIN [A-Z0-9 ]+-----/.test(value)) return 'it holds a PEM block (a key or certificate)';
  if (/PASSWORD|PASSWD|SECRET|PRIVATE_?KEY/i.test(key) && value.length >= 6 && !/^(\d+|true|false)$/i.test(value))
    return `a variable named ${key} must not carry its value in plain text`;
  if (/TOKEN|API_?KEY|CREDENTIAL|AUTH/i.test(key) && value.length >= 16 && entropy(value) >= 3.5)
    return `it looks like a token (long, random) under a key named ${key}`;
  if (value.length >= 32 && !/\s/.test(value) && entropy(value) >= 4.5)
    return 'it looks like a random token (long, high entropy)';
  return undefined;
}

/** Where a layer lives, for messages: `environment dev (nx-biome.json environments.dev.settings)`. */
export function describeLayer(
  layer: SettingsLayer,
  where: { project: string; environment: string; biome: string },
): string {
  if (layer === 'project') return `project ${where.project} (its package target's settings.environment)`;
  if (layer === 'environment')
    return `environment ${where.environment} (${WORKSPACE_CONFIG_FILE} environments.${where.environment}.settings)`;
  return `biome ${where.biome} (${biomeSettingsKey(where.biome)}, set with nx run infra:biome-config)`;
}

export function settingError(layerText: string, key: string, problem: string, fix: string): BiomeError {
  return new BiomeError('SETTING_INVALID', `Setting ${JSON.stringify(key)} in ${layerText}: ${problem}.`, fix);
}

/**
 * Checks one setting of one layer: an environment variable name that neither
 * the platform nor Lambda reserves, a string value, no pasted secret, and a
 * secret reference only to the environment's own parameters and secrets.
 */
export function checkSetting(input: {
  layerText: string;
  key: string;
  value: unknown;
  config: { namePrefix: string };
  environment: string;
}): string {
  const { layerText, key, value } = input;
  if (!ENV_VAR_NAME.test(key)) {
    throw settingError(
      layerText,
      key,
      'is not an environment variable name',
      'Use letters, digits and underscores, starting with a letter (at most 128), e.g. LOG_LEVEL.',
    );
  }
  if (PLATFORM_NAMES.has(key) || RESERVED_PREFIXES.some((p) => key.startsWith(p))) {
    throw settingError(
      layerText,
      key,
      `is set by the platform or reserved by Lambda (${[...PLATFORM_NAMES].join(', ')}, ${RESERVED_PREFIXES.map((p) => `${p}*`).join(', ')})`,
      'Pick another name.',
    );
  }
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw settingError(
      layerText,
      key,
      `has a ${value === null ? 'null' : typeof value} value`,
      'Give a string (numbers and booleans are written as text).',
    );
  }
  const text = String(value);
  if (text.length > 2048)
    throw settingError(
      layerText,
      key,
      `is ${text.length} characters long`,
      'Keep values under 2048 characters (Lambda allows 4 KB for all variables); put large data in a data set.',
    );
  const prefix = input.config.namePrefix;
  const ref = parseSecretReference(key, text);
  if (ref?.service === 'ssm') {
    const root = `/${prefix}/${input.environment}/`;
    if (!SSM_NAME.test(ref.name) || !ref.name.startsWith(root) || ref.name.includes('//')) {
      throw settingError(
        layerText,
        key,
        `refers to SSM parameter ${JSON.stringify(ref.name)}, which is not a parameter of environment ${input.environment}`,
        `Refer to a SecureString parameter below ${root}, e.g. ${key}=ssm:${root}${key.toLowerCase().replace(/_/g, '-')}.`,
      );
    }
  } else if (ref?.service === 'secretsmanager') {
    const root = `${prefix}/${input.environment}/`;
    if (!SECRET_NAME.test(ref.name) || !ref.name.startsWith(root)) {
      throw settingError(
        layerText,
        key,
        `refers to secret ${JSON.stringify(ref.name)}, which is not a secret of environment ${input.environment}`,
        `Refer to a Secrets Manager secret named ${root}<name> (no ARN, no version suffix), e.g. ${key}=secretsmanager:${root}${key.toLowerCase().replace(/_/g, '-')}.`,
      );
    }
  } else {
    const reason = secretLikeReason(key, text);
    if (reason) {
      throw new BiomeError(
        'SETTING_LOOKS_SECRET',
        `Setting ${JSON.stringify(key)} in ${layerText} looks like a secret pasted as a plain value: ${reason}. Settings are stored in the ledger, the tfvars and the Terraform state in clear text.`,
        `Store the value in SSM Parameter Store as a SecureString (aws ssm put-parameter --type SecureString --name /${prefix}/${input.environment}/${key.toLowerCase().replace(/_/g, '-')} --value …) and set ${key}=ssm:/${prefix}/${input.environment}/${key.toLowerCase().replace(/_/g, '-')}; the function's role may read exactly that parameter (or use secretsmanager:${prefix}/${input.environment}/<name>).`,
      );
    }
  }
  return text;
}

/** Checks every setting of a map of one layer; returns the values as text. */
export function checkSettings(input: {
  layerText: string;
  values: Record<string, unknown>;
  config: { namePrefix: string };
  environment: string;
}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(input.values)) out[key] = checkSetting({ ...input, key, value });
  return out;
}
