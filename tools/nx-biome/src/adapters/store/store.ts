/** An object as the store lists or heads it. */
export interface StoredObject {
  key: string;
  size: number;
  /** User metadata (lowercase names), when the call returns it. */
  metadata?: Record<string, string>;
}

/**
 * The narrow port every artifact store implements: only the calls the plugin
 * uses. Keys are the same in every store (see docs/store.md).
 */
export interface StorePort {
  /** URL the store was opened from, for messages (`s3://b/p`, `file:///x`). */
  readonly url: string;
  /** S3 bucket name when the store is S3. */
  readonly bucket?: string;
  head(key: string): Promise<StoredObject | undefined>;
  get(key: string): Promise<Buffer | undefined>;
  /**
   * Writes an object. With `ifAbsent`, never replaces an existing key and
   * answers 'exists' instead (where the backend enforces it; see docs).
   */
  put(key: string, body: Buffer, options?: { metadata?: Record<string, string>; contentType?: string; ifAbsent?: boolean; sha256?: string }): Promise<'written' | 'exists'>;
  /** Every object below a prefix, sorted by key. */
  list(prefix: string): Promise<StoredObject[]>;
  delete(keys: string[]): Promise<void>;
}
