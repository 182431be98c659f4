import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';

/** A SageMaker runtime stand-in on 127.0.0.1, and what it was asked. */
export interface SageMakerDouble {
  /** For AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME. */
  endpoint: string;
  calls: { url: string; target: string | undefined; body: string }[];
  stop(): Promise<void>;
}

/**
 * InvokeEndpoint as the SageMaker runtime speaks it (REST JSON): `POST
 * /endpoints/<name>/invocations`, the model in `X-Amzn-SageMaker-Target-Model`,
 * the model's answer as the body. It answers the ore-grade model's shape,
 * `{ predictions: [60.123, 61.123, ...] }`, one per instance, so the real
 * SDK client in grade-predict runs unchanged.
 */
export async function startSageMakerDouble(): Promise<SageMakerDouble> {
  const calls: SageMakerDouble['calls'] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      calls.push({
        url: req.url ?? '',
        target: req.headers['x-amzn-sagemaker-target-model'] as string | undefined,
        body,
      });
      const n = (JSON.parse(body) as { instances: unknown[] }).instances.length;
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ predictions: Array.from({ length: n }, (_, i) => 60.123 + i) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
