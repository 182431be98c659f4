import { randomUUID } from 'node:crypto';
import { createServer, request, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

export type ThrottleStyle = 'lambda' | 'sfn' | 's3';

export interface ThrottlingProxy {
  endpoint: string;
  /** Answer the next `n` requests with the service's throttling error, then pass requests through again. */
  throttleNext(n: number): void;
  /** How many requests were throttled so far. */
  throttled(): number;
  stop(): Promise<void>;
}

/**
 * An HTTP proxy on 127.0.0.1 in front of a double (or s3rver) that answers
 * throttling errors the way each AWS service does, so the real SDK client's
 * retry path runs:
 * - Lambda (REST JSON): 429 `TooManyRequestsException` (x-amzn-errortype), Reason CallerRateLimitExceeded;
 * - Step Functions (JSON 1.0): 400 `ThrottlingException` (`__type`);
 * - S3 (REST XML): 503 `SlowDown`.
 */
export async function startThrottlingProxy(upstream: string, style: ThrottleStyle): Promise<ThrottlingProxy> {
  const target = new URL(upstream);
  let pending = 0;
  let count = 0;
  const throttle = (req: IncomingMessage, res: ServerResponse) => {
    count++;
    const id = randomUUID();
    if (style === 'lambda') {
      res.writeHead(429, {
        'content-type': 'application/json',
        'x-amzn-errortype': 'TooManyRequestsException',
        'x-amzn-requestid': id,
        'retry-after': '1',
      });
      res.end(JSON.stringify({ Reason: 'CallerRateLimitExceeded', Type: 'User', message: 'Rate exceeded' }));
    } else if (style === 'sfn') {
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': id });
      res.end(JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }));
    } else {
      res.writeHead(503, { 'content-type': 'application/xml', 'x-amz-request-id': id });
      res.end(
        req.method === 'HEAD'
          ? undefined
          : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>${id}</RequestId></Error>`,
      );
    }
  };
  const server = createServer((req, res) => {
    if (pending > 0) {
      pending--;
      req.resume();
      req.on('end', () => throttle(req, res));
      return;
    }
    const out = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', (e) => {
      res.writeHead(502);
      res.end(String(e));
    });
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    throttleNext: (n) => void (pending = n),
    throttled: () => count,
    stop: () => new Promise((r) => server.close(() => r())),
  };
}
