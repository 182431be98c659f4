import picomatch from 'picomatch';
import { BiomeError } from './errors';

/*
 * The packaging content policy: allow by default, deny by rule. It applies to
 * the final folder that becomes the archive (after the build copied its
 * assets) and to the folders model-build copies from. Every rule has an id
 * (shown in the error), what it protects against, and the fix.
 */

/** Id of a packaging rule, as shown in errors (`[credential-file]`). */
export type PackageRuleId =
  | 'symlink'
  | 'special-file'
  | 'git-metadata'
  | 'credential-file'
  | 'private-key'
  | 'aws-access-key-id'
  | 'aws-secret-access-key'
  | 'untracked-source';

export interface PackageRule {
  id: PackageRuleId;
  /** Why a file under this rule never goes into an artifact. */
  reason: string;
  fix: string;
}

export const PACKAGE_RULES: Record<PackageRuleId, PackageRule> = {
  symlink: {
    id: 'symlink',
    reason: 'symlinks are never packaged or followed (a link can pull in .git, secrets or itself)',
    fix: 'Replace the symlink with the file itself (or copy it in the build), or remove it.',
  },
  'special-file': {
    id: 'special-file',
    reason: 'not a regular file (socket, FIFO or device)',
    fix: 'Remove it from the folder.',
  },
  'git-metadata': {
    id: 'git-metadata',
    reason: 'git metadata (remote URLs, history, index) never belongs in an artifact',
    fix: 'Remove it; if a build asset copies it, narrow the asset glob or add an "ignore" pattern.',
  },
  'credential-file': {
    id: 'credential-file',
    reason: 'a credential or local-state file by its name',
    fix: 'Remove it from the project and keep secrets in the Lambda environment, Secrets Manager or SSM (see docs/projects.md).',
  },
  'private-key': {
    id: 'private-key',
    reason: 'holds a PEM private key',
    fix: 'Remove the key; load it at run time from Secrets Manager or SSM.',
  },
  'aws-access-key-id': {
    id: 'aws-access-key-id',
    reason: 'holds an AWS access key id (AKIA.../ASIA...)',
    fix: 'Remove the key and rotate it in IAM; Lambda and SageMaker get credentials from their execution role.',
  },
  'aws-secret-access-key': {
    id: 'aws-secret-access-key',
    reason: 'holds an aws_secret_access_key value',
    fix: 'Remove the key and rotate it in IAM; Lambda and SageMaker get credentials from their execution role.',
  },
  'untracked-source': {
    id: 'untracked-source',
    reason:
      'a copy of a source file git does not track (ignored or never added), so the artifact would not match its commit',
    fix: 'Commit the file, remove it, or opt its path in with the package target option "allowUntracked" (globs relative to the project root, see docs/projects.md).',
  },
};

/** Folders whose whole content is credentials. */
const CREDENTIAL_DIRS = new Set(['.ssh', '.aws', '.gnupg']);
/** Credential files by base name. */
const CREDENTIAL_NAMES = [
  /^\.env(\.(?!example$|sample$|template$|dist$)[^/]+)?$/,
  /^\.(npmrc|netrc|pypirc|pgpass|git-credentials|htpasswd|boto)$/,
  /^_netrc$/,
  /^id_(rsa|dsa|ecdsa|ed25519)(_sk)?$/,
  /^credentials\.json$/,
  /\.(key|p12|pfx|jks|keystore|ppk|tfstate|tfstate\.backup)$/,
];
/** Credential files by path suffix. */
const CREDENTIAL_PATHS = [/(^|\/)\.docker\/config\.json$/, /(^|\/)\.kube\/config$/];
/** Junk that is left out without an error: it is not a secret and no program reads it. */
const OS_JUNK = /^(\.DS_Store|Thumbs\.db)$/;

/** The rule a file or folder breaks by its path alone, if any. */
export function pathRule(path: string, type: 'file' | 'dir'): PackageRuleId | undefined {
  const base = path.slice(path.lastIndexOf('/') + 1);
  if (base === '.git') return 'git-metadata';
  if (type === 'dir') return CREDENTIAL_DIRS.has(base) ? 'credential-file' : undefined;
  if (CREDENTIAL_NAMES.some((re) => re.test(base)) || CREDENTIAL_PATHS.some((re) => re.test(path)))
    return 'credential-file';
  return undefined;
}

/** True for files left out silently (OS junk such as .DS_Store). */
export function isOmitted(path: string): boolean {
  return OS_JUNK.test(path.slice(path.lastIndexOf('/') + 1));
}

/** A git directory copied under another name: HEAD next to objects/ and refs/. */
export function looksLikeGitDir(children: { name: string; dir: boolean }[]): boolean {
  const has = (name: string, dir: boolean) => children.some((c) => c.name === name && c.dir === dir);
  return has('HEAD', false) && has('objects', true) && has('refs', true);
}

