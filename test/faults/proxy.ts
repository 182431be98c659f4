import { EventEmitter } from 'node:events';
import { AddressInfo, createServer, Server, Socket } from 'node:net';

/** Which requests a fault applies to. */
export interface FaultMatch {
  method?: string;
  /** Tested against the request path including the query string. */
  path?: RegExp;
}

/** What the proxy does to a matching request. */
export type FaultAction =
  /** Forward only the first `afterBytes` bytes of the request (head + body), then drop both connections. */
  | { kind: 'cut'; afterBytes: number }
  /** Answer `503 SlowDown` (S3's throttling error) without forwarding the request. */
  | { kind: 'slowDown' }
  /** Hold the request (phase `request`) or its response (phase `response`) back for `ms`. */
  | { kind: 'delay'; ms: number; phase?: 'request' | 'response' }
  /** Forward the request but never deliver the response: the client waits until it is killed. */
  | { kind: 'hold' }
  /** Forward `afterBytes` of the request, then stop forwarding (the connection stays open). */
  | { kind: 'stall'; afterBytes: number };

export interface FaultRule {
  match?: FaultMatch;
  action: FaultAction;
  /** Share of matching requests affected (0..1), drawn from the proxy's seeded generator. Default 1. */
  rate?: number;
  /** How many requests this rule affects at most. Default: no limit. */
  times?: number;
}

/** One request as the proxy saw it. */
export interface SeenRequest {
  id: number;
  connection: number;
  method: string;
  path: string;
  /** The SDK's invocation id: the same for every attempt of one API call. */
  invocationId?: string;
  /** The SDK's attempt number (`amz-sdk-request: attempt=N`). */
  attempt?: number;
  at: number;
  fault?: FaultAction['kind'];
  status?: number;
}

export interface FaultCounts {
  connections: number;
  requests: number;
  cut: number;
  slowDown: number;
  delay: number;
  hold: number;
  stall: number;
}

/** Deterministic pseudo-random numbers (mulberry32), so a fault schedule can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HEAD_END = Buffer.from('\r\n\r\n');

function slowDownResponse(method: string, requestId: string): Buffer {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>${requestId}</RequestId></Error>`;
  const head = [
    'HTTP/1.1 503 Slow Down',
    'Content-Type: application/xml',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `x-amz-request-id: ${requestId}`,
    'Connection: close',
    '',
    '',
  ].join('\r\n');
  return Buffer.from(method === 'HEAD' ? head : head + body);
}

/**
 * A TCP proxy on 127.0.0.1 in front of an S3-compatible server. It reads the
 * HTTP request framing (head + Content-Length body) so that faults apply per
 * request even on kept-alive connections, and records every request it saw.
 * Faults: cut a connection after N bytes, delay a request or its response,
 * answer 503 SlowDown, or hold a response forever (to kill a client at a
 * point observed from outside).
 */
export class FaultProxy extends EventEmitter {
  readonly seen: SeenRequest[] = [];
  readonly counts: FaultCounts = { connections: 0, requests: 0, cut: 0, slowDown: 0, delay: 0, hold: 0, stall: 0 };
  /** Most requests waiting for a response at the same time. */
  maxInFlight = 0;
  /** The requests in flight when maxInFlight was reached. */
  peak: SeenRequest[] = [];
  private inFlight = 0;
  private open = new Set<SeenRequest>();
  private rules: (FaultRule & { used: number })[] = [];
  private random: () => number;
  private sockets = new Set<Socket>();
  private server: Server;
  private nextId = 1;
  private upstreamReady: Promise<number>;
  private resume?: (port: number) => void;
  port = 0;

