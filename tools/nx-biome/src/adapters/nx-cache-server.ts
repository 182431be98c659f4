import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CACHE_STATUS, cacheEntryKey, CacheScopes, isCacheHash } from '../core/build-cache';
import type { StorePort } from './store/store';

/** Counters of one endpoint's life, printed when it stops. */
export interface CacheServerStats {
  hits: number;
  misses: number;
  stored: number;
  existing: number;
  readErrors: number;
  writeErrors: number;
  rejected: number;
}

export interface CacheServerOptions {
  /** Where entries live (an S3 store in CI). */
  store: StorePort;
  scopes: CacheScopes;
  /** Bearer token Nx must send (NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN); none: no check. */
  token?: string;
  /** 0 picks a free port. Always bound to 127.0.0.1. */
  port?: number;
  /** After this many failed reads (or writes) in a row the endpoint stops reading (writing) the store: S3 down, or no permission. */
  maxConsecutiveFailures?: number;
  log?: (line: string) => void;
}

export interface CacheServer {
  /** Value for NX_SELF_HOSTED_REMOTE_CACHE_SERVER. */
  url: string;
  port: number;
  stats: CacheServerStats;
  close(): Promise<void>;
}

const PATH = /^\/v1\/cache\/([^/?#]+)$/;
/** Larger entries are not cached (Nx keeps a whole entry in memory as well). */
const MAX_ENTRY_BYTES = 2 * 1024 * 1024 * 1024;

function tokenMatches(expected: string, header: string | undefined): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  // Equal-length digests, so the comparison time says nothing about the token.
  const a = createHash('sha256').update(m[1]).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function answer(res: ServerResponse, status: number, body?: Buffer | string): void {
  const bytes = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body);
  res.writeHead(status, {
    'content-type': Buffer.isBuffer(body) ? 'application/octet-stream' : 'text/plain; charset=utf-8',
    'content-length': bytes.length,
  });
  res.end(bytes);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_ENTRY_BYTES) {
        reject(new Error(`entry larger than ${MAX_ENTRY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Nx's self-hosted remote cache API (`GET`/`PUT /v1/cache/{hash}`) on
 * loopback, over a store. Entries are written once: a PUT checks for the key
 * first and then writes with `If-None-Match: *` (S3 refuses the second of two
 * racing writes; servers that ignore the header, like s3rver, keep the last).
 * Writes of one hash through this endpoint are serialised, so the first wins.
 * A store failure never fails the build: see CACHE_STATUS.
 */
export async function startCacheServer(options: CacheServerOptions): Promise<CacheServer> {
  const { store, scopes, token } = options;
  const log = options.log ?? (() => undefined);
  const maxFailures = options.maxConsecutiveFailures ?? 3;
  const stats: CacheServerStats = {
    hits: 0,
    misses: 0,
    stored: 0,
    existing: 0,
    readErrors: 0,
    writeErrors: 0,
    rejected: 0,
  };
  // Reads and writes fail apart: a role that may not write a scope (CodeBuild on
  // the default branch) still reads it.
  const breaker = { read: { inRow: 0, off: false }, write: { inRow: 0, off: false } };
  const writing = new Map<string, Promise<unknown>>();

  const storeFailed = (kind: 'read' | 'write', what: string, e: unknown) => {
    const b = breaker[kind];
    b.inRow++;
    log(`nx cache: ${what} failed, the build goes on without it: ${(e as Error)?.message ?? String(e)}`);
    if (b.inRow >= maxFailures && !b.off) {
      b.off = true;
      log(`nx cache: ${b.inRow} failed ${kind}s in a row; no more cache ${kind}s in this job`);
    }
  };

  async function read(hash: string): Promise<Buffer | undefined> {
    for (const scope of scopes.read) {
      const body = await store.get(cacheEntryKey(scope, hash));
      if (body) return body;
    }
    return undefined;
  }

  async function write(scope: string, hash: string, body: Buffer): Promise<'stored' | 'exists'> {
    const key = cacheEntryKey(scope, hash);
    // The check first: servers that ignore If-None-Match would otherwise replace the entry.
    if (await store.head(key)) return 'exists';
    const sha256 = createHash('sha256').update(body).digest('hex');
    const result = await store.put(key, body, {
      ifAbsent: true,
      sha256,
      contentType: 'application/gzip',
      metadata: { sha256 },
    });
    return result === 'written' ? 'stored' : 'exists';
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const m = PATH.exec(req.url ?? '');
    if (!m || (req.method !== 'GET' && req.method !== 'PUT')) {
      stats.rejected++;
      return answer(res, m ? 405 : 404, 'only GET and PUT /v1/cache/{hash}');
    }
    if (token !== undefined && !tokenMatches(token, req.headers.authorization)) {
      stats.rejected++;
      req.resume();
      return answer(res, CACHE_STATUS.badToken, 'missing or wrong bearer token');
    }
    const hash = decodeURIComponent(m[1]);
    if (!isCacheHash(hash)) {
      stats.rejected++;
      req.resume();
      return answer(res, CACHE_STATUS.badRequest, 'not a task hash');
    }

    if (req.method === 'GET') {
      if (breaker.read.off) return (stats.misses++, answer(res, CACHE_STATUS.miss));
      try {
        const body = await read(hash);
        breaker.read.inRow = 0;
        if (!body) return (stats.misses++, answer(res, CACHE_STATUS.miss));
        stats.hits++;
        return answer(res, CACHE_STATUS.hit, body);
      } catch (e) {
        stats.readErrors++;
        storeFailed('read', `reading ${hash}`, e);
        return answer(res, CACHE_STATUS.readFailed);
      }
    }

    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (e) {
      stats.writeErrors++;
      log(`nx cache: not storing ${hash}: ${(e as Error).message}`);
      return answer(res, CACHE_STATUS.writeFailed);
    }
    // A job that may not name its scope writes nothing (Nx reads 403 as "not stored" and goes on).
    if (scopes.write === undefined)
      return (stats.rejected++, answer(res, CACHE_STATUS.writeFailed, 'this job writes no cache scope'));
    if (breaker.write.off) return (stats.writeErrors++, answer(res, CACHE_STATUS.writeFailed, 'cache writes are off'));
    // One write per hash at a time: the second waits, then finds the first.
    const before = writing.get(hash) ?? Promise.resolve();
    const scope = scopes.write;
    const mine = before.then(() => write(scope, hash, body));
    const settled = mine.catch(() => undefined);
    writing.set(hash, settled);
    try {
      const result = await mine;
      breaker.write.inRow = 0;
      if (result === 'exists')
        return (stats.existing++, answer(res, CACHE_STATUS.exists, 'entry exists; it is never replaced'));
      stats.stored++;
      return answer(res, CACHE_STATUS.stored);
    } catch (e) {
      stats.writeErrors++;
      storeFailed('write', `storing ${hash}`, e);
      return answer(res, CACHE_STATUS.writeFailed, 'not stored');
    } finally {
      if (writing.get(hash) === settled) writing.delete(hash);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      log(`nx cache: internal error: ${(e as Error)?.stack ?? String(e)}`);
      if (!res.headersSent) answer(res, req.method === 'PUT' ? CACHE_STATUS.writeFailed : CACHE_STATUS.miss);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
