import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { BiomeError } from '../core/errors';
import { StorePort } from '../adapters/store/store';

/**
 * Leases kept in the store itself, so that every machine that can write the
 * store takes part (CI jobs, laptops, the S3 bucket or the folder store).
 *
 * The protocol needs no conditional write (s3rver ignores `If-None-Match`, and
 * older S3-compatible servers do too), only that a listing shows every object
 * whose write finished before the listing began (S3 is strongly consistent
 * since 2020; the folder store trivially so):
 *
 * 1. write `locks/<scope>/<mode>.<id>.<generation>.json`;
 * 2. list `locks/<scope>/`;
 * 3. hold the lease when no other live entry conflicts with it (exclusive
 *    conflicts with everything, shared only with exclusive); otherwise
 *    delete the entry, wait a random while and start again.
 *
 * Two contenders that both wrote before either listed see each other and
 * both back off; one that listed before the other wrote is seen by the
 * other. So two conflicting leases are never held at once.
 *
 * A holder renews its lease every `ttlMs / 4` by writing the next generation
 * and deleting the previous one. A waiter treats an entry it has seen
 * unchanged for longer than `ttlMs` (on its own monotonic clock, so clock
 * skew between machines does not matter) as left by a crashed holder and
 * deletes it; an entry of a process of the same machine that has exited is
 * deleted at once.
 */
export type LeaseMode = 'shared' | 'exclusive';

export interface LeaseOptions {
  /** How long a holder may go without renewing before waiters take over (default 2 min). */
  ttlMs?: number;
  /** How long to wait for a conflicting holder before failing with BIOME_LOCKED (default 10 min). */
  waitMs?: number;
  /** What the lease is for, shown to whoever waits for it. */
  purpose?: string;
}

export interface Lease {
  /** The generation of the holder's entry now (0 when taken, +1 at each renewal). */
  readonly generation: number;
  /**
   * The fence every write under the lease goes through: LEASE_LOST when this
   * holder may no longer hold it (it went longer than half the lease time
   * without a confirmed renewal, e.g. a stopped process, or its entry of the
   * current generation is gone from the store). Never renews by itself.
   */
  assertHeld(): Promise<void>;
  release(): Promise<void>;
}

const ENTRY = /^(shared|exclusive)\.([0-9a-f]+)\.(\d+)\.json$/;
/**
 * How long one HEAD of a lease entry answers the fence's "is it still stored"
 * for every write under that lease: the writes of a batch share it. A second
 * off the fence's 60 s margin (docs/reliability.md, fencing).
 */
const CONFIRMATION_REUSE_MS = 1000;
const DEFAULT_TTL_MS = 120_000;
const DEFAULT_WAIT_MS = 600_000;

const envMs = (name: string) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v * 1000 : undefined;
};

/** The prefix of a scope's lease entries: `locks/<scope>/`. */
export const lockPrefix = (scope: string) => `locks/${scope}/`;

/** Lease scope of one biome (sleep, destroy, promote, rollback and deploy serialise on it). */
export const biomeScope = (biome: string) => `biomes/${biome}`;

/**
 * Lease scope of artifact collection for the main biomes: their record writes
 * share it, a destroy deleting artifacts holds it alone. Branch principals may
 * not write below it (IAM, docs/reliability.md "Collection leases"), so a
 * branch can never make a main deploy wait.
 */
export const GC_SCOPE = 'gc';

/** Lease scope of artifact collection for the sandpits: their record writes share it, a destroy holds it alone. */
export const SANDPIT_GC_SCOPE = 'gc-sandpits';

/**
 * The collection scope a record write of `biome` shares: a sandpit's
 * (`<env>-<suffix>`; environment names have no "-") or the main biomes'.
 */
export const collectionScope = (biome: string) => (biome.includes('-') ? SANDPIT_GC_SCOPE : GC_SCOPE);

const markers = new Set<string>();

/** The lease entries this process writes or holds now (store URL + key): any other entry of this process is a leftover. */
const liveEntries = new Set<string>();
const entryId = (store: StorePort, key: string) => `${store.url}\0${key}`;

/**
 * True when an entry was written by a process of this machine that no longer
 * runs (killed, crashed): its lease is over now, not after the timeout.
 * Entries of other machines wait for the timeout.
 */
