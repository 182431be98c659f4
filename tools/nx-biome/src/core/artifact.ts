import { BiomeError } from './errors';
import { FULL_SHA, ProjectKind } from './constants';

export { FULL_SHA } from './constants';
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Archive extension per project kind: SageMaker loads `.tar.gz`, the rest are zips. */
export function archiveExtension(kind: ProjectKind): 'zip' | 'tar.gz' {
  return kind === 'model' ? 'tar.gz' : 'zip';
}

/**
 * The artifact file name `<name>-<sha>.<ext>`. A dirty build is labelled
 * `<name>-<sha>-dirty-<first 12 of sha256>.<ext>`: it never carries a clean
 * SHA label, and two different dirty builds of one commit never collide.
 */
export function artifactFileName(
  project: string,
  gitSha: string,
  kind: ProjectKind,
  dirty: boolean,
  sha256: string,
): string {
  if (!FULL_SHA.test(gitSha)) throw new Error(`artifactFileName needs a full 40-character SHA, got "${gitSha}"`);
  const ext = archiveExtension(kind);
  return dirty ? `${project}-${gitSha}-dirty-${sha256.slice(0, 12)}.${ext}` : `${project}-${gitSha}.${ext}`;
}

/** Store key of an artifact: `artifacts/<name>/<file>`. */
export function artifactKey(project: string, fileName: string): string {
  return `artifacts/${project}/${fileName}`;
}

/** The manifest `package` writes beside the archive and `deploy` reads. */
export interface PackageManifest {
  project: string;
  kind: ProjectKind;
  file: string;
  sha256: string;
  size: number;
  gitSha: string;
  dirty: boolean;
  dirtyFiles: string[];
  /** Deployment settings of the project (memory, timeout, env, model...). */
  settings: Record<string, unknown>;
}

/** Checks a manifest read back from disk. */
export function parsePackageManifest(raw: unknown, source: string): PackageManifest {
  const m = raw as Partial<PackageManifest> | null;
  const ok =
    !!m &&
    typeof m === 'object' &&
    typeof m.project === 'string' &&
    typeof m.file === 'string' &&
    typeof m.sha256 === 'string' &&
    SHA256_HEX.test(m.sha256) &&
    typeof m.gitSha === 'string' &&
    FULL_SHA.test(m.gitSha) &&
    typeof m.size === 'number' &&
    typeof m.dirty === 'boolean' &&
    (m.kind === 'service' || m.kind === 'workflow' || m.kind === 'model');
  if (!ok) {
    throw new BiomeError(
      'ARTIFACT_CORRUPT',
      `Package manifest ${source} is missing fields or malformed.`,
      'Run the package target again (nx run <project>:package).',
    );
  }
  return { dirtyFiles: [], settings: {}, ...m } as PackageManifest;
}

/** Lowercase hex sha256 to the base64 form Terraform's `source_code_hash` expects. */
export function sha256HexToBase64(hex: string): string {
  if (!SHA256_HEX.test(hex)) throw new Error(`not a sha256 hex digest: ${hex}`);
  return Buffer.from(hex, 'hex').toString('base64');
}
