import { artifactBucketName, WorkspaceConfig } from './config';
import { sha256HexToBase64 } from './artifact';
import { BiomeMeta, LedgerRecord } from './ledger';
import { BiomeRef, biomeBucketName, databaseSchemaName, resourceName } from './names';
import { BiomeError } from './errors';
import { checkLambdaRuntime, DEFAULT_LAMBDA_RUNTIME } from './runtimes';
import { referencedServices, SERVICE_REFERENCE } from './service-reference';
import {
  checkSettings,
  dataSetBucketName,
  dataSetPrefixVariable,
  parseSecretReference,
  resolveDataSets,
  resolveSettings,
  ResolvedSettings,
  SecretReference,
  secretArn,
} from './settings';

export interface ServiceVars {
  function_name: string;
  s3_key: string;
  source_code_hash: string;
  sha256: string;
  git_sha: string;
  dirty: boolean;
  handler: string;
  runtime: string;
  memory_size: number;
  timeout: number;
  environment: Record<string, string>;
  model: string | null;
  deployed_at: string;
  /** Shared data sets the function reads: name → prefix in `data_set_bucket` (read-only grant). */
  data_sets: Record<string, string>;
  /** SSM parameters its settings refer to (`ssm:<name>`): GetParameter on exactly these. */
  ssm_parameter_arns: string[];
  /** Secrets Manager secrets its settings refer to (`secretsmanager:<name>`): GetSecretValue on exactly these. */
  secret_arns: string[];
}

export interface WorkflowVars {
  state_machine_name: string;
  s3_key: string;
  sha256: string;
  git_sha: string;
  dirty: boolean;
  /** The definition with service references resolved; its Comment ends with `(<name> <git sha>)`. */
  definition: string;
  /** `<name> <git sha>`: the description of the state machine version Terraform publishes. */
  version_description: string;
  services: string[];
  /** ARNs of the functions the workflow invokes (for the state machine role's policy). */
  function_arns: string[];
  deployed_at: string;
}

export interface ModelVars {
  s3_key: string;
  target_path: string;
  sha256: string;
  git_sha: string;
  dirty: boolean;
  deployed_at: string;
}

/** The Terraform variables of one biome: the input of `infra/stacks/biome`. */
export interface BiomeTfvars {
  name_prefix: string;
  biome: string;
  environment: string;
  aws_region: string;
  aws_account_id: string;
  artifact_bucket: string;
  model_prefix: string;
  data_bucket: string;
  /** The environment's shared data-set bucket (owned by the shared stack). */
  data_set_bucket: string;
  database_schema: string;
  owner: string;
  asleep: boolean;
  sandpit: boolean;
  services: Record<string, ServiceVars>;
  workflows: Record<string, WorkflowVars>;
  models: Record<string, ModelVars>;
}

const str = (v: unknown, fallback: string) => (typeof v === 'string' && v ? v : fallback);
const num = (v: unknown, fallback: number) => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);

/** Model target below the shared endpoint's prefix: `<biome>/<artifact file>`. */
export function modelTargetPath(biome: string, artifactKey: string): string {
  return `${biome}/${artifactKey.slice(artifactKey.lastIndexOf('/') + 1)}`;
}

/** Function ARN of a biome's service, from the naming rule. */
export function functionArn(config: WorkspaceConfig, biome: BiomeRef, project: string): string {
  return `arn:aws:lambda:${biome.environment.region}:${biome.environment.account}:function:${resourceName(config, biome.name, project)}`;
}

/** Replaces `${service:<name>}` in a workflow definition with that service's ARN in the biome. */
export function resolveWorkflowDefinition(template: string, config: WorkspaceConfig, biome: BiomeRef): string {
  return template.replace(SERVICE_REFERENCE, (_m, name: string) => functionArn(config, biome, name));
}

/**
 * The definition a biome's state machine runs: service references resolved,
 * and `(<name> <git sha>)` appended to its top-level Comment so that every
 * execution traces back to a commit (the console shows the definition of
 * each execution).
 */
export function renderWorkflowDefinition(
  template: string,
  config: WorkspaceConfig,
  biome: BiomeRef,
  trace: string,
): string {
  const resolved = resolveWorkflowDefinition(template, config, biome);
  let definition: Record<string, unknown>;
  try {
    definition = JSON.parse(resolved);
  } catch {
    return resolved;
  }
  const { Comment: own, ...rest } = definition;
  return JSON.stringify({ Comment: typeof own === 'string' && own ? `${own} (${trace})` : trace, ...rest });
}

/**
 * The settings a record was deployed with, checked again (a record is read
 * from a store and must not smuggle a secret, a reserved name or a prefix into
 * the tfvars): data-set prefixes come from the biome's own environment; a
 * record written before layered settings resolves from its project defaults.
 */
function recordedSettings(config: WorkspaceConfig, biome: BiomeRef, r: LedgerRecord): ResolvedSettings {
  const recorded = r.resolvedSettings;
  if (!recorded) return resolveSettings({ config, biome, project: r.project, kind: r.kind, settings: r.settings });
  const layerText = `the ledger record of ${r.project} in ${biome.name}`;
  const environment = checkSettings({
    layerText,
    values: recorded.environment ?? {},
    config,
    environment: biome.environment.name,
  });
  const secrets = Object.entries(environment)
    .map(([key, value]) => parseSecretReference(key, value))
    .filter((x): x is SecretReference => !!x);
  return {
    environment,
    sources: recorded.sources ?? {},
    secrets,
    dataSets: resolveDataSets(biome.environment, r.project, Object.keys(recorded.dataSets ?? {}).sort()),
  };
}