async function heldByDeadProcess(store: StorePort, key: string): Promise<boolean> {
  let holder: { host?: unknown; pid?: unknown };
  try {
    holder = JSON.parse((await store.get(key))?.toString('utf8') ?? '{}');
  } catch {
    return false;
  }
  if (holder.host !== hostname() || typeof holder.pid !== 'number') return false;
  // This process's own entry that no lease of it holds any more: left by a release that failed (store down).
  if (holder.pid === process.pid) return !liveEntries.has(entryId(store, key));
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * A permanent object in the scope's prefix. Some S3-compatible servers keep
 * objects as files and remove a folder once it is empty: a lease written
 * while the last other entry is deleted then fails on the vanished folder
 * (s3rver even crashes). With one object that is never deleted, the folder
 * never empties. On S3 it is one small object per scope.
 */
async function ensureScopeMarker(store: StorePort, prefix: string): Promise<void> {
  const id = `${store.url}\0${prefix}`;
  if (markers.has(id)) return;
  await store.put(`${prefix}scope.json`, Buffer.from('{"purpose":"keeps this lease folder in place"}\n'), {
    contentType: 'application/json',
  });
  markers.add(id);
}

/** Takes a lease on `scope` in `store`; BIOME_LOCKED when a conflicting holder keeps it beyond the wait. */
export async function acquireLease(
  store: StorePort,
  scope: string,
  mode: LeaseMode,
  options: LeaseOptions = {},
): Promise<Lease> {
  const ttlMs = options.ttlMs ?? envMs('BIOME_LOCK_TTL_SECONDS') ?? DEFAULT_TTL_MS;
  const waitMs = options.waitMs ?? envMs('BIOME_LOCK_WAIT_SECONDS') ?? DEFAULT_WAIT_MS;
  const id = randomBytes(8).toString('hex');
  const prefix = lockPrefix(scope);
  const body = () =>
    Buffer.from(
      `${JSON.stringify({ mode, host: hostname(), pid: process.pid, purpose: options.purpose ?? '', at: new Date().toISOString() })}\n`,
    );
  const firstSeen = new Map<string, number>();
  const started = performance.now();
  let generation = 0;
  let key = `${prefix}${mode}.${id}.${generation}.json`;
  await ensureScopeMarker(store, prefix);

  // When the entry that counts was sent: a waiter first sees it later and deletes it no sooner
  // than ttlMs after that, so the holder may trust its lease for ttlMs / 2 from here.
  let confirmed = { mono: performance.now(), wall: Date.now() };
  for (let attempt = 0; ; attempt++) {
    // A new key for every attempt: a waiter judges an entry stale by its name staying in place,
    // so a name written again after a back-off must not carry the age of the earlier one.
    generation = attempt;
    key = `${prefix}${mode}.${id}.${generation}.json`;
    confirmed = { mono: performance.now(), wall: Date.now() };
    liveEntries.add(entryId(store, key));
    let others: string[];
    try {
      await store.put(key, body(), { contentType: 'application/json' });
      others = (await store.list(prefix)).map((o) => o.key).filter((k) => k !== key);
    } catch (e) {
      liveEntries.delete(entryId(store, key));
      throw e;
    }
    const now = performance.now();
    const stale: string[] = [];
    const conflicts: string[] = [];
    for (const k of others) {
      const m = ENTRY.exec(k.slice(prefix.length));
      if (!m || m[2] === id) continue;
      if (!firstSeen.has(k)) firstSeen.set(k, now);
      if (now - firstSeen.get(k)! > ttlMs) stale.push(k);
      else if (mode === 'exclusive' || m[1] === 'exclusive') {
        if (await heldByDeadProcess(store, k)) stale.push(k);
        else conflicts.push(k);
      }
    }
    if (stale.length) await store.delete(stale);
    if (conflicts.length === 0) break;
    await store.delete([key]).finally(() => liveEntries.delete(entryId(store, key)));
    if (now - started > waitMs) {
      const holders = await Promise.all(conflicts.map(async (k) => (await store.get(k))?.toString('utf8').trim() ?? k));
      throw new BiomeError(
        'BIOME_LOCKED',
        `${store.url}: ${scope} is busy (${options.purpose ?? mode} waited ${Math.round(waitMs / 1000)} s); held by ${holders.join('; ')}.`,
        'Wait for the other job to finish and run again; a lease left by a crashed job expires by itself within a few minutes.',
      );
    }
    // Random back-off, growing to a few seconds: contenders that saw each other do not meet again.
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(3000, 50 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random())),
    );
  }

  // Lost for good once a check fails: a resumed holder never writes a new
  // generation that would make its lease look held again.
  let lost: string | undefined;
  const validFor = ttlMs / 2;
  const expired = () => {
    // The wall clock too: a monotonic clock stands still while a laptop sleeps.
    const elapsed = Math.max(performance.now() - confirmed.mono, Date.now() - confirmed.wall);
    return elapsed > validFor
      ? `this process went ${Math.round(elapsed / 1000)} s without renewing it (stopped or paused; the lease lasts ${Math.round(ttlMs / 1000)} s)`
      : undefined;
  };
  const lose = (why: string) => {
    lost ??= why;
    clearInterval(timer);
    return new BiomeError(
      'LEASE_LOST',
      `${store.url}: the lease on ${scope} (${options.purpose ?? mode}) is lost: ${lost}; another writer may hold it now, so nothing more is written under it.`,
      'Run the command again: it takes the lease anew and works on the store as it is now.',
    );
  };

  // The store's word: the entry of the current generation is still there (a renewal may
  // move it to the next generation while we look: then look at that one).
  const askStore = async () => {
    for (let look = 0; look < 3; look++) {
      const looked = key;
      if (await store.head(looked)) return;
      if (looked === key) break;
    }
    throw lose(`its entry ${key} is gone from the store (another writer judged it expired)`);
  };
  let storeWord: { sent: number; answer: Promise<void> } | undefined;

  let renewing: Promise<void> = Promise.resolve();
  const timer = setInterval(
    () => {
      renewing = renewing
        .then(async () => {
          if (lost) return;
          const why = expired();
          if (why) {
            lose(why);
            return;
          }
          const sent = { mono: performance.now(), wall: Date.now() };
          const next = `${prefix}${mode}.${id}.${generation + 1}.json`;
          liveEntries.add(entryId(store, next));
          await store.put(next, body(), { contentType: 'application/json' }).catch((e: unknown) => {
            liveEntries.delete(entryId(store, next));
            throw e;
          });
          const previous = key;
          key = next;
          generation++;
          confirmed = sent;
          await store.delete([previous]);
          liveEntries.delete(entryId(store, previous));
        })
        .catch(() => undefined);
    },
    Math.max(1000, ttlMs / 4),
  );
  timer.unref();
  return {
    get generation() {
      return generation;
    },
    async assertHeld() {
      if (lost) throw lose(lost);
      const why = expired();
      if (why) throw lose(why);
      // The store's word, shared by the checks of one moment: a batch writing records 8 at a time
      // asks once per CONFIRMATION_REUSE_MS, not once per write (the time check above is per write).
      const now = performance.now();
      if (!storeWord || now - storeWord.sent > CONFIRMATION_REUSE_MS) {
        const word = { sent: now, answer: askStore() };
        storeWord = word;
        word.answer.catch(() => {
          if (storeWord === word) storeWord = undefined;
        });
      }
      await storeWord.answer;
    },
    async release() {
      clearInterval(timer);
      await renewing;
      await store.delete([key]).finally(() => liveEntries.delete(entryId(store, key)));
    },
  };
}

