import { createHash } from 'node:crypto';
import { BiomeError } from '../core/errors';
import { sha256Hex } from '../adapters/archive';
import { StorePort } from '../adapters/store/store';

export type PublishStatus = 'uploaded' | 'present';

/** Stored bytes against the artifact's: the same, its leading part (an interrupted write), or other bytes. */
function compareStored(stored: Buffer, sha256: string, body?: Buffer): 'same' | 'partial' | 'different' {
  if (sha256Hex(stored) === sha256) return 'same';
  if (body && stored.length < body.length && stored.equals(body.subarray(0, stored.length))) return 'partial';
  return 'different';
}

function conflict(store: StorePort, key: string, stored: Buffer, sha256: string): BiomeError {
  return new BiomeError(
    'ARTIFACT_CONFLICT',
    `${store.url}: ${key} already holds different bytes (stored sha256 ${sha256Hex(stored)}, new ${sha256}). Artifacts are immutable and are never overwritten.`,
    'The same commit gave a different build: make the build reproducible, or commit the change and deploy the new commit.',
  );
}

/**
 * Checks what the store holds at an artifact key: nothing, the same bytes
 * (as its metadata says), the leading part of these bytes (what an
 * interrupted upload or a crashed server leaves on some S3-compatible
 * servers), or different bytes (a hard error: artifacts are immutable). An
 * empty object left by a failed write counts as absent.
 */
export async function inspectArtifact(
  store: StorePort,
  key: string,
  sha256: string,
  body?: Buffer,
): Promise<'absent' | 'same' | 'partial'> {
  const head = await store.head(key);
  if (!head || head.size === 0) return 'absent';
  if (head.metadata?.sha256 === sha256 && (!body || head.size === body.length)) return 'same';
  const stored = await store.get(key);
  if (!stored || stored.length === 0) return 'absent';
  const found = compareStored(stored, sha256, body);
  if (found === 'different') throw conflict(store, key, stored, sha256);
  // The right bytes without their metadata (a server killed between writing the
  // two): written again whole, since "unchanged" checks rely on that metadata.
  if (found === 'same' && head.metadata?.sha256 !== sha256) return 'partial';
  return found;
}

/** What a HEAD request can tell of the bytes stored at an artifact key, without downloading them. */
export type StoredState = 'same' | 'absent' | 'different';

/**
 * Checks, without a download, that the store holds exactly the recorded bytes
 * at `key`: the store's own checksum where it has one (S3's SHA-256 of an
 * object uploaded with a checksum, the file store's hash of its file); else a
 * plain-MD5 ETag against the MD5 recorded in the object's metadata at upload
 * (S3 single-part uploads, s3rver); else the size and the recorded sha256
 * metadata (all that an S3-compatible server without either gives), or, with
 * `readUnvouched`, the bytes themselves, downloaded and hashed.
 */
export async function checkStoredArtifact(
  store: StorePort,
  key: string,
  expected: { sha256: string; size: number },
  options: { readUnvouched?: boolean } = {},
): Promise<StoredState> {
  const head = await store.head(key, { checksum: true });
  if (!head || head.size === 0) return 'absent';
  if (head.size !== expected.size) return 'different';
  if (head.sha256) return head.sha256 === expected.sha256 ? 'same' : 'different';
  if (head.metadata?.sha256 !== expected.sha256) return 'different';
  const md5 = head.metadata?.md5;
  if (md5 && head.etag && /^[0-9a-f]{32}$/.test(head.etag)) return head.etag === md5 ? 'same' : 'different';
  // Only metadata vouches for these bytes (anyone who wrote the object wrote it too): read them when asked.
  if (options.readUnvouched) {
    const body = await store.get(key);
    return !body ? 'absent' : sha256Hex(body) === expected.sha256 ? 'same' : 'different';
  }
  return 'same';
}

/** Metadata every artifact is stored with: its sha256 and, for the ETag check, its MD5. */
export function artifactMetadata(body: Buffer, sha256: string, extra: Record<string, string>): Record<string, string> {
  return { ...extra, sha256, md5: createHash('md5').update(body).digest('hex') };
}

/**
 * Publishes an artifact once: refused when the key holds different bytes,
 * completed when it holds only the leading part of these bytes, and read back
 * and hashed (uploaded or already there) so that a record is only ever
 * written for verified bytes.
 */
export async function publishArtifact(
  store: StorePort,
  input: { key: string; body: Buffer; sha256: string; metadata: Record<string, string> },
): Promise<PublishStatus> {
  let state = await inspectArtifact(store, input.key, input.sha256, input.body);
  if (state === 'same') {
    // Metadata can vouch for bytes a crashed server never finished writing: read them.
    const stored = await store.get(input.key);
    const found = stored && stored.length > 0 ? compareStored(stored, input.sha256, input.body) : 'partial';
    if (found === 'same') return 'present';
    if (found === 'different') await verifyArtifact(store, input.key, input.sha256);
    state = 'partial';
  }
  // A fragment of these very bytes is not an artifact yet: completing it overwrites nothing anyone could rely on.
  const result = await store.put(input.key, input.body, {
    metadata: artifactMetadata(input.body, input.sha256, input.metadata),
    sha256: input.sha256,
    ifAbsent: state === 'absent',
    contentType: input.key.endsWith('.zip') ? 'application/zip' : 'application/gzip',
  });
  if (result === 'exists') {
    // Another writer got there first: accept it only if it is the same bytes.
    await inspectArtifact(store, input.key, input.sha256, input.body);
    await verifyArtifact(store, input.key, input.sha256);
    return 'present';
  }
  await verifyArtifact(store, input.key, input.sha256);
  return 'uploaded';
}

/** Reads an artifact back and checks its sha256; throws ARTIFACT_MISSING / ARTIFACT_CORRUPT. */
export async function verifyArtifact(store: StorePort, key: string, sha256: string): Promise<Buffer> {
  const stored = await store.get(key);
  if (!stored)
    throw new BiomeError(
      'ARTIFACT_MISSING',
      `${store.url}: ${key} is missing.`,
      'Deploy the project again so that its artifact is published.',
    );
  const actual = sha256Hex(stored);
  if (actual !== sha256) {
    throw new BiomeError(
      'ARTIFACT_CORRUPT',
      `${store.url}: ${key} has sha256 ${actual}, expected ${sha256} (corrupt or truncated).`,
      'Delete the corrupt object and deploy again; no ledger record was written for it.',
    );
  }
  return stored;
}
