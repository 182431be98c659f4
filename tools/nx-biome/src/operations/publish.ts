import { BiomeError } from '../core/errors';
import { sha256Hex } from '../adapters/archive';
import { StorePort } from '../adapters/store/store';

export type PublishStatus = 'uploaded' | 'present';

/**
 * Checks what the store holds at an artifact key: nothing, the same bytes, or
 * different bytes (a hard error: artifacts are immutable). An empty object
 * left by a failed write counts as absent.
 */
export async function inspectArtifact(store: StorePort, key: string, sha256: string): Promise<'absent' | 'same'> {
  const head = await store.head(key);
  if (!head || head.size === 0) return 'absent';
  if (head.metadata?.sha256 === sha256) return 'same';
  const stored = await store.get(key);
  if (!stored || stored.length === 0) return 'absent';
  if (sha256Hex(stored) === sha256) return 'same';
  throw new BiomeError(
    'ARTIFACT_CONFLICT',
    `${store.url}: ${key} already holds different bytes (stored sha256 ${sha256Hex(stored)}, new ${sha256}). Artifacts are immutable and are never overwritten.`,
    'The same commit gave a different build: make the build reproducible, or commit the change and deploy the new commit.',
  );
}

/**
 * Publishes an artifact once: skipped when the key holds the same bytes,
 * refused when it holds different bytes, and read back and hashed after the
 * upload so that a record is only ever written for verified bytes.
 */
export async function publishArtifact(
  store: StorePort,
  input: { key: string; body: Buffer; sha256: string; metadata: Record<string, string> },
): Promise<PublishStatus> {
  if ((await inspectArtifact(store, input.key, input.sha256)) === 'same') return 'present';
  const result = await store.put(input.key, input.body, { metadata: { ...input.metadata, sha256: input.sha256 }, sha256: input.sha256, ifAbsent: true, contentType: input.key.endsWith('.zip') ? 'application/zip' : 'application/gzip' });
  if (result === 'exists') {
    // Another writer got there first: accept it only if it is the same bytes.
    await inspectArtifact(store, input.key, input.sha256);
    return 'present';
  }
  await verifyArtifact(store, input.key, input.sha256);
  return 'uploaded';
}

/** Reads an artifact back and checks its sha256; throws ARTIFACT_MISSING / ARTIFACT_CORRUPT. */
export async function verifyArtifact(store: StorePort, key: string, sha256: string): Promise<Buffer> {
  const stored = await store.get(key);
  if (!stored) throw new BiomeError('ARTIFACT_MISSING', `${store.url}: ${key} is missing.`, 'Deploy the project again so that its artifact is published.');
  const actual = sha256Hex(stored);
  if (actual !== sha256) {
    throw new BiomeError('ARTIFACT_CORRUPT', `${store.url}: ${key} has sha256 ${actual}, expected ${sha256} (corrupt or truncated).`, 'Delete the corrupt object and deploy again; no ledger record was written for it.');
  }
  return stored;
}
