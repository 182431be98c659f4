import { createHash } from 'node:crypto';
import type { LambdaObservation, ModelObservation, ProbeFailure, StateMachineObservation } from '../core/drift';

/**
 * What the drift check reads in a workload account, one call family per
 * resource kind. Each answers what it found, that nothing is there, or why it
 * could not tell (a ProbeFailure, never an exception).
 */
export interface WorkloadProbe {
  lambda(functionName: string): Promise<LambdaObservation | ProbeFailure>;
  stateMachine(arn: string, aliasArn: string): Promise<StateMachineObservation | ProbeFailure>;
  model(bucket: string, key: string): Promise<ModelObservation | ProbeFailure>;
}

interface SdkError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
  $retryable?: { throttling?: boolean };
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'SlowDown',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'RequestThrottled',
  'RequestThrottledException',
]);
const DENIED = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'Forbidden',
]);

/** Turns an SDK error into a ProbeFailure that says what happened, after the SDK's own retries. */
export function probeFailure(e: unknown, service: string): ProbeFailure {
  const err = (e ?? {}) as SdkError;
  const status = err.$metadata?.httpStatusCode;
  const attempts = err.$metadata?.attempts;
  const name = err.name ?? 'Error';
  const tried = attempts ? ` after ${attempts} attempt(s)` : '';
  if (THROTTLING.has(name) || err.$retryable?.throttling || status === 429) {
    return {
      failure: 'throttled',
      message: `${service} answered ${name}${status ? ` (HTTP ${status})` : ''}${tried}; re-run later or raise AWS_MAX_ATTEMPTS`,
    };
  }
  // The SDK's own error when no credential source answered (no profile, keys, web identity or instance role).
  if (name === 'CredentialsProviderError')
    return { failure: 'no-credentials', message: `${service}: no AWS credentials found (${err.message ?? name})` };
  if (DENIED.has(name) || status === 403)
    return {
      failure: 'denied',
      message: `${service} answered ${name}${status ? ` (HTTP ${status})` : ''}: check the role's permissions`,
    };
  return {
    failure: 'failed',
    message: `${service} answered ${name}${status ? ` (HTTP ${status})` : ''}${tried}: ${err.message ?? String(e)}`,
  };
}

const isNotFound = (e: unknown, names: string[]) =>
  names.includes((e as SdkError)?.name ?? '') || (e as SdkError)?.$metadata?.httpStatusCode === 404;
const iso = (d: Date | string | undefined) => (d === undefined ? undefined : new Date(d).toISOString());

/**
 * The real probe: AWS SDK v3 clients on the standard credential chain, in the
 * environment's region. Endpoints come from AWS_ENDPOINT_URL_LAMBDA /
 * _SFN / _S3 (or AWS_ENDPOINT_URL); the SDK retries throttling with backoff,
 * AWS_MAX_ATTEMPTS times (default 5).
 */
