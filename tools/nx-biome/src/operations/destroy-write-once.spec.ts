import { S3Client } from '@aws-sdk/client-s3';
import { createServer, request, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3rver, S3Server } from '../../../../test/support/s3rver';
import { createS3Store } from '../adapters/store/s3-store';
import { applyDestroy, planBiomesDestroy } from './destroy';

/**
 * Branch principals may never delete an artifact (IAM: docs/pipeline.md,
 * "Trust"). S3 then answers DeleteObjects with 200 and an AccessDenied error
 * per refused key. This front speaks DeleteObjects as S3 does, in front of
 * s3rver (which has no IAM): with `denyArtifacts`, every key below artifacts/
 * is refused; the others are deleted one by one (s3rver's own DeleteObjects
 * deletes a batch in parallel and can trip over its own empty folders).
 */
async function startDeleteFront(upstream: number, options: { denyArtifacts: boolean }) {
  const send = (method: string, path: string, headers: Record<string, string | string[] | undefined>, body?: Buffer) =>
    new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
      const up = request({ host: '127.0.0.1', port: upstream, method, path, headers }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c) => chunks.push(c));
        r.on('end', () => resolve({ status: r.statusCode ?? 500, headers: r.headers, body: Buffer.concat(chunks) }));
      });
      up.on('error', reject);
      up.end(body);
    });
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        const body = Buffer.concat(chunks);
        const [path, query = ''] = (req.url ?? '').split('?');
        if (req.method === 'POST' && /(^|&)delete(=|&|$)/.test(query)) {
          const errors: string[] = [];
          for (const [, key] of body.toString('utf8').matchAll(/<Key>([^<]*)<\/Key>/g)) {
            if (options.denyArtifacts && key.startsWith('artifacts/')) errors.push(`<Error><Key>${key}</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`);
            else await send('DELETE', `${path.replace(/\/$/, '')}/${key.split('/').map(encodeURIComponent).join('/')}`, { host: req.headers.host });
          }
          const xml = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${errors.join('')}</DeleteResult>`);
          res.writeHead(200, { 'content-type': 'application/xml', 'content-length': xml.length });
          return res.end(xml);
        }
        const r = await send(req.method ?? 'GET', req.url ?? '/', req.headers, body);
        res.writeHead(r.status, r.headers);
        res.end(r.body);
      } catch {
        res.destroy();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const BUCKET = 'geo-devops-artifacts-dev';
const SHA = 'c'.repeat(40);
const ARTIFACT = `artifacts/assay-ingest/assay-ingest-${SHA}.zip`;
const record = (biome: string) => ({ schemaVersion: 1, project: 'assay-ingest', kind: 'service', biome, environment: 'dev', artifactKey: ARTIFACT, sha256: 'f'.repeat(64), size: 3, gitSha: SHA, dirty: false, deployedAt: '2026-02-01T10:00:00.000Z', deployedBy: 'bob', settings: {} });

describe('a sandpit destroy under a role that may not delete artifacts', () => {
  let s3: S3Server;
  /** A branch principal's view of the store, and a main role's. */
  let sandpit: Awaited<ReturnType<typeof startDeleteFront>>;
  let main: Awaited<ReturnType<typeof startDeleteFront>>;
  const storeAt = (endpoint: string) => createS3Store(BUCKET, '', { client: new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }) });

  beforeAll(async () => {
    s3 = await startS3rver([BUCKET]);
    sandpit = await startDeleteFront(s3.port, { denyArtifacts: true });
    main = await startDeleteFront(s3.port, { denyArtifacts: false });
  });
  afterAll(async () => {
    await sandpit?.close();
    await main?.close();
    await s3?.stop();
  });

  async function seed(biome: string) {
    const store = storeAt(s3.endpoint);
    await store.put(ARTIFACT, Buffer.from('zip'));
    await store.put(`biomes/${biome}/ledger/assay-ingest.json`, Buffer.from(JSON.stringify(record(biome))));
    await store.put(`biomes/${biome}/biome.json`, Buffer.from(JSON.stringify({ schemaVersion: 1, biome, environment: 'dev', owner: 'bob', created: '2026-02-01T10:00:00.000Z', expires: null })));
  }

  it('removes the biome and keeps its unused artifacts, saying why; any other delete failure still fails', async () => {
    await seed('dev-x');
    const store = storeAt(sandpit.endpoint);
    const plan = await planBiomesDestroy(store, ['dev-x']);
    expect(plan.deleteArtifacts).toEqual([ARTIFACT]);
    const lines: string[] = [];
    await applyDestroy(store, plan, (l) => lines.push(l));
    const left = (await storeAt(s3.endpoint).list('')).map((o) => o.key);
    expect(left).toEqual([ARTIFACT]);
    expect(lines[0]).toBe('kept 1 unused artifact(s): this role may not delete artifacts (write-once for branch principals); a destroy under a main role removes them');

    // Not a refusal (the store is gone): the destroy fails and deletes nothing more.
    await seed('dev-y');
    const dead = storeAt('http://127.0.0.1:9');
    await expect(applyDestroy(dead, { ...plan, biomes: ['dev-y'], biomeKeys: ['biomes/dev-y/biome.json'] }, () => undefined)).rejects.toThrow();
    expect((await storeAt(s3.endpoint).list('biomes/dev-y/')).length).toBe(2);
  });

  it('with a role that may delete them (a main role), the same destroy deletes them', async () => {
    await seed('dev-z');
    const store = storeAt(main.endpoint);
    const plan = await planBiomesDestroy(store, ['dev-y', 'dev-z']);
    const lines: string[] = [];
    await applyDestroy(store, plan, (l) => lines.push(l));
    expect(await store.list('')).toEqual([]);
    expect(lines[0]).toBe('deleted 1 artifact(s)');
  });
});
