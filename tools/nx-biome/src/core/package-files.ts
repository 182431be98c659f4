import { BiomeError } from './errors';

/** Files that hold secrets or local state and are never packaged. */
const NEVER_PACKAGED = [/^\.env(\..*)?$/, /^\.npmrc$/, /^\.netrc$/, /^\.git$/, /^\.DS_Store$/, /^.*\.pem$/, /^id_(rsa|ed25519|ecdsa)$/, /^\.aws$/];

/** True when a file or folder name must never go into an artifact. */
export function isNeverPackaged(baseName: string): boolean {
  return NEVER_PACKAGED.some((re) => re.test(baseName));
}

/** A file found below a build output folder, as the archive will hold it. */
export interface PackageEntry {
  /** POSIX path relative to the archive root. */
  path: string;
  /** Unix mode bits that matter: executable or not. */
  executable: boolean;
}

/**
 * Normalises and sorts the entries of an archive so that the same files give
 * the same archive bytes anywhere. Rejects paths that would escape the root.
 */
export function planArchiveEntries(entries: PackageEntry[], source: string): PackageEntry[] {
  for (const e of entries) {
    if (e.path.startsWith('/') || e.path.split('/').some((part) => part === '..' || part === '')) {
      throw new BiomeError('PACKAGE_INPUT_INVALID', `${source}: entry "${e.path}" would escape the archive root.`, 'Remove it from the build output.');
    }
  }
  if (entries.length === 0) {
    throw new BiomeError('BUILD_OUTPUT_MISSING', `${source} holds no files to package.`, 'Run the build target first and check its outputPath.');
  }
  return [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Fixed archive metadata: DOS epoch in UTC, mode 0644 (0755 if executable). */
export const ARCHIVE_DATE = new Date('1980-01-01T00:00:00.000Z');
export const archiveMode = (e: PackageEntry) => (e.executable ? 0o755 : 0o644);