/**
 * Renders the Terraform variables of a biome from its WHOLE ledger, so that a
 * project absent from the current run keeps its recorded artifact. Output is
 * deterministic: maps are sorted by project name.
 */
export function renderTfvars(input: {
  config: WorkspaceConfig;
  biome: BiomeRef;
  meta?: BiomeMeta;
  records: LedgerRecord[];
  /**
   * Today (YYYY-MM-DD or an ISO time). When given, every service's Lambda
   * runtime is checked against the deprecation table (RUNTIME_DEPRECATED):
   * what writes tfvars passes it; a read-only comparison (drift) does not.
   */
  today?: string;
}): { tfvars: BiomeTfvars; warnings: string[] } {
  const { config, biome } = input;
  const records = [...input.records].sort((a, b) => (a.project < b.project ? -1 : 1));
  const warnings: string[] = [];
  const models: Record<string, ModelVars> = {};
  for (const r of records.filter((r) => r.kind === 'model')) {
    models[r.project] = {
      s3_key: r.artifactKey,
      target_path: modelTargetPath(biome.name, r.artifactKey),
      sha256: r.sha256,
      git_sha: r.gitSha,
      dirty: r.dirty,
      deployed_at: r.deployedAt,
    };
  }
  const services: Record<string, ServiceVars> = {};
  const runtimeProblems: BiomeError[] = [];
  for (const r of records.filter((r) => r.kind === 'service')) {
    const s = r.settings;
    const model = typeof s.model === 'string' && s.model ? s.model : null;
    const resolved = recordedSettings(config, biome, r);
    const environment: Record<string, string> = { ...resolved.environment };
    environment.BIOME = biome.name;
    environment.GIT_SHA = r.gitSha;
    // Where its data sets are: the bucket, and each data set's prefix in it (read-only grants in infra/stacks/biome/datasets.tf).
    if (Object.keys(resolved.dataSets).length > 0) {
      environment.DATA_SET_BUCKET = dataSetBucketName(config, biome.environment);
      for (const [name, prefix] of Object.entries(resolved.dataSets)) environment[dataSetPrefixVariable(name)] = prefix;
    }
    if (model) {
      if (models[model]) environment.MODEL_TARGET = models[model].target_path;
      else
        warnings.push(
          `service ${r.project} uses model "${model}", which biome ${biome.name} does not record yet; MODEL_TARGET is left unset.`,
        );
    }
    const runtime = str(s.runtime, DEFAULT_LAMBDA_RUNTIME);
    if (input.today) {
      try {
        const near = checkLambdaRuntime({ project: r.project, runtime, today: input.today });
        if (near) warnings.push(near);
      } catch (e) {
        runtimeProblems.push(e as BiomeError);
      }
    }
    services[r.project] = {
      function_name: resourceName(config, biome.name, r.project),
      s3_key: r.artifactKey,
      source_code_hash: sha256HexToBase64(r.sha256),
      sha256: r.sha256,
      git_sha: r.gitSha,
      dirty: r.dirty,
      handler: str(s.handler, 'main.handler'),
      runtime,
      memory_size: num(s.memorySize, 256),
      timeout: num(s.timeout, 30),
      environment,
      model,
      deployed_at: r.deployedAt,
      data_sets: resolved.dataSets,
      ssm_parameter_arns: resolved.secrets
        .filter((x) => x.service === 'ssm')
        .map((x) => secretArn(biome.environment, x)),
      secret_arns: resolved.secrets
        .filter((x) => x.service === 'secretsmanager')
        .map((x) => secretArn(biome.environment, x)),
    };
  }
  // Every service on a refused runtime in one error, before anything is written or planned.
  if (runtimeProblems.length === 1) throw runtimeProblems[0];
  if (runtimeProblems.length > 1)
    throw new BiomeError(
      runtimeProblems[0].code,
      runtimeProblems.map((p) => p.message).join('\n  '),
      runtimeProblems[0].hint,
    );
  const workflows: Record<string, WorkflowVars> = {};
  for (const r of records.filter((r) => r.kind === 'workflow')) {
    const template = str(r.settings.definition, '{}');
    const refs = referencedServices(template);
    for (const ref of refs.filter((name) => !services[name])) {
      warnings.push(`workflow ${r.project} invokes service "${ref}", which biome ${biome.name} does not record.`);
    }
    workflows[r.project] = {
      state_machine_name: resourceName(config, biome.name, r.project),
      s3_key: r.artifactKey,
      sha256: r.sha256,
      git_sha: r.gitSha,
      dirty: r.dirty,
      definition: renderWorkflowDefinition(template, config, biome, `${r.project} ${r.gitSha}`),
      version_description: `${r.project} ${r.gitSha}`,
      services: refs,
      function_arns: refs.map((name) => functionArn(config, biome, name)),
      deployed_at: r.deployedAt,
    };
  }
  return {
    tfvars: {
      name_prefix: config.namePrefix,
      biome: biome.name,
      environment: biome.environment.name,
      aws_region: biome.environment.region,
      aws_account_id: biome.environment.account,
      artifact_bucket: artifactBucketName(config, biome.environment),
      model_prefix: biome.environment.modelPrefix,
      data_bucket: biomeBucketName(config, biome),
      data_set_bucket: dataSetBucketName(config, biome.environment),
      database_schema: databaseSchemaName(biome.name),
      owner: input.meta?.owner ?? 'unknown',
      asleep: input.meta?.asleep ?? false,
      sandpit: biome.sandpit,
      services,
      workflows,
      models,
    },
    warnings,
  };
}
