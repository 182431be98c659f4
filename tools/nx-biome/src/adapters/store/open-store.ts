import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BiomeError } from '../../core/errors';
import { createFileStore } from './file-store';
import { createS3Store } from './s3-store';
import { StorePort } from './store';

const BUCKET = /^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX = /^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*$/;

/**
 * Opens a store from its URL: `s3://bucket[/prefix]` or `file://<path>`
 * (absolute, or relative to the workspace root).
 */
export function openStore(url: string, workspaceRoot: string): StorePort {
  const bad = (why: string) =>
    new BiomeError(
      'STORE_URL_INVALID',
      `Store URL ${JSON.stringify(url)} is invalid: ${why}.`,
      'Use s3://<bucket>[/<prefix>] or file://<path> (BIOME_STORE, or "store" in nx-biome.json).',
    );
  if (/[\s\0]/.test(url)) throw bad('it contains whitespace or control characters');
  if (url.startsWith('s3://')) {
    const rest = url.slice(5).replace(/\/+$/, '');
    const [bucket, ...parts] = rest.split('/');
    if (!BUCKET.test(bucket))
      throw bad(`"${bucket}" is not a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)`);
    const prefix = parts.join('/');
    if (prefix && (!PREFIX.test(prefix) || prefix.split('/').some((p) => p === '.' || p === '..')))
      throw bad(`prefix "${prefix}" has characters or segments that are not allowed`);
    return createS3Store(bucket, prefix);
  }
  if (url.startsWith('file://')) {
    const raw = url.slice(7);
    if (!raw) throw bad('the path is empty');
    const path = raw.startsWith('/') ? fileURLToPath(`file://${raw}`) : resolve(workspaceRoot, raw);
    if (!isAbsolute(path)) throw bad('the path cannot be resolved');
    return createFileStore(path);
  }
  throw bad('the scheme must be s3:// or file://');
}