export function createWorkloadProbe(input: {
  region: string;
  env?: Record<string, string | undefined>;
}): WorkloadProbe {
  const env = input.env ?? process.env;
  const maxAttempts = Number(env.AWS_MAX_ATTEMPTS) > 0 ? Number(env.AWS_MAX_ATTEMPTS) : 5;
  const common = (service: 'LAMBDA' | 'SFN' | 'S3') => {
    const endpoint = env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL;
    return { region: input.region, maxAttempts, ...(endpoint ? { endpoint } : {}) };
  };
  // Heavy SDK modules load only when a project of that kind is checked.
  const lambdaClient = once(async () => {
    const sdk = await import('@aws-sdk/client-lambda');
    return { sdk, client: new sdk.LambdaClient(common('LAMBDA')) };
  });
  const sfnClient = once(async () => {
    const sdk = await import('@aws-sdk/client-sfn');
    return { sdk, client: new sdk.SFNClient(common('SFN')) };
  });
  const s3Client = once(async () => {
    const sdk = await import('@aws-sdk/client-s3');
    const c = common('S3');
    return {
      sdk,
      client: new sdk.S3Client({
        ...c,
        forcePathStyle: 'endpoint' in c,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
    };
  });

  return {
    async lambda(functionName) {
      const { sdk, client } = await lambdaClient();
      try {
        const out = await client.send(new sdk.GetFunctionCommand({ FunctionName: functionName }));
        const c = out.Configuration ?? {};
        return {
          found: true,
          codeSha256: c.CodeSha256 ?? '',
          version: c.Version ?? '$LATEST',
          ...(c.LastModified ? { lastModified: iso(c.LastModified) } : {}),
          ...(c.Description ? { description: c.Description } : {}),
          tags: out.Tags ?? {},
        };
      } catch (e) {
        if (isNotFound(e, ['ResourceNotFoundException'])) return { found: false };
        return probeFailure(e, 'Lambda GetFunction');
      }
    },
    async stateMachine(arn, aliasArn) {
      const { sdk, client } = await sfnClient();
      let versionArn: string | undefined;
      try {
        const alias = await client.send(new sdk.DescribeStateMachineAliasCommand({ stateMachineAliasArn: aliasArn }));
        // The biome stack routes 100% to one version; with a split, the heaviest route is what mostly runs.
        versionArn = [...(alias.routingConfiguration ?? [])].sort((a, b) => (b.weight ?? 0) - (a.weight ?? 0))[0]
          ?.stateMachineVersionArn;
      } catch (e) {
        if (!isNotFound(e, ['ResourceNotFound', 'StateMachineDoesNotExist']))
          return probeFailure(e, 'Step Functions DescribeStateMachineAlias');
      }
      try {
        const sm = await client.send(new sdk.DescribeStateMachineCommand({ stateMachineArn: versionArn ?? arn }));
        return {
          found: true,
          alias: !!versionArn,
          ...(versionArn ? { versionArn } : {}),
          definition: sm.definition ?? '',
          ...(sm.description ? { description: sm.description } : {}),
          ...(sm.creationDate ? { since: iso(sm.creationDate) } : {}),
        };
      } catch (e) {
        if (isNotFound(e, ['StateMachineDoesNotExist', 'ResourceNotFound'])) return { found: false };
        return probeFailure(e, 'Step Functions DescribeStateMachine');
      }
    },
    async model(bucket, key) {
      const { sdk, client } = await s3Client();
      try {
        const head = await client.send(
          new sdk.HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }),
        );
        const meta = head.Metadata ?? {};
        const since = head.LastModified ? { lastModified: iso(head.LastModified) } : {};
        const gitSha = meta['git-sha'] ? { gitSha: meta['git-sha'] } : {};
        // A full-object SHA-256 checksum is S3's own word on the bytes; a multipart (composite) one is not comparable.
        if (head.ChecksumSHA256 && head.ChecksumType !== 'COMPOSITE' && !head.ChecksumSHA256.includes('-')) {
          return {
            found: true,
            sha256: Buffer.from(head.ChecksumSHA256, 'base64').toString('hex'),
            checkedBy: 'checksum',
            ...gitSha,
            ...since,
          };
        }
        if (meta.sha256) return { found: true, sha256: meta.sha256, checkedBy: 'metadata', ...gitSha, ...since };
        // Neither: read the bytes once and hash them.
        const body = (await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }))).Body as
          AsyncIterable<Uint8Array> | undefined;
        const hash = createHash('sha256');
        if (body) for await (const chunk of body) hash.update(chunk);
        return { found: true, sha256: hash.digest('hex'), checkedBy: 'bytes', ...gitSha, ...since };
      } catch (e) {
        if (isNotFound(e, ['NotFound', 'NoSuchKey', 'NoSuchBucket'])) return { found: false };
        return probeFailure(e, 'S3 HeadObject');
      }
    },
  };
}

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= make());
}
