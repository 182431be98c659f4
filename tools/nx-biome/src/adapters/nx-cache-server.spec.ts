import { createServer, request, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { S3Client } from '@aws-sdk/client-s3';
import { startS3rver, S3Server } from '../../../../test/support/s3rver';
import { planCacheScopes } from '../core/build-cache';
import { CacheServer, startCacheServer } from './nx-cache-server';
import { createS3Store } from './store/s3-store';

const BUCKET = 'geo-nx-cache-spec';

async function call(url: string, method: 'GET' | 'PUT', hash: string, body?: Buffer, token?: string) {
  const res = await fetch(`${url}/v1/cache/${hash}`, {
    method,
    body: body ? new Uint8Array(body) : undefined,
    headers: { 'content-type': 'application/octet-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

/**
 * What real S3 does with `If-None-Match: *` (PutObject conditional writes),
 * in front of s3rver, which ignores the header: a PUT with it on an existing
 * key answers 412 PreconditionFailed. Optionally it holds PUTs of one key until
 * `barrier` of them have arrived, so two writers are sure to race. It records
 * the If-None-Match header of every PUT.
 */
async function startS3Front(upstream: number, options: { enforce: boolean; barrier?: number }) {
  const conditions: (string | undefined)[] = [];
  const waiting = new Map<string, (() => void)[]>();
  let chain = Promise.resolve();
  const forward = (
    req: import('node:http').IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const up = request(
        { host: '127.0.0.1', port: upstream, method: req.method, path: req.url, headers: req.headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 500, headers: res.headers, body: Buffer.concat(chunks) }),
          );
        },
      );
      up.on('error', reject);
      up.end(body);
    });
  const head = (path: string) =>
    new Promise<number>((resolve, reject) => {
      const up = request(
        { host: '127.0.0.1', port: upstream, method: 'HEAD', path },
        (res) => (res.resume(), resolve(res.statusCode ?? 500)),
      );
      up.on('error', reject);
      up.end();
    });
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const path = (req.url ?? '').split('?')[0];
      if (req.method === 'PUT') {
        conditions.push(req.headers['if-none-match'] as string | undefined);
        if (options.barrier) {
          const list = waiting.get(path) ?? [];
          await new Promise<void>((release) => {
            list.push(release);
            waiting.set(path, list);
            if (list.length >= options.barrier!) for (const r of list) r();
          });
        }
      }
      // One conditional write at a time, in arrival order, as S3 decides them.
      const turn = chain.then(async () => {
        if (
          req.method === 'PUT' &&
          options.enforce &&
          req.headers['if-none-match'] === '*' &&
          (await head(path)) === 200
        ) {
          return {
            status: 412,
            headers: { 'content-type': 'application/xml' },
            body: Buffer.from(
              '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>',
            ),
          };
        }
        return forward(req, body);
      });
      chain = turn.then(
        () => undefined,
        () => undefined,
      );
      try {
        const r = await turn;
        res.writeHead(r.status, { ...r.headers, 'content-length': r.body.length });
        res.end(r.body);
      } catch {
        res.destroy();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    conditions,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('Nx cache endpoint over S3 (s3rver)', () => {
  let s3: S3Server;
  const servers: CacheServer[] = [];
  const main = planCacheScopes({ mainBranch: 'main', env: { CI_COMMIT_REF_NAME: 'main' } });
  const branch = planCacheScopes({ mainBranch: 'main', env: { CI_COMMIT_REF_NAME: 'feature/a' } });
  // Each store gets its own client aimed at an explicit loopback endpoint (s3rver, the front, or a dead port).
  const storeAt = (endpoint: string) =>
    createS3Store(BUCKET, 'nx', {
      client: new S3Client({
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        maxAttempts: 1,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
    });
  const open = async (scopes = main, token?: string, endpoint = s3.endpoint) => {
    const server = await startCacheServer({ store: storeAt(endpoint), scopes, token });
    servers.push(server);
    return server;
  };
  const stored = (key: string) => storeAt(s3.endpoint).get(key);

  beforeAll(async () => {
    s3 = await startS3rver([BUCKET]);
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it('answers 404 on a miss, 200 on a write, then 200 with the same bytes; a second write of the hash is 409 and changes nothing', async () => {
    const server = await open();
    expect((await call(server.url, 'GET', '1001')).status).toBe(404);
    expect((await call(server.url, 'PUT', '1001', Buffer.from('first'))).status).toBe(200);
    const hit = await call(server.url, 'GET', '1001');
    expect(hit).toEqual({ status: 200, body: Buffer.from('first') });
    expect((await call(server.url, 'PUT', '1001', Buffer.from('second'))).status).toBe(409);
    expect(await stored('main/1001.tar.gz')).toEqual(Buffer.from('first'));
    expect(server.stats).toMatchObject({ hits: 1, misses: 1, stored: 1, existing: 1 });
  });

  it('a job with no scope to write (BIOME_NX_CACHE_SCOPE=none, no ref) reads main\'s entries and stores nothing: 403, which Nx reads as "not stored"', async () => {
    await call((await open(main)).url, 'PUT', '1501', Buffer.from('from main'));
    const readOnly = await open(planCacheScopes({ mainBranch: 'main', env: { BIOME_NX_CACHE_SCOPE: 'none' } }));
    expect(await call(readOnly.url, 'GET', '1501')).toEqual({ status: 200, body: Buffer.from('from main') });
    expect((await call(readOnly.url, 'PUT', '1502', Buffer.from('planted'))).status).toBe(403);
    expect((await storeAt(s3.endpoint).list('')).map((o) => o.key).filter((k) => k.includes('1502'))).toEqual([]);
    expect(readOnly.stats).toMatchObject({ hits: 1, stored: 0, rejected: 1 });
  });

  it('with a token: 401 without it or with a wrong one, and nothing is written', async () => {
    const server = await open(main, 's3cret');
    expect((await call(server.url, 'GET', '2001')).status).toBe(401);
    expect((await call(server.url, 'GET', '2001', undefined, 'wrong')).status).toBe(401);
    expect((await call(server.url, 'PUT', '2001', Buffer.from('x'), 'wrong')).status).toBe(401);
    expect(await stored('main/2001.tar.gz')).toBeUndefined();
    expect((await call(server.url, 'PUT', '2001', Buffer.from('x'), 's3cret')).status).toBe(200);
    expect((await call(server.url, 'GET', '2001', undefined, 's3cret')).status).toBe(200);
  });

  it('refuses what is not a task hash (no key outside the scope)', async () => {
    const server = await open();
    expect((await call(server.url, 'PUT', '..%2F..%2Fmain%2Fx', Buffer.from('x'))).status).toBe(400);
    expect((await call(server.url, 'GET', 'a.b')).status).toBe(400);
    for (const o of await storeAt(s3.endpoint).list(''))
      expect(o.key).toMatch(/^(main|branches\/[^/]+)\/[0-9]+\.tar\.gz$/);
  });

  it("a branch writes its own scope and reads its own, then main's; main never reads the branch", async () => {
    const onMain = await open(main);
    const onBranch = await open(branch);
    await call(onMain.url, 'PUT', '3001', Buffer.from('from main'));
    expect(await call(onBranch.url, 'GET', '3001')).toEqual({ status: 200, body: Buffer.from('from main') });
    expect((await call(onBranch.url, 'PUT', '3002', Buffer.from('from branch'))).status).toBe(200);
    expect(await stored('branches/feature~2fa/3002.tar.gz')).toEqual(Buffer.from('from branch'));
    expect(await stored('main/3002.tar.gz')).toBeUndefined();
    expect((await call(onMain.url, 'GET', '3002')).status).toBe(404);
    // A branch entry of a hash main already has: the branch's own scope wins for the branch only.
    expect((await call(onBranch.url, 'PUT', '3001', Buffer.from('branch copy'))).status).toBe(200);
    expect((await call(onMain.url, 'GET', '3001')).body).toEqual(Buffer.from('from main'));
  });

  it('two concurrent writes of one hash through one endpoint: the first is kept, the second gets 409', async () => {
    const server = await open();
    const [a, b] = await Promise.all([
      call(server.url, 'PUT', '4001', Buffer.from('first')),
      call(server.url, 'PUT', '4001', Buffer.from('second')),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const winner = a.status === 200 ? 'first' : 'second';
    expect(await stored('main/4001.tar.gz')).toEqual(Buffer.from(winner));
    expect((await call(server.url, 'GET', '4001')).body).toEqual(Buffer.from(winner));
  });

  it('two jobs racing on one hash where the store enforces If-None-Match (S3): the first write is kept', async () => {
    const front = await startS3Front(s3.port, { enforce: true, barrier: 2 });
    try {
      const jobA = await open(main, undefined, front.endpoint);
      const jobB = await open(main, undefined, front.endpoint);
      // Both check the key (absent) before either writes: only the conditional write can decide.
      const [a, b] = await Promise.all([
        call(jobA.url, 'PUT', '5001', Buffer.from('job A')),
        call(jobB.url, 'PUT', '5001', Buffer.from('job B')),
      ]);
      expect([a.status, b.status].sort()).toEqual([200, 409]);
      expect(front.conditions).toEqual(['*', '*']);
      expect(await stored('main/5001.tar.gz')).toEqual(Buffer.from(a.status === 200 ? 'job A' : 'job B'));
    } finally {
      await front.close();
    }
  });

  it('the same race where the store ignores If-None-Match (s3rver): the later write replaces the entry', async () => {
    // Documented limit: only a store that honours conditional writes (S3) closes
    // the window between the check and the write across jobs.
    const front = await startS3Front(s3.port, { enforce: false, barrier: 2 });
    try {
      const jobA = await open(main, undefined, front.endpoint);
      const jobB = await open(main, undefined, front.endpoint);
      const [a, b] = await Promise.all([
        call(jobA.url, 'PUT', '6001', Buffer.from('job A')),
        call(jobB.url, 'PUT', '6001', Buffer.from('job B')),
      ]);
      expect([a.status, b.status]).toEqual([200, 200]);
      expect(front.conditions).toEqual(['*', '*']);
      const final = await stored('main/6001.tar.gz');
      expect(['job A', 'job B']).toContain(final?.toString());
    } finally {
      await front.close();
    }
  });

  it('with the store down: reads are misses (404), writes are refused without failing (403), and after 3 failures of a kind the store is left alone', async () => {
    const dead = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const server = await open(main, undefined, `http://127.0.0.1:${dead}`);
    for (const hash of ['7001', '7002', '7003']) {
      expect((await call(server.url, 'GET', hash)).status).toBe(404);
      expect((await call(server.url, 'PUT', hash, Buffer.from('x'))).status).toBe(403);
    }
    expect(server.stats).toMatchObject({ readErrors: 3, writeErrors: 3, misses: 0 });
    // Off now: answered at once without the store (a plain miss, a refused write).
    expect((await call(server.url, 'GET', '7004')).status).toBe(404);
    expect((await call(server.url, 'PUT', '7004', Buffer.from('x'))).status).toBe(403);
    expect(server.stats).toMatchObject({ readErrors: 3, writeErrors: 4, misses: 1 });
  });

  it('where the role may not write the scope (S3 answers 403), writes are refused and turned off, reads go on', async () => {
    const seed = await open(main);
    await call(seed.url, 'PUT', '8001', Buffer.from('from release'));
    // In front of s3rver: every PUT is AccessDenied, as IAM answers CodeBuild writing main/.
    const front = createServer((req, res) => {
      if (req.method === 'PUT') {
        req.resume();
        res.writeHead(403, { 'content-type': 'application/xml' });
        res.end(
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>',
        );
        return;
      }
      const up = request(
        { host: '127.0.0.1', port: s3.port, method: req.method, path: req.url, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 500, r.headers);
          r.pipe(res);
        },
      );
      req.pipe(up);
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    try {
      const server = await open(main, undefined, `http://127.0.0.1:${(front.address() as AddressInfo).port}`);
      for (const hash of ['8101', '8102', '8103', '8104'])
        expect((await call(server.url, 'PUT', hash, Buffer.from('x'))).status).toBe(403);
      expect(server.stats.writeErrors).toBe(4);
      expect(await call(server.url, 'GET', '8001')).toEqual({ status: 200, body: Buffer.from('from release') });
      expect((await call(server.url, 'GET', '8101')).status).toBe(404);
      expect(await stored('main/8101.tar.gz')).toBeUndefined();
    } finally {
      await new Promise<void>((r) => front.close(() => r()));
    }
  });
});