/** The leases the current async call chain holds (store URL + scope), so a nested withLease on the same scope does not wait for itself. */
const held = new AsyncLocalStorage<ReadonlyMap<string, { mode: LeaseMode; lease: Lease }>>();

const leaseId = (store: StorePort, scope: string) => `${store.url}\0${scope}`;

/**
 * The fence of every write made under a lease: checks each lease the current
 * call chain holds on this store (see Lease.assertHeld) and throws LEASE_LOST
 * when one is lost, so a holder that was stopped past its lease and resumed
 * fails instead of writing over the writer that took the lease meanwhile.
 */
export async function assertLeasesHeld(store: StorePort): Promise<void> {
  const prefix = leaseId(store, '');
  await Promise.all(
    [...(held.getStore() ?? new Map()).entries()]
      .filter(([id]) => id.startsWith(prefix))
      .map(([, h]) => h.lease.assertHeld()),
  );
}

/** The mode in which this call chain holds `scope`'s lease, if it does. */
export function heldLeaseMode(store: StorePort, scope: string): LeaseMode | undefined {
  return held.getStore()?.get(leaseId(store, scope))?.mode;
}

/**
 * Runs `fn` holding a lease on `scope`, and releases it whatever happens.
 * Re-entrant within one call chain: inside an exclusive lease (or a shared
 * one, for a shared request) the same scope is not taken again.
 */
export async function withLease<T>(
  store: StorePort,
  scope: string,
  mode: LeaseMode,
  fn: () => Promise<T>,
  options: LeaseOptions = {},
): Promise<T> {
  const already = held.getStore()?.get(leaseId(store, scope))?.mode;
  if (already === 'exclusive' || already === mode) return fn();
  const lease = await acquireLease(store, scope, mode, options);
  try {
    return await withHeldLease(store, scope, mode, lease, fn);
  } finally {
    await lease.release();
  }
}

/** Runs `fn` with a lease taken elsewhere (and released by its taker) counted as held by this call chain: its writes are fenced by it. */
export function withHeldLease<T>(
  store: StorePort,
  scope: string,
  mode: LeaseMode,
  lease: Lease,
  fn: () => Promise<T>,
): Promise<T> {
  return held.run(new Map([...(held.getStore() ?? []), [leaseId(store, scope), { mode, lease }]]), fn);
}
