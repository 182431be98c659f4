import { WorkspaceConfig, EnvironmentConfig } from './config';
import { BiomeMeta, canonicalJson, LedgerRecord } from './ledger';
import { formatTime } from './lifecycle';
import { BiomeRef, ProjectKind } from './names';
import { renderTfvars } from './tfvars';
import { renderTable } from './table';

/**
 * The bucket the shared multi-model endpoint loads from: the biome stack's
 * default (`infra/stacks/biome/main.tf`, `local.models_bucket`), the same rule
 * as the workload baseline that creates it.
 */
export function modelsBucketName(config: WorkspaceConfig, env: EnvironmentConfig): string {
  return `${config.namePrefix}-models-${env.name}-${env.account}`;
}

/** Name of the state machine alias the biome stack points at each published version. */
export const STATE_MACHINE_ALIAS = 'live';

/** What to look at in the workload account for one project, and what it should hold. */
export interface DriftTarget {
  project: string;
  kind: ProjectKind;
  gitSha: string;
  sha256: string;
  deployedAt: string;
  /** The AWS resource, for messages. */
  resource: string;
  lambda?: { functionName: string; codeSha256: string };
  stateMachine?: { arn: string; aliasArn: string; definition: string; versionDescription: string };
  model?: { bucket: string; key: string };
}

/**
 * The resources a biome's ledger says run in its account, named by the same
 * code that renders its Terraform variables (renderTfvars), so the check
 * looks exactly where Terraform put them.
 */
export function planDriftTargets(input: {
  config: WorkspaceConfig;
  biome: BiomeRef;
  meta?: BiomeMeta;
  records: LedgerRecord[];
}): DriftTarget[] {
  const { tfvars } = renderTfvars(input);
  const env = input.biome.environment;
  const modelsBucket = modelsBucketName(input.config, env);
  return [...input.records]
    .sort((a, b) => (a.project < b.project ? -1 : 1))
    .map((r): DriftTarget => {
      const base = { project: r.project, kind: r.kind, gitSha: r.gitSha, sha256: r.sha256, deployedAt: r.deployedAt };
      if (r.kind === 'service') {
        const s = tfvars.services[r.project];
        return {
          ...base,
          resource: `Lambda function ${s.function_name}`,
          lambda: { functionName: s.function_name, codeSha256: s.source_code_hash },
        };
      }
      if (r.kind === 'workflow') {
        const w = tfvars.workflows[r.project];
        const arn = `arn:aws:states:${env.region}:${env.account}:stateMachine:${w.state_machine_name}`;
        return {
          ...base,
          resource: `state machine ${w.state_machine_name}`,
          stateMachine: {
            arn,
            aliasArn: `${arn}:${STATE_MACHINE_ALIAS}`,
            definition: w.definition,
            versionDescription: w.version_description,
          },
        };
      }
      const m = tfvars.models[r.project];
      const key = `${tfvars.model_prefix}${m.target_path}`;
      return { ...base, resource: `model s3://${modelsBucket}/${key}`, model: { bucket: modelsBucket, key } };
    });
}

/** An AWS call that did not answer: throttled past the SDK's retries, refused, or failed. */
export interface ProbeFailure {
  failure: 'throttled' | 'denied' | 'no-credentials' | 'failed';
  message: string;
}

export type LambdaObservation =
  | { found: false }
  | {
      found: true;
      codeSha256: string;
      version: string;
      lastModified?: string;
      description?: string;
      tags: Record<string, string>;
    };
export type StateMachineObservation =
  | { found: false }
  | { found: true; alias: boolean; versionArn?: string; definition: string; description?: string; since?: string };
export type ModelObservation =
  | { found: false }
  | {
      found: true;
      sha256?: string;
      checkedBy: 'checksum' | 'metadata' | 'bytes';
      gitSha?: string;
      lastModified?: string;
    };
