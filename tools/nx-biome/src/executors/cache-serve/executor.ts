import type { ExecutorContext } from '@nx/devkit';
import { readFile } from 'node:fs/promises';
import { planCacheScopes, subjectOfIdToken } from '../../core/build-cache';
import { BiomeError } from '../../core/errors';
import { CacheServer, startCacheServer } from '../../adapters/nx-cache-server';
import { openStore } from '../../adapters/store/open-store';
import { workspaceOutputPath, writeFileAtomic } from '../../adapters/workspace';
import { runExecutor } from '../run';

export interface CacheServeOptions {
  url?: string;
  ref?: string;
  scope?: string;
  mainBranch?: string;
  port?: number;
  urlFile?: string;
  watchPid?: number;
  dryRun?: boolean;
}

/** The outside world of the endpoint; tests pass their own environment and stop signal. */
export interface CacheServeDeps {
  env: Record<string, string | undefined>;
  log(line: string): void;
  /** Resolves when the endpoint should stop (signal, or the watched process ended). */
  untilStopped(watchPid?: number): Promise<void>;
}

/** How often the watched process is looked for; the endpoint outlives it by at most this. */
const WATCH_INTERVAL_MS = 2_000;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function realDeps(): CacheServeDeps {
  return {
    env: process.env,
    log: (line) => console.log(line),
    untilStopped: (watchPid) =>
      new Promise<void>((resolve) => {
        const stop = () => {
          clearInterval(timer);
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
          resolve();
        };
        const timer = setInterval(() => watchPid !== undefined && !processAlive(watchPid) && stop(), WATCH_INTERVAL_MS);
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      }),
  };
}

/**
 * The `sub` of the job's OIDC token (AWS_WEB_IDENTITY_TOKEN_FILE, as the SDK
 * signs in with it): IAM lets that token write only its own branch folder.
 */
async function idTokenSubject(env: Record<string, string | undefined>): Promise<string | undefined> {
  const file = env.AWS_WEB_IDENTITY_TOKEN_FILE;
  if (!file) return undefined;
  const token = await readFile(file, 'utf8').catch(() => undefined);
  return token === undefined ? undefined : subjectOfIdToken(token);
}

/**
 * Starts the endpoint (or, with dryRun, only says what it would serve) and
 * writes its URL to `urlFile`. Returns the running server.
 */
export async function startCacheServe(
  options: CacheServeOptions,
  context: ExecutorContext,
  deps: CacheServeDeps,
): Promise<CacheServer | undefined> {
  const url = options.url ?? deps.env.BIOME_NX_CACHE;
  if (!url)
    throw new BiomeError(
      'OPTIONS_INVALID',
      'No cache store given.',
      'Pass --url=s3://<bucket>[/<prefix>] or set BIOME_NX_CACHE (the devops stack output nx_cache_url).',
    );
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) {
    throw new BiomeError(
      'OPTIONS_INVALID',
      `--port=${options.port} is not a port.`,
      'Pass 0 (a free port) or 1-65535.',
    );
  }
  if (options.watchPid !== undefined && (!Number.isInteger(options.watchPid) || options.watchPid <= 0)) {
    throw new BiomeError(
      'OPTIONS_INVALID',
      `--watchPid=${options.watchPid} is not a process id.`,
      'Pass the job shell: --watchPid=$$.',
    );
  }
  const mainBranch =
    options.mainBranch ?? deps.env.CI_DEFAULT_BRANCH ?? context.nxJsonConfiguration?.defaultBase ?? 'main';
  const scopes = planCacheScopes({
    ref: options.ref,
    scope: options.scope,
    mainBranch,
    env: deps.env,
    subject: await idTokenSubject(deps.env),
  });
  const urlFile = options.urlFile ? workspaceOutputPath(context.root, 'urlFile', options.urlFile) : undefined;
  const store = openStore(url, context.root);
  const token = deps.env.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN || undefined;
  const describe = `store ${store.url}, writes ${scopes.write === undefined ? 'nothing' : `${scopes.write}/`}, reads ${scopes.read.map((s) => `${s}/`).join(' then ')}${token ? ', bearer token required' : ''}`;
  if (options.dryRun) {
    deps.log(`nx cache (dry run): would serve ${describe}`);
    return undefined;
  }
  const server = await startCacheServer({ store, scopes, token, port: options.port ?? 0, log: deps.log });
  if (urlFile) await writeFileAtomic(urlFile, `${server.url}\n`);
  deps.log(`nx cache: ${server.url} (${describe})`);
  return server;
}

/** Runs the endpoint until the job ends, then prints what it did. */
export async function cacheServeWith(
  options: CacheServeOptions,
  context: ExecutorContext,
  deps: CacheServeDeps = realDeps(),
): Promise<void> {
  const server = await startCacheServe(options, context, deps);
  if (!server) return;
  await deps.untilStopped(options.watchPid);
  await server.close();
  const s = server.stats;
  deps.log(
    `nx cache: ${s.hits} hits, ${s.misses} misses, ${s.stored} stored, ${s.existing} already there, ${s.readErrors + s.writeErrors} store errors, ${s.rejected} rejected`,
  );
}

export default async function cacheServeExecutor(
  options: CacheServeOptions,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  return runExecutor('cache-serve', () => cacheServeWith(options, context));
}
