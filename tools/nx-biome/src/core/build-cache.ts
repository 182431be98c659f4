/**
 * Rules of the shared Nx build cache (docs/pipeline.md, "Shared build cache"):
 * where an entry lives, which scopes a job reads and the one it writes, and
 * what the cache endpoint answers Nx. Pure: the environment comes in as a value.
 *
 * Why scopes: a shared cache that any job may write lets a branch plant build
 * outputs that the default branch later restores (CVE-2025-36852). Here the
 * default branch reads and writes only `main/`; a branch job signed in with a
 * GitLab ID token writes only `branches/<token sub>/~/` (the folder IAM lets
 * that token write: infra/stacks/devops/cache.tf) and reads it, then main's; a
 * job that cannot name its ref writes nothing and reads main's scope only.
 * A job states its scope (BIOME_NX_CACHE_SCOPE) where its ref cannot tell:
 * CodePipeline passes no ref to the main CodeBuild projects, so they say
 * `main`; the sandpit projects say `none`. IAM enforces the same split, so a
 * job that lies about its ref or scope still cannot write main's scope.
 */
import { BiomeError } from './errors';

/** The scope of the default branch. */
export const MAIN_SCOPE = 'main';
/** Folder of every other ref's scope. */
export const BRANCH_SCOPES = 'branches';

/** The scopes a job may state (BIOME_NX_CACHE_SCOPE): main's, its branch's, or none (read main's only). */
export const CACHE_SCOPE_CHOICES = ['main', 'branch', 'none'] as const;
export type CacheScopeChoice = (typeof CACHE_SCOPE_CHOICES)[number];

/** Where a job reads and writes cache entries. */
export interface CacheScopes {
  /** The only scope this job writes; undefined: it writes nothing. */
  write: string | undefined;
  /** Scopes read in order until one has the entry (own scope first). */
  read: string[];
}

/** What the environment says about the job's ref. */
export interface CacheRefInput {
  /** An explicit ref (option), wins over the environment. */
  ref?: string;
  /** The default branch's name (nx.json defaultBase, CI_DEFAULT_BRANCH). */
  mainBranch: string;
  /** Environment variables of the job (GitLab, CodeBuild); BIOME_NX_CACHE_SCOPE states the scope. */
  env: Record<string, string | undefined>;
  /** The stated scope (option), wins over BIOME_NX_CACHE_SCOPE. */
  scope?: string;
  /** The `sub` claim of the job's OIDC token (GitLab), which IAM binds the branch folder to. */
  subject?: string;
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
  const raw =
    input.ref ??
    e.CI_MERGE_REQUEST_SOURCE_BRANCH_NAME ??
    e.CI_COMMIT_REF_NAME ??
    e.CODEBUILD_WEBHOOK_HEAD_REF ??
    (e.CODEBUILD_SOURCE_VERSION?.startsWith('refs/') ? e.CODEBUILD_SOURCE_VERSION : undefined);
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

/** Main's scope only: read, and write when `write`. */
const mainScopes = (write: boolean): CacheScopes => ({ write: write ? MAIN_SCOPE : undefined, read: [MAIN_SCOPE] });

/** The stated scope, checked; undefined when the job states none. */
function statedScope(input: CacheRefInput): CacheScopeChoice | undefined {
  const raw = (input.scope ?? input.env.BIOME_NX_CACHE_SCOPE)?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (!(CACHE_SCOPE_CHOICES as readonly string[]).includes(raw)) {
    throw new BiomeError(
      'OPTIONS_INVALID',
      `Cache scope "${raw}" is not one of ${CACHE_SCOPE_CHOICES.join(', ')}.`,
      'Set BIOME_NX_CACHE_SCOPE (or --scope) to main (the protected branch), branch (this branch) or none (read main only).',
    );
  }
  return raw as CacheScopeChoice;
}

/**
 * The branch folder of a job: `branches/<sub>/~` when it signed in with an
 * OIDC token (the folder IAM lets that token write; `~` cannot occur in a git
 * ref, so no branch's folder lies inside another's), else `branches/<ref>`
 * encoded (local runs and stores without IAM).
 */
function branchScope(ref: string | undefined, subject: string | undefined): string | undefined {
  if (subject !== undefined) {
    // IAM puts the claim into the key verbatim: refuse what could name another folder or act as a wildcard.
    if (subject.length > 512 || !/^[\x21-\x7e]+$/.test(subject) || /[*?~\\]|\/\.{1,2}(\/|$)|^\.{1,2}\//.test(subject)) {
      throw new BiomeError(
        'OPTIONS_INVALID',
        `The OIDC subject "${subject.slice(0, 60)}" cannot name a cache folder.`,
        "Check the job's ID token (AWS_WEB_IDENTITY_TOKEN_FILE), or set BIOME_NX_CACHE_SCOPE=none.",
      );
    }
    return `${BRANCH_SCOPES}/${subject}/~`;
  }
  return ref === undefined ? undefined : `${BRANCH_SCOPES}/${encodeRefSegment(ref)}`;
}

/**
 * The scopes of a job. Stated `main`: main's scope. Stated `none`: read main's
 * only. Otherwise the default branch writes main's scope and any other ref its
 * own branch folder (then reads main's); a job that names no ref (and has no
 * token) writes nothing and reads main's scope only.
 */
export function planCacheScopes(input: CacheRefInput): CacheScopes {
  if (!input.mainBranch.trim())
    throw new BiomeError(
      'OPTIONS_INVALID',
      'The default branch name is empty.',
      'Pass --mainBranch=<branch> (or set defaultBase in nx.json).',
    );
  const stated = statedScope(input);
  if (stated === 'main') return mainScopes(true);
  if (stated === 'none') return mainScopes(false);
  const ref = cacheRefOf(input);
  if (ref !== undefined && ref.length > 255)
    throw new BiomeError(
      'OPTIONS_INVALID',
      `The git ref "${ref.slice(0, 40)}…" is longer than 255 characters.`,
      'Pass a shorter --ref, or none to use the job environment.',
    );
  if (stated === undefined && ref === input.mainBranch) return mainScopes(true);
  const own = branchScope(ref, input.subject);
  return own === undefined ? mainScopes(false) : { write: own, read: [own, MAIN_SCOPE] };
}

/** The `sub` claim of a JWT (an OIDC ID token), undefined when it has none. The signature is AWS's to check, not ours. */
export function subjectOfIdToken(token: string): string | undefined {
  const payload = token.trim().split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown };
    return typeof claims.sub === 'string' && claims.sub !== '' ? claims.sub : undefined;
  } catch {
    return undefined;
  }
}

/** The store key of one entry in one scope. */
export function cacheEntryKey(scope: string, hash: string): string {
  if (!isCacheHash(hash))
    throw new BiomeError(
      'OPTIONS_INVALID',
      `"${hash}" is not a task hash.`,
      'Nx sends digits and letters only; check NX_SELF_HOSTED_REMOTE_CACHE_SERVER points at this endpoint.',
    );
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