// The documented example keys (AWS docs, SDK tests) are not secrets.
const EXAMPLE = /EXAMPLE/;
const PRIVATE_KEY = /-----BEGIN ((RSA|DSA|EC|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY( BLOCK)?-----/;
const ACCESS_KEY_ID = /(?<![A-Za-z0-9+/])(AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9+/])/g;
const SECRET_KEY = /(aws_?)?secret_?access_?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/gi;

/**
 * The content rule a file breaks, if any: a PEM private key header, an AWS
 * access key id, or an aws_secret_access_key with a 40-character value.
 * Mentions without a value (`process.env.AWS_SECRET_ACCESS_KEY`) and the
 * documented example keys pass.
 */
export function contentRule(body: Buffer): PackageRuleId | undefined {
  // Cheap byte searches first; most files (and every large binary) hold none of the markers.
  if (body.includes('PRIVATE KEY') && PRIVATE_KEY.test(body.toString('latin1'))) return 'private-key';
  if (body.includes('AKIA') || body.includes('ASIA')) {
    for (const m of body.toString('latin1').matchAll(ACCESS_KEY_ID))
      if (!EXAMPLE.test(m[0])) return 'aws-access-key-id';
  }
  const lower =
    body.includes('secret_access_key') ||
    body.includes('SECRET_ACCESS_KEY') ||
    body.includes('SecretAccessKey') ||
    body.includes('secretAccessKey');
  if (lower) {
    for (const m of body.toString('latin1').matchAll(SECRET_KEY))
      if (!EXAMPLE.test(m[2])) return 'aws-secret-access-key';
  }
  return undefined;
}

/** A file the policy refuses: its path in the folder, the rule, and detail (a symlink target, the untracked source). */
export interface PackageViolation {
  path: string;
  rule: PackageRuleId;
  detail?: string;
}

/** Throws PACKAGE_INPUT_INVALID listing every refused file with its rule; the fixes of the rules involved form the hint. */
export function assertPackagePolicy(source: string, violations: PackageViolation[]): void {
  if (violations.length === 0) return;
  const sorted = [...violations].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const lines = sorted.map(
    (v) => `"${v.path}" [${v.rule}]: ${v.detail ? `${v.detail}; ` : ''}${PACKAGE_RULES[v.rule].reason}`,
  );
  const rules = [...new Set(sorted.map((v) => v.rule))];
  throw new BiomeError(
    'PACKAGE_INPUT_INVALID',
    `${source}: ${sorted.length === 1 ? 'a file' : `${sorted.length} files`} must not be packaged:\n  - ${lines.join('\n  - ')}`,
    rules.map((r) => (rules.length > 1 ? `[${r}] ${PACKAGE_RULES[r].fix}` : PACKAGE_RULES[r].fix)).join('\n  '),
  );
}

/** Base name of a POSIX path. */
const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);

/**
 * Pairs of (file in the folder, untracked source file) that may be copies of
 * each other: same base name and size. The caller compares their bytes.
 */
export function untrackedCandidates(
  files: { path: string; size: number }[],
  untracked: { path: string; size: number }[],
): { path: string; source: string }[] {
  const byKey = new Map<string, string[]>();
  for (const u of untracked) {
    const key = `${baseName(u.path)}\0${u.size}`;
    byKey.set(key, [...(byKey.get(key) ?? []), u.path]);
  }
  return files.flatMap((f) =>
    (byKey.get(`${baseName(f.path)}\0${f.size}`) ?? []).map((source) => ({ path: f.path, source })),
  );
}

/**
 * Violations for files that are byte-for-byte copies of untracked sources,
 * except sources the project opts in: `allowUntracked` globs, relative to the
 * project root (a source outside the root never matches).
 */
export function untrackedViolations(
  copies: { path: string; source: string }[],
  projectRoot: string,
  allowUntracked: string[],
): PackageViolation[] {
  const allowed = allowUntracked.length > 0 ? picomatch(allowUntracked, { dot: true }) : () => false;
  const prefix = projectRoot === '.' || projectRoot === '' ? '' : `${projectRoot.replace(/\/+$/, '')}/`;
  const seen = new Set<string>();
  const out: PackageViolation[] = [];
  for (const c of copies) {
    if (seen.has(c.path)) continue;
    const relative = c.source.startsWith(prefix) ? c.source.slice(prefix.length) : undefined;
    if (relative !== undefined && allowed(relative)) continue;
    seen.add(c.path);
    out.push({ path: c.path, rule: 'untracked-source', detail: `a copy of ${c.source}` });
  }
  return out;
}

/** Checks the `allowUntracked` option: a list of non-empty globs relative to the project root. */
export function parseAllowUntracked(value: unknown, project: string): string[] {
  if (value === undefined) return [];
  if (
    !Array.isArray(value) ||
    value.some((v) => typeof v !== 'string' || v.length === 0 || v.startsWith('/') || v.split('/').includes('..'))
  ) {
    throw new BiomeError(
      'OPTIONS_INVALID',
      `${project}: package option "allowUntracked" must be a list of globs relative to the project root, such as ["model/weights/**"].`,
      "Fix the option in the project's project.json (targets.package.options.allowUntracked).",
    );
  }
  return value as string[];
}

/** A file found below a build output folder, as the archive will hold it. */
export interface PackageEntry {
  /** POSIX path relative to the archive root. */
  path: string;
  /** Unix mode bits that matter: executable or not. */
  executable: boolean;
  /** Size in bytes, when known. */
  size?: number;
}

/**
 * Normalises and sorts the entries of an archive so that the same files give
 * the same archive bytes anywhere. Rejects paths that would escape the root.
 */
export function planArchiveEntries(entries: PackageEntry[], source: string): PackageEntry[] {
  for (const e of entries) {
    if (e.path.startsWith('/') || e.path.split('/').some((part) => part === '..' || part === '')) {
      throw new BiomeError(
        'PACKAGE_INPUT_INVALID',
        `${source}: entry "${e.path}" would escape the archive root.`,
        'Remove it from the build output.',
      );
    }
  }
  if (entries.length === 0) {
    throw new BiomeError(
      'BUILD_OUTPUT_MISSING',
      `${source} holds no files to package.`,
      'Run the build target first and check its outputPath.',
    );
  }
  return [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Fixed archive metadata: DOS epoch in UTC, mode 0644 (0755 if executable). */
export const ARCHIVE_DATE = new Date('1980-01-01T00:00:00.000Z');
export const archiveMode = (e: PackageEntry) => (e.executable ? 0o755 : 0o644);