  constructor(
    private upstreamPort: number,
    seed = 1,
  ) {
    super();
    this.random = seeded(seed);
    this.upstreamReady = Promise.resolve(upstreamPort);
    this.server = createServer((client) => this.handle(client));
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Points the proxy at another server port (after a restart). */
  setUpstream(port: number): void {
    this.upstreamPort = port;
    this.resume?.(port);
    this.resume = undefined;
    this.upstreamReady = Promise.resolve(port);
  }

  /** Makes new upstream connections wait until the next setUpstream (a server restart). */
  suspend(): void {
    if (this.resume) return;
    this.upstreamReady = new Promise((resolve) => (this.resume = resolve));
  }

  addRule(rule: FaultRule): void {
    this.rules.push({ ...rule, used: 0 });
  }

  clearRules(): void {
    this.rules = [];
  }

  /** Total faults injected so far. */
  faultsInjected(): number {
    const c = this.counts;
    return c.cut + c.slowDown + c.delay + c.hold + c.stall;
  }

  /** Requests seen from index `from` on that match. */
  requests(match: FaultMatch = {}, from = 0): SeenRequest[] {
    return this.seen.slice(from).filter((r) => matches(match, r.method, r.path));
  }

  /** Resolves with the first request (from now on) that matches. */
  waitFor(match: FaultMatch, timeoutMs = 60_000): Promise<SeenRequest> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('request', onRequest);
        reject(new Error(`no request matching ${match.method ?? '*'} ${match.path ?? '*'} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onRequest = (r: SeenRequest) => {
        if (!matches(match, r.method, r.path)) return;
        clearTimeout(timer);
        this.off('request', onRequest);
        resolve(r);
      };
      this.on('request', onRequest);
    });
  }

  /**
   * Resolves with the first request (from now on) that matches once the store
   * has answered it: the write it carries is complete (s3rver writes an object
   * in place, so a request merely seen may still be half-written).
   */
  waitForResponse(match: FaultMatch, timeoutMs = 60_000): Promise<SeenRequest> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('response', onResponse);
        reject(
          new Error(`no answered request matching ${match.method ?? '*'} ${match.path ?? '*'} within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      const onResponse = (r: SeenRequest) => {
        if (!matches(match, r.method, r.path)) return;
        clearTimeout(timer);
        this.off('response', onResponse);
        resolve(r);
      };
      this.on('response', onResponse);
    });
  }

  /** Drops every open connection (what a dying server does to its clients). */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private choose(method: string, path: string): FaultAction | undefined {
    for (const rule of this.rules) {
      if (rule.times !== undefined && rule.used >= rule.times) continue;
      if (!matches(rule.match ?? {}, method, path)) continue;
      if (rule.rate !== undefined && this.random() >= rule.rate) continue;
      rule.used++;
      return rule.action;
    }
    return undefined;
  }