export type Observation = LambdaObservation | StateMachineObservation | ModelObservation | ProbeFailure;

export type DriftStatus = 'ok' | 'drift' | 'missing' | 'unchecked';

/** One line of the drift report. */
export interface DriftRow {
  project: string;
  kind: ProjectKind;
  resource: string;
  status: DriftStatus;
  expectedCommit: string;
  /** The commit that runs when it can be told, else what is known of the running thing. */
  running: string;
  /** When what runs was put there (ISO), when the account says. */
  since?: string;
  detail: string;
}

const SHA_IN_TEXT = /\b([0-9a-f]{40})\b/;

function commitIn(text: string | undefined): string | undefined {
  return text ? SHA_IN_TEXT.exec(text)?.[1] : undefined;
}

/** The top-level Comment of a definition, which renderWorkflowDefinition ends with `(<name> <sha>)`. */
function definitionComment(definition: string): string | undefined {
  try {
    const c = (JSON.parse(definition) as { Comment?: unknown }).Comment;
    return typeof c === 'string' ? c : undefined;
  } catch {
    return undefined;
  }
}

function sameDefinition(a: string, b: string): boolean {
  try {
    return canonicalJson(JSON.parse(a)) === canonicalJson(JSON.parse(b));
  } catch {
    return a === b;
  }
}

/**
 * The fix for projects the check could not judge, from why it could not:
 * credentials first (nothing can work without them), then permissions,
 * throttling and other failures, each only when it happened.
 */
export function explainUnchecked(
  rows: Pick<DriftRow, 'detail'>[],
  biome: { name: string; environment: { name: string; account: string } },
): string {
  const has = (what: string) => rows.some((r) => r.detail.startsWith(`not checked: ${what}`));
  const fixes: string[] = [];
  if (has('no AWS credentials')) {
    fixes.push(
      `give the check credentials for account ${biome.environment.account} (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; in CI the drift job's role CI_ROLE_ARN_DRIFT_${biome.environment.name.toUpperCase()}), then run nx run infra:biome-drift --biome=${biome.name} again`,
    );
  }
  if (has('access denied'))
    fixes.push(
      'give the role lambda:GetFunction, states:DescribeStateMachine*, states:DescribeStateMachineAlias and s3:GetObject on the models prefix',
    );
  if (has('throttled')) fixes.push('re-run later, lower --concurrency, or raise AWS_MAX_ATTEMPTS');
  if (has('the call failed'))
    fixes.push("read each project's error above (network, region, AWS_ENDPOINT_URL_* variables)");
  const text = fixes.join('; ') || "read each project's reason above";
  return `${text[0].toUpperCase()}${text.slice(1)}.`;
}

const short = (sha: string | undefined) => (sha ? sha.slice(0, 8) : undefined);
const base64ToHex = (b64: string) => Buffer.from(b64, 'base64').toString('hex');

/**
 * Judges one project: does what runs in the account carry the ledger's
 * bytes? A probe that could not answer (throttled, refused) is `unchecked`,
 * never drift.
 */
