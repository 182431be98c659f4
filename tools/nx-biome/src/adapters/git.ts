import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BiomeError } from '../core/errors';
import { FULL_SHA } from '../core/artifact';
import { parsePorcelainZ } from '../core/git-status';

const run = promisify(execFile);

async function git(cwd: string, args: string[]): Promise<string> {
  // argv array, never a shell string: names with shell metacharacters stay inert.
  const { stdout } = await run('git', args, {
    cwd,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' },
  });
  return stdout;
}

/** Git facts a deploy needs, one repository. */
export interface GitPort {
  headSha(): Promise<string>;
  isShallow(): Promise<boolean>;
  /** Changed or untracked (non-ignored) files under the given paths. */
  dirtyFiles(paths: string[]): Promise<string[]>;
  /** Files under the given paths that git does not track, ignored ones included. */
  untrackedFiles(paths: string[]): Promise<string[]>;
  /** Commit subjects of the SHAs the repository has; absent ones are left out. */
  commitSubjects(shas: string[]): Promise<Map<string, string>>;
  userName(): Promise<string | undefined>;
  /**
   * Whether `ancestor` is an ancestor of (or equal to) `descendant`;
   * undefined when the repository lacks either commit.
   */
  isAncestor(ancestor: string, descendant: string): Promise<boolean | undefined>;
  /** The merge base of two commits, or undefined when there is none or the repository lacks either. */
  mergeBase(a: string, b: string): Promise<string | undefined>;
}

/** The real git, through the `git` binary. */
export function createGit(cwd: string): GitPort {
  return {
    async headSha() {
      let sha: string;
      try {
        sha = (await git(cwd, ['rev-parse', '--verify', 'HEAD'])).trim();
      } catch {
        throw new BiomeError(
          'GIT_NOT_A_REPOSITORY',
          `${cwd} is not a git repository with a commit.`,
          'Run from a git clone of the workspace with at least one commit.',
        );
      }
      if (!FULL_SHA.test(sha))
        throw new BiomeError(
          'GIT_NOT_A_REPOSITORY',
          `git rev-parse HEAD gave "${sha}", not a 40-character SHA.`,
          'Use a SHA-1 repository.',
        );
      return sha;
    },
    async isShallow() {
      return (await git(cwd, ['rev-parse', '--is-shallow-repository'])).trim() === 'true';
    },
    async dirtyFiles(paths) {
      if (paths.length === 0) return [];
      const out = await git(cwd, ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--', ...paths]);
      return parsePorcelainZ(out);
    },
    async untrackedFiles(paths) {
      if (paths.length === 0) return [];
      // No --exclude-standard: ignored files are listed too.
      const out = await git(cwd, ['ls-files', '-z', '--others', '--', ...paths]);
      return out.split('\0').filter(Boolean).sort();
    },
    async commitSubjects(shas) {
      const found = new Map<string, string>();
      await Promise.all(
        [...new Set(shas)]
          .filter((s) => FULL_SHA.test(s))
          .map(async (sha) => {
            try {
              found.set(sha, (await git(cwd, ['log', '-1', '--format=%s', sha, '--'])).trim());
            } catch {
              /* commit not in this clone */
            }
          }),
      );
      return found;
    },
    async userName() {
      try {
        return (await git(cwd, ['config', 'user.email'])).trim() || undefined;
      } catch {
        return undefined;
      }
    },
    async isAncestor(ancestor, descendant) {
      if (!FULL_SHA.test(ancestor) || !FULL_SHA.test(descendant)) return undefined;
      try {
        await git(cwd, ['cat-file', '-e', `${ancestor}^{commit}`]);
        await git(cwd, ['cat-file', '-e', `${descendant}^{commit}`]);
      } catch {
        return undefined;
      }
      try {
        await git(cwd, ['merge-base', '--is-ancestor', ancestor, descendant]);
        return true;
      } catch (e) {
        // Exit status 1 means "not an ancestor"; anything else is a real failure.
        if ((e as { code?: number }).code === 1) return false;
        throw e;
      }
    },
    mergeBase: (a, b) => mergeBase(cwd, a, b),
  };
}

/** Throws GIT_SHALLOW_CLONE: a shallow clone makes `nx affected` silently wrong. */
export async function assertNotShallow(gitPort: GitPort): Promise<void> {
  if (await gitPort.isShallow()) {
    throw new BiomeError(
      'GIT_SHALLOW_CLONE',
      'This is a shallow clone: nx affected cannot see the base commit and would report too little.',
      'Fetch full history (git fetch --unshallow, or GIT_DEPTH: 0 in GitLab CI).',
    );
  }
}

/** The full SHA a ref names in the repository at `cwd`, or undefined when it names no commit there. */
export async function resolveCommit(cwd: string, ref: string): Promise<string | undefined> {
  // A ref that looks like an option is never passed to git.
  if (ref.startsWith('-')) return undefined;
  try {
    return (
      (await git(cwd, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`])).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

/** The merge base of two commits (what `nx affected` compares with), or undefined. */
export async function mergeBase(cwd: string, a: string, b: string): Promise<string | undefined> {
  try {
    return (await git(cwd, ['merge-base', '--end-of-options', a, b])).trim() || undefined;
  } catch {
    return undefined;
  }
}