  private handle(client: Socket): void {
    const connection = ++this.counts.connections;
    this.sockets.add(client);
    let upstream: Socket | undefined;
    let writeUp: (b: Buffer) => unknown = () => undefined;
    let buffered = Buffer.alloc(0);
    /** Bytes of the current request's body still to forward. */
    let bodyLeft = 0;
    let current: { req: SeenRequest; action?: FaultAction; forwarded: number; waiting: boolean } | undefined;
    let passthrough = false;
    let closed = false;
    let queue: Promise<void> = Promise.resolve();
    const pending: SeenRequest[] = [];
    const actions = new Map<SeenRequest, FaultAction | undefined>();
    /** The fault of the request whose response is streaming back now. */
    let responding: FaultAction | undefined;

    const close = () => {
      if (closed) return;
      closed = true;
      for (const r of pending.splice(0)) this.settle(r);
      client.destroy();
      upstream?.destroy();
      this.sockets.delete(client);
    };

    const connectUpstream = () => {
      if (upstream) return upstream;
      const socket = new Socket();
      upstream = socket;
      this.sockets.add(socket);
      // While the server is down for a restart, new connections wait here (as behind a load balancer).
      const backlog: Buffer[] = [];
      let connected = false;
      socket.on('connect', () => {
        connected = true;
        for (const b of backlog.splice(0)) socket.write(b);
      });
      void this.upstreamReady.then((port) => !closed && socket.connect(port, '127.0.0.1'));
      writeUp = (b) => (connected ? socket.write(b) : backlog.push(b));
      socket.on('data', (chunk: Buffer) => {
        const head = pending[0];
        if (head && head.status === undefined) {
          const m = /^HTTP\/1\.[01] (\d{3})/.exec(chunk.subarray(0, 16).toString('latin1'));
          if (m && m[1] !== '100') {
            responding = actions.get(head);
            this.settle(pending.shift()!, Number(m[1]));
          }
        }
        if (responding?.kind === 'hold') return;
        if (responding?.kind === 'delay' && responding.phase === 'response') {
          const ms = responding.ms;
          setTimeout(() => !closed && client.write(chunk), ms);
          return;
        }
        if (!closed) client.write(chunk);
      });
      socket.on('error', close);
      socket.on('close', close);
      return socket;
    };

    const forward = (bytes: Buffer) => {
      if (bytes.length === 0) return;
      const c = current;
      if (c?.action?.kind === 'cut' || c?.action?.kind === 'stall') {
        const room = c.action.afterBytes - c.forwarded;
        if (room <= bytes.length) {
          if (room > 0) {
            connectUpstream();
            writeUp(bytes.subarray(0, room));
          }
          c.forwarded += Math.max(room, 0);
          if (c.action.kind === 'cut') close();
          else c.waiting = true;
          return;
        }
      }
      if (c?.waiting) return;
      if (c) c.forwarded += bytes.length;
      connectUpstream();
      writeUp(bytes);
    };

    const pump = async () => {
      while (!closed && buffered.length > 0) {
        if (passthrough) {
          forward(buffered);
          buffered = Buffer.alloc(0);
          return;
        }
        if (bodyLeft > 0) {
          const part = buffered.subarray(0, bodyLeft);
          buffered = buffered.subarray(part.length);
          bodyLeft -= part.length;
          if (current?.action?.kind !== 'slowDown') forward(part);
          if (bodyLeft === 0 && current?.action?.kind === 'slowDown') {
            client.end(slowDownResponse(current.req.method, `proxy-${current.req.id}`));
            this.settle(current.req, 503);
            closed = true;
            upstream?.destroy();
          }
          continue;
        }
        const end = buffered.indexOf(HEAD_END);
        if (end < 0) return;
        const headBytes = buffered.subarray(0, end + 4);
        buffered = buffered.subarray(end + 4);
        const lines = headBytes.toString('latin1').split('\r\n');
        const [method, path] = lines[0].split(' ');
        const headers = new Map<string, string>();
        for (const line of lines.slice(1)) {
          const i = line.indexOf(':');
          if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
        }
        const attempt = /attempt=(\d+)/.exec(headers.get('amz-sdk-request') ?? '');
        const req: SeenRequest = {
          id: this.nextId++,
          connection,
          method,
          path,
          invocationId: headers.get('amz-sdk-invocation-id'),
          attempt: attempt ? Number(attempt[1]) : undefined,
          at: Date.now(),
        };
        const action = this.choose(method, path);
        if (action) {
          req.fault = action.kind;
          this.counts[action.kind]++;
        }
        this.counts.requests++;
        this.seen.push(req);
        this.inFlight++;
        this.open.add(req);
        if (this.inFlight > this.maxInFlight) {
          this.maxInFlight = this.inFlight;
          this.peak = [...this.open];
        }
        current = { req, action, forwarded: 0, waiting: false };
        actions.set(req, action);
        if (headers.get('transfer-encoding')?.includes('chunked')) passthrough = true;
        bodyLeft = passthrough ? 0 : Number(headers.get('content-length') ?? 0);
        this.emit('request', req);
        if (action?.kind === 'slowDown') {
          if (bodyLeft === 0) {
            client.end(slowDownResponse(method, `proxy-${req.id}`));
            this.settle(req, 503);
            closed = true;
            upstream?.destroy();
            return;
          }
          continue;
        }
        if (action?.kind === 'delay' && action.phase !== 'response') await new Promise((r) => setTimeout(r, action.ms));
        pending.push(req);
        forward(headBytes);
      }
    };

    client.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      queue = queue.then(pump);
    });
    client.on('error', close);
    client.on('close', close);
  }

  private settle(req: SeenRequest, status?: number): void {
    if (status !== undefined) req.status = status;
    if ((req as { settled?: boolean }).settled) return;
    (req as { settled?: boolean }).settled = true;
    this.inFlight--;
    this.open.delete(req);
    this.emit('response', req);
  }
}

function matches(match: FaultMatch, method: string, path: string): boolean {
  return (!match.method || match.method === method) && (!match.path || match.path.test(path));
}

/** Starts a fault proxy on 127.0.0.1 in front of `upstreamPort`. */
export function startFaultProxy(upstreamPort: number, seed = 1): Promise<FaultProxy> {
  return new FaultProxy(upstreamPort, seed).listen();
}
