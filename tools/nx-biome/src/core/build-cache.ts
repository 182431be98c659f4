/**
 * Rules of the shared Nx build cache (docs/pipeline.md, "Shared build cache"):
 * where an entry lives, which scopes a job reads and the one it writes, and
 * what the cache endpoint answers Nx. Pure: the environment comes in as a value.
 *
 * Why scopes: a shared cache that any job may write lets a branch plant build
 * outputs that the default branch later restores (CVE-2025-36852). Here the
 * default branch reads and writes only `main/`; every other ref writes only its
 * own `branches/<ref>/` and reads its own scope, then main's. IAM enforces the
 * same split in the bucket (infra/stacks/devops/cache.tf), so a job that lies
 * about its ref still cannot write main's scope.
 */
import { BiomeError } from './errors';

/** The scope of the default branch. */
export const MAIN_SCOPE = 'main';
/** Folder of every other ref's scope. */
export const BRANCH_SCOPES = 'branches';

/** Where a job reads and writes cache entries. */
export interface CacheScopes {
  /** The only scope this job writes. */
  write: string;
  /** Scopes read in order until one has the entry (own scope first). */
  read: string[];
}

/** What the environment says about the job's ref. */
export interface CacheRefInput {
  /** An explicit ref (option), wins over the environment. */
  ref?: string;
  /** The default branch's name (nx.json defaultBase, CI_DEFAULT_BRANCH). */
  mainBranch: string;
  /** Environment variables of the job (GitLab, CodeBuild). */
  env: Record<string, string | undefined>;
}

const HASH = /^[A-Za-z0-9_-]{1,128}$/;

/** True when `hash` is something Nx sends as a task hash (and safe in a key). */
export function isCacheHash(hash: string): boolean {
  return HASH.test(hash);
}

/**
 * The job's git ref: explicit, else GitLab's merge request source branch or
 * ref name, else CodeBuild's webhook ref or source version (`refs/heads/x`).
 */
export function cacheRefOf(input: CacheRefInput): string | undefined {
  const e = input.env;
  const raw = input.ref ?? e.CI_MERGE_REQUEST_SOURCE_BRANCH_NAME ?? e.CI_COMMIT_REF_NAME ?? e.CODEBUILD_WEBHOOK_HEAD_REF ?? (e.CODEBUILD_SOURCE_VERSION?.startsWith('refs/') ? e.CODEBUILD_SOURCE_VERSION : undefined);
  const ref = raw?.trim().replace(/^refs\/(heads|tags)\//, '');
  return ref ? ref : undefined;
}

/**
 * Encodes a ref as one key segment, injectively: letters, digits, `.`, `_`
 * and `-` stay, every other byte becomes `~xx` (so `a/b` and `a-b` differ).
 * `.` and `..` alone are encoded too.
 */
export function encodeRefSegment(ref: string): string {
  let out = '';
  for (const byte of Buffer.from(ref, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9._-]/.test(c) ? c : `~${byte.toString(16).padStart(2, '0')}`;
  }
  // "." and ".." are path steps in a file store.
  return out === '.' || out === '..' ? out.replace(/\./g, '~2e') : out;
}

/**
 * The scopes of a job. The default branch writes main's scope; any other ref
 * its own. With no ref at all (a local run), the scope is `branches/local`:
 * never main's, so an unknown job cannot write there.
 */
export function planCacheScopes(input: CacheRefInput): CacheScopes {
  if (!input.mainBranch.trim()) throw new BiomeError('OPTIONS_INVALID', 'The default branch name is empty.', 'Pass --mainBranch=<branch> (or set defaultBase in nx.json).');
  const ref = cacheRefOf(input);
  if (ref !== undefined && ref.length > 255) throw new BiomeError('OPTIONS_INVALID', `The git ref "${ref.slice(0, 40)}…" is longer than 255 characters.`, 'Pass a shorter --ref, or none to use the job environment.');
  if (ref === input.mainBranch) return { write: MAIN_SCOPE, read: [MAIN_SCOPE] };
  const own = `${BRANCH_SCOPES}/${encodeRefSegment(ref ?? 'local')}`;
  return { write: own, read: [own, MAIN_SCOPE] };
}

/** The store key of one entry in one scope. */
export function cacheEntryKey(scope: string, hash: string): string {
  if (!isCacheHash(hash)) throw new BiomeError('OPTIONS_INVALID', `"${hash}" is not a task hash.`, 'Nx sends digits and letters only; check NX_SELF_HOSTED_REMOTE_CACHE_SERVER points at this endpoint.');
  return `${scope}/${hash}.tar.gz`;
}

/**
 * What the endpoint answers Nx, from its self-hosted cache API and its client
 * (nx/src/native/cache/http_remote_cache.rs): a GET answers 200 or 404 (any
 * other status fails the Nx run), a PUT 200, 409 (exists) or 403 (not stored;
 * Nx carries on), anything else makes Nx retry for ~20 s and then fail. So a
 * store failure is a miss on read and a 403 on write: the build goes on
 * without the cache. 401 is kept for a bad token: that is a setup mistake of
 * the job itself and should be loud.
 */
export const CACHE_STATUS = {
  hit: 200,
  stored: 200,
  miss: 404,
  readFailed: 404,
  exists: 409,
  writeFailed: 403,
  badToken: 401,
  badRequest: 400,
} as const;