export function judgeDrift(target: DriftTarget, observed: Observation): DriftRow {
  const row = { project: target.project, kind: target.kind, resource: target.resource, expectedCommit: target.gitSha };
  if ('failure' in observed) {
    const what = {
      throttled: 'throttled by AWS (after the SDK retries)',
      denied: 'access denied',
      'no-credentials': 'no AWS credentials',
      failed: 'the call failed',
    }[observed.failure];
    return { ...row, status: 'unchecked', running: '?', detail: `not checked: ${what}: ${observed.message}` };
  }
  if (!observed.found) return { ...row, status: 'missing', running: '-', detail: `${target.resource} does not exist` };

  if (target.lambda && 'codeSha256' in observed) {
    const tagged = observed.tags['biome:git-sha'] ?? observed.tags.git_sha ?? commitIn(observed.description);
    const since = observed.lastModified ?? observed.tags['biome:deployed-at'];
    if (observed.codeSha256 === target.lambda.codeSha256) {
      return {
        ...row,
        status: 'ok',
        running: target.gitSha,
        ...(since ? { since } : {}),
        detail: `CodeSha256 matches (${observed.version})`,
      };
    }
    const running =
      tagged && tagged !== target.gitSha ? tagged : `unknown code ${base64ToHex(observed.codeSha256).slice(0, 12)}`;
    return {
      ...row,
      status: 'drift',
      running,
      ...(since ? { since } : {}),
      detail: `CodeSha256 ${observed.codeSha256} ≠ ledger ${target.lambda.codeSha256} (${observed.version})`,
    };
  }

  if (target.stateMachine && 'definition' in observed) {
    const running = commitIn(observed.description) ?? commitIn(definitionComment(observed.definition));
    const since = observed.since ? { since: observed.since } : {};
    const via = observed.alias
      ? `alias ${STATE_MACHINE_ALIAS} → ${observed.versionArn?.split(':').pop() ?? '?'}`
      : `no ${STATE_MACHINE_ALIAS} alias`;
    if (observed.alias && sameDefinition(observed.definition, target.stateMachine.definition)) {
      return {
        ...row,
        status: 'ok',
        running: running ?? target.gitSha,
        ...since,
        detail: `definition matches (${via})`,
      };
    }
    const why = observed.alias ? 'definition differs from the ledger’s' : `the ${STATE_MACHINE_ALIAS} alias is missing`;
    return { ...row, status: 'drift', running: running ?? 'unknown definition', ...since, detail: `${why} (${via})` };
  }

  if (target.model && 'checkedBy' in observed) {
    const since = observed.lastModified ? { since: observed.lastModified } : {};
    if (observed.sha256 === target.sha256)
      return {
        ...row,
        status: 'ok',
        running: observed.gitSha ?? target.gitSha,
        ...since,
        detail: `sha256 matches (by ${observed.checkedBy})`,
      };
    const detail = observed.sha256
      ? `sha256 ${observed.sha256} ≠ ledger ${target.sha256} (by ${observed.checkedBy})`
      : 'the object carries no checksum and no sha256 metadata';
    return {
      ...row,
      status: 'drift',
      running:
        observed.gitSha && observed.gitSha !== target.gitSha
          ? observed.gitSha
          : `unknown bytes${observed.sha256 ? ` ${observed.sha256.slice(0, 12)}` : ''}`,
      ...since,
      detail,
    };
  }
  return { ...row, status: 'unchecked', running: '?', detail: 'nothing to compare' };
}

/** The drift report of a biome: the rows, and whether anything differs or could not be checked. */
export interface DriftReport {
  biome: string;
  environment: string;
  checkedAt: string;
  drift: boolean;
  unchecked: number;
  rows: DriftRow[];
}

export function summarizeDrift(input: { biome: BiomeRef; now: Date; rows: DriftRow[] }): DriftReport {
  return {
    biome: input.biome.name,
    environment: input.biome.environment.name,
    checkedAt: input.now.toISOString(),
    drift: input.rows.some((r) => r.status === 'drift' || r.status === 'missing'),
    unchecked: input.rows.filter((r) => r.status === 'unchecked').length,
    rows: input.rows,
  };
}

/** The table a person reads: project, expected commit, running, since when, status and why. */
export function renderDriftTable(report: DriftReport): string {
  // Within 120 columns: the kind (in --json) makes room for the detail, which wraps; hashes in it may be cut (whole in --json).
  return renderTable(
    ['project', 'expected', 'running', 'since', 'status', 'detail'],
    report.rows.map((r) => [
      r.project,
      short(r.expectedCommit)!,
      /^[0-9a-f]{40}$/.test(r.running) ? short(r.running)! : r.running,
      formatTime(r.since),
      r.status.toUpperCase(),
      r.detail,
    ]),
  );
}
