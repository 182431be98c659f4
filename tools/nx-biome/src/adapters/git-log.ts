import { spawn } from 'node:child_process';
import { FULL_SHA } from '../core/artifact';
import { CommitChange, CommitChanges, CommitInfo } from '../core/board';

/** What the board asks git: commits by SHA (in bulk) and the commits between two of them. */
export interface CommitLogPort {
  /** The commits of the given SHAs the clone has; absent ones are left out. Two git processes, whatever the count. */
  commits(shas: string[]): Promise<Map<string, CommitInfo>>;
  /** Commits between `from` and `to`, both directions, with the files each touched; at most `maxCount` per side. */
  changes(from: string, to: string, maxCount: number): Promise<CommitChanges | undefined>;
}

const FORMAT = '%H%x1f%s%x1f%an%x1f%cI';

function gitWithInput(cwd: string, args: string[], input: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    // argv array, never a shell string.
    const child = spawn('git', args, {
      cwd,
      env: { ...process.env, GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(chunks).toString('utf8') }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

function parseLog(out: string): CommitInfo[] {
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [sha, subject, author, date] = line.split('\x1f');
      return { sha, subject: subject ?? '', author: author ?? '', date: date ?? '' };
    });
}

/** `git log --name-only` output, one record per commit (each starts with \x1e). */
function parseChanges(out: string): CommitChange[] {
  return out
    .split('\x1e')
    .filter((r) => r.trim())
    .map((record) => {
      const [head, ...files] = record.split('\n');
      const [commit] = parseLog(head);
      return { ...commit, files: files.filter(Boolean) };
    });
}

/** The real git of a clone, through the `git` binary (`cat-file --batch-check`, `log --stdin`). */
export function createCommitLog(cwd: string): CommitLogPort {
  return {
    async commits(shas) {
      const wanted = [...new Set(shas)].filter((s) => FULL_SHA.test(s));
      if (wanted.length === 0) return new Map();
      // One process answers "<sha> commit <size>" or "<sha> missing" per line.
      const check = await gitWithInput(
        cwd,
        ['cat-file', '--batch-check'],
        wanted.map((s) => `${s}^{commit}\n`).join(''),
      );
      if (check.code !== 0) return new Map();
      const present = check.stdout
        .split('\n')
        .map((l) => l.split(' '))
        .filter((p) => p[1] === 'commit' && FULL_SHA.test(p[0]))
        .map((p) => p[0]);
      if (present.length === 0) return new Map();
      const log = await gitWithInput(
        cwd,
        ['log', '--no-walk=unsorted', `--format=${FORMAT}`, '--stdin'],
        present.join('\n') + '\n',
      );
      if (log.code !== 0) return new Map();
      return new Map(parseLog(log.stdout).map((c) => [c.sha, c]));
    },
    async changes(from, to, maxCount) {
      if (!FULL_SHA.test(from) || !FULL_SHA.test(to)) return undefined;
      // One process for both directions: the symmetric difference, each commit marked < (only in from) or > (only in to).
      const { code, stdout } = await gitWithInput(
        cwd,
        [
          'log',
          '--left-right',
          `--max-count=${2 * maxCount + 1}`,
          `--format=%x1e%m${FORMAT}`,
          '--name-only',
          `${from}...${to}`,
          '--',
        ],
        '',
      );
      if (code !== 0) return undefined;
      const all = parseChanges(stdout);
      const side = (mark: string) =>
        all.filter((c) => c.sha.startsWith(mark)).map((c) => ({ ...c, sha: c.sha.slice(1) }));
      return {
        ahead: side('>').slice(0, maxCount),
        behind: side('<').slice(0, maxCount),
        truncated: all.length > 2 * maxCount,
      };
    },
  };
}
