import type { S3Client } from '@aws-sdk/client-s3';
import { BiomeError } from '../../core/errors';
import { StoredObject, StorePort } from './store';

function errorName(e: unknown): string {
  const err = e as { name?: string; Code?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  return err?.name ?? err?.Code ?? err?.code ?? '';
}

function statusOf(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

/** Turns transport and access failures into a user error that names the bucket and the fix. */
function unreachable(url: string, e: unknown): BiomeError {
  const name = errorName(e);
  const msg = (e as Error)?.message ?? String(e);
  if (name === 'NoSuchBucket')
    return new BiomeError(
      'STORE_UNREACHABLE',
      `Store ${url}: the bucket does not exist.`,
      'Create it (infra/stacks/devops) or fix BIOME_STORE / the bucket in nx-biome.json.',
    );
  if (
    name === 'AccessDenied' ||
    name === 'InvalidAccessKeyId' ||
    name === 'SignatureDoesNotMatch' ||
    statusOf(e) === 403
  ) {
    return new BiomeError(
      'STORE_UNREACHABLE',
      `Store ${url}: access denied (${name || 'HTTP 403'}).`,
      'Check AWS_PROFILE / credentials and that the role may read and write the bucket.',
    );
  }
  if (name === 'CredentialsProviderError' || /credential/i.test(msg)) {
    return new BiomeError(
      'STORE_UNREACHABLE',
      `Store ${url}: no AWS credentials found (${msg}).`,
      'Set AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN.',
    );
  }
  return new BiomeError(
    'STORE_UNREACHABLE',
    `Store ${url} is unreachable: ${name ? `${name}: ` : ''}${msg}`,
    'Check the network, AWS_REGION and AWS_ENDPOINT_URL_S3, then run again; nothing was recorded for what did not publish.',
  );
}

/**
 * An S3 bucket (optionally below a prefix) through the AWS SDK, with the
 * standard credential chain, region and endpoint variables.
 */
export function createS3Store(
  bucket: string,
  prefix: string,
  options: { client?: S3Client; url?: string } = {},
): StorePort {
  const url = options.url ?? `s3://${bucket}${prefix ? `/${prefix}` : ''}`;
  const full = (key: string) => (prefix ? `${prefix}/${key}` : key);
  let clientPromise: Promise<{ client: S3Client; sdk: typeof import('@aws-sdk/client-s3') }> | undefined;
  // The SDK costs ~0.3 s to import: load it on first use only.
  const load = () =>
    (clientPromise ??= import('@aws-sdk/client-s3').then((sdk) => {
      const endpoint = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
      const client =
        options.client ??
        new sdk.S3Client({
          region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
          forcePathStyle: !!endpoint,
          maxAttempts: 6,
          retryMode: 'adaptive',
          // Buffers only, and no aws-chunked framing: S3-compatible servers store it verbatim.
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        });
      return { client, sdk };
    }));

  async function call<T>(fn: (c: S3Client, sdk: typeof import('@aws-sdk/client-s3')) => Promise<T>): Promise<T> {
    const { client, sdk } = await load();
    try {
      return await fn(client, sdk);
    } catch (e) {
      if (e instanceof BiomeError) throw e;
      throw unreachable(url, e);
    }
  }

  return {
    url,
    bucket,
    head: (key, opts = {}) =>
      call(async (c, sdk) => {
        try {
          // ChecksumMode returns S3's own SHA-256 of the bytes (objects uploaded with ChecksumSHA256).
          const r = await c.send(
            new sdk.HeadObjectCommand({
              Bucket: bucket,
              Key: full(key),
              ChecksumMode: opts.checksum ? 'ENABLED' : undefined,
            }),
          );
          const sha256 =
            r.ChecksumSHA256 && !r.ChecksumSHA256.includes('-')
              ? Buffer.from(r.ChecksumSHA256, 'base64').toString('hex')
              : undefined;
          return {
            key,
            size: r.ContentLength ?? 0,
            metadata: r.Metadata ?? {},
            etag: r.ETag?.replace(/"/g, ''),
            ...(sha256 ? { sha256 } : {}),
          };
        } catch (e) {
          if (errorName(e) === 'NotFound' || errorName(e) === 'NoSuchKey' || statusOf(e) === 404) return undefined;
          throw e;
        }
      }),
    get: (key) =>
      call(async (c, sdk) => {
        // The SDK retries a request, not the reading of its body: a connection
        // cut mid-download is read again here, a few times.
        for (let attempt = 1; ; attempt++) {
          let r;
          try {
            r = await c.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: full(key) }));
          } catch (e) {
            if (errorName(e) === 'NoSuchKey' || statusOf(e) === 404) return undefined;
            throw e;
          }
          try {
            const body = Buffer.from(await r.Body!.transformToByteArray());
            if (r.ContentLength === undefined || body.length === r.ContentLength || attempt >= 3) return body;
          } catch (e) {
            if (attempt >= 3) throw e;
          }
          await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
        }
      }),
    put: (key, body, opts = {}) =>
      call(async (c, sdk) => {
        try {
          await c.send(
            new sdk.PutObjectCommand({
              Bucket: bucket,
              Key: full(key),
              Body: body,
              ContentLength: body.length,
              ContentType: opts.contentType ?? 'application/octet-stream',
              Metadata: opts.metadata,
              // Real S3 rejects a body whose SHA-256 differs (corruption in transit).
              ChecksumSHA256: opts.sha256 ? Buffer.from(opts.sha256, 'hex').toString('base64') : undefined,
              IfNoneMatch: opts.ifAbsent ? '*' : undefined,
            }),
          );
          return 'written' as const;
        } catch (e) {
          if (opts.ifAbsent && (errorName(e) === 'PreconditionFailed' || statusOf(e) === 412)) return 'exists' as const;
          throw e;
        }
      }),
    list: (listPrefix) =>
      call(async (c, sdk) => {
        const out: StoredObject[] = [];
        let token: string | undefined;
        do {
          const r = await c.send(
            new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: full(listPrefix), ContinuationToken: token }),
          );
          for (const o of r.Contents ?? [])
            out.push({
              key: prefix ? o.Key!.slice(prefix.length + 1) : o.Key!,
              size: o.Size ?? 0,
              ...(o.ETag ? { etag: o.ETag.replace(/"/g, '') } : {}),
            });
          token = r.IsTruncated ? r.NextContinuationToken : undefined;
        } while (token);
        return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      }),
    listFolders: (listPrefix) =>
      call(async (c, sdk) => {
        const out: string[] = [];
        let token: string | undefined;
        do {
          const r = await c.send(
            new sdk.ListObjectsV2Command({
              Bucket: bucket,
              Prefix: full(listPrefix),
              Delimiter: '/',
              ContinuationToken: token,
            }),
          );
          for (const p of r.CommonPrefixes ?? [])
            if (p.Prefix) out.push(prefix ? p.Prefix.slice(prefix.length + 1) : p.Prefix);
          token = r.IsTruncated ? r.NextContinuationToken : undefined;
        } while (token);
        return out.sort();
      }),
    delete: (keys) =>
      call(async (c, sdk) => {
        for (let i = 0; i < keys.length; i += 1000) {
          const batch = keys.slice(i, i + 1000);
          const r = await c.send(
            new sdk.DeleteObjectsCommand({
              Bucket: bucket,
              Delete: { Objects: batch.map((k) => ({ Key: full(k) })), Quiet: true },
            }),
          );
          if (r.Errors?.length)
            throw new Error(`could not delete ${r.Errors.map((x) => `${x.Key}: ${x.Code}`).join(', ')}`);
        }
      }),
  };
}
