import { createHash, randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/** A function as the double keeps it. */
export interface FakeFunction {
  name: string;
  arn: string;
  codeSha256: string;
  revisionId: string;
  lastUpdateStatus: 'Successful' | 'InProgress' | 'Failed';
  tags: Record<string, string>;
  /** Description and LastModified (ISO) as GetFunction reports them. */
  description: string;
  lastModified: string;
  /** GetFunction/GetFunctionConfiguration calls that still answer InProgress. */
  inProgressPolls: number;
  /** UpdateFunctionCode calls that will still answer ResourceConflictException. */
  conflicts: number;
  /** Calls that will still answer 429 TooManyRequestsException (Lambda's throttling). */
  throttles: number;
  /** Every code update the double applied. */
  updates: { S3Bucket: string; S3Key: string; S3ObjectVersion?: string }[];
}

export interface LambdaDouble {
  endpoint: string;
  env: Record<string, string>;
  functions: Map<string, FakeFunction>;
  calls: { method: string; path: string; body?: unknown }[];
  addFunction(name: string, initial?: Partial<FakeFunction>): FakeFunction;
  stop(): Promise<void>;
}

/**
 * A local stand-in for the AWS Lambda REST API on 127.0.0.1 (GetFunction,
 * GetFunctionConfiguration, UpdateFunctionCode, TagResource, ListTags). Like
 * Lambda, UpdateFunctionCode fetches the zip from S3 (through `fetchObject`,
 * i.e. from s3rver) and sets CodeSha256 to the base64 sha256 of its bytes; an
 * update stays InProgress for a few polls and conflicts while it does; a
 * function can be made to answer 429 TooManyRequestsException (throttling).
 */
export async function startLambdaDouble(
  fetchObject: (bucket: string, key: string) => Promise<Buffer | undefined>,
  options: { updatePolls?: number } = {},
): Promise<LambdaDouble> {
  const functions = new Map<string, FakeFunction>();
  const calls: LambdaDouble['calls'] = [];
  const configuration = (f: FakeFunction) => ({
    FunctionName: f.name,
    FunctionArn: f.arn,
    Runtime: 'nodejs22.x',
    Handler: 'main.handler',
    CodeSha256: f.codeSha256,
    Description: f.description,
    // Lambda's own format: 2026-11-30T12:00:00.000+0000.
    LastModified: f.lastModified.replace(/Z$/, '+0000'),
    Version: '$LATEST',
    RevisionId: f.revisionId,
    State: 'Active',
    LastUpdateStatus: f.lastUpdateStatus,
    ...(f.lastUpdateStatus === 'Failed' ? { LastUpdateStatusReason: 'the code could not be unzipped' } : {}),
  });
  const poll = (f: FakeFunction) => {
    if (f.lastUpdateStatus === 'InProgress' && f.inProgressPolls-- <= 0) f.lastUpdateStatus = 'Successful';
  };
  const reply = (res: ServerResponse, status: number, body?: unknown, errorType?: string) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() };
    if (errorType) headers['x-amzn-errortype'] = errorType;
    res.writeHead(status, headers);
    res.end(body === undefined ? '' : JSON.stringify(body));
  };
  const notFound = (res: ServerResponse, name: string) =>
    reply(
      res,
      404,
      { Type: 'User', Message: `Function not found: arn:aws:lambda:us-east-1:000000000000:function:${name}` },
      'ResourceNotFoundException',
    );

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', async () => {
      const path = (req.url ?? '').split('?')[0];
      const body = raw ? JSON.parse(raw) : undefined;
      calls.push({ method: req.method!, path: decodeURIComponent(path), body });
      let m: RegExpExecArray | null;
      if ((m = /^\/2015-03-31\/functions\/([^/]+)(\/configuration|\/code)?$/.exec(path))) {
        const f = functions.get(decodeURIComponent(m[1]));
        if (!f) return notFound(res, decodeURIComponent(m[1]));
        if (f.throttles > 0) {
          f.throttles -= 1;
          res.setHeader('retry-after', '1');
          return reply(
            res,
            429,
            { Type: 'User', message: 'Rate exceeded', retryAfterSeconds: '1', Reason: 'CallerRateLimitExceeded' },
            'TooManyRequestsException',
          );
        }
        if (req.method === 'GET' && !m[2]) {
          poll(f);
          return reply(res, 200, {
            Configuration: configuration(f),
            Code: { RepositoryType: 'S3', Location: 'https://example.invalid/code' },
            Tags: f.tags,
          });
        }
        if (req.method === 'GET' && m[2] === '/configuration') {
          poll(f);
          return reply(res, 200, configuration(f));
        }
        if (req.method === 'PUT' && m[2] === '/code') {
          if (f.lastUpdateStatus === 'InProgress' || f.conflicts > 0) {
            f.conflicts = Math.max(0, f.conflicts - 1);
            return reply(
              res,
              409,
              {
                Type: 'User',
                message: `The operation cannot be performed at this time. An update is in progress for resource: ${f.arn}`,
              },
              'ResourceConflictException',
            );
          }
          if (body.RevisionId && body.RevisionId !== f.revisionId)
            return reply(
              res,
              412,
              { Type: 'User', message: 'The Revision Id provided does not match the latest Revision Id.' },
              'PreconditionFailedException',
            );
          const bytes = await fetchObject(body.S3Bucket, body.S3Key);
          if (!bytes)
            return reply(
              res,
              400,
              {
                Type: 'User',
                message: `Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist.`,
              },
              'InvalidParameterValueException',
            );
          f.codeSha256 = createHash('sha256').update(bytes).digest('base64');
          f.revisionId = randomUUID();
          f.lastModified = new Date().toISOString();
          f.lastUpdateStatus = 'InProgress';
          f.inProgressPolls = options.updatePolls ?? 1;
          f.updates.push({
            S3Bucket: body.S3Bucket,
            S3Key: body.S3Key,
            ...(body.S3ObjectVersion ? { S3ObjectVersion: body.S3ObjectVersion } : {}),
          });
          return reply(res, 200, configuration(f));
        }
      }
      if ((m = /^\/2017-03-31\/tags\/(.+)$/.exec(path))) {
        const arn = decodeURIComponent(m[1]);
        const f = [...functions.values()].find((x) => x.arn === arn);
        if (!f) return notFound(res, arn);
        if (req.method === 'POST') {
          Object.assign(f.tags, body.Tags);
          return reply(res, 204);
        }
        if (req.method === 'GET') return reply(res, 200, { Tags: f.tags });
      }
      return reply(res, 400, { message: `unsupported ${req.method} ${path}` }, 'InvalidRequestContentException');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    env: { AWS_ENDPOINT_URL_LAMBDA: endpoint },
    functions,
    calls,
    addFunction(name, initial = {}) {
      const f: FakeFunction = {
        name,
        arn: `arn:aws:lambda:us-east-1:000000000000:function:${name}`,
        codeSha256: createHash('sha256').update('initial code').digest('base64'),
        revisionId: randomUUID(),
        lastUpdateStatus: 'Successful',
        tags: {},
        description: '',
        lastModified: new Date().toISOString(),
        inProgressPolls: 0,
        conflicts: 0,
        throttles: 0,
        updates: [],
        ...initial,
      };
      functions.set(name, f);
      return f;
    },
    stop: () => new Promise((r) => server.close(() => r())),
  };
}
