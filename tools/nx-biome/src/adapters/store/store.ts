/** An object as the store lists or heads it. */
export interface StoredObject {
  key: string;
  size: number;
  /** User metadata (lowercase names), when the call returns it. */
  metadata?: Record<string, string>;
  /**
   * SHA-256 (hex) of the stored bytes as the store itself computed it, when
   * `head(key, { checksum: true })` was asked and the store can tell without a
   * download: S3's own checksum of an object uploaded with one, the file
   * store's hash of its file. Absent where the store cannot vouch for it.
   */
  sha256?: string;
  /** The entity tag: for a single-part upload without KMS, the MD5 of the bytes (S3, s3rver). */
  etag?: string;
  /**
   * When the object was last written (ISO 8601), where the listing tells it
   * without another call: the file store's modification time. With `etag`,
   * what a cache of the object's content compares (the board's, see
   * operations/board.ts).
   */
  modified?: string;
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
  head(key: string, options?: { checksum?: boolean }): Promise<StoredObject | undefined>;
  get(key: string): Promise<Buffer | undefined>;
  /**
   * Writes an object. With `ifAbsent`, never replaces an existing key and
   * answers 'exists' instead (where the backend enforces it; see docs).
   */
  put(
    key: string,
    body: Buffer,
    options?: { metadata?: Record<string, string>; contentType?: string; ifAbsent?: boolean; sha256?: string },
  ): Promise<'written' | 'exists'>;
  /** Every object below a prefix, sorted by key. */
  list(prefix: string): Promise<StoredObject[]>;
  /**
   * The folders right below a prefix ending in `/` (`biomes/` → `biomes/dev/`, …),
   * without listing what they hold, where the store can (S3's delimiter, a
   * directory read). A folder may hold no object any more (the file store
   * keeps emptied directories): the caller checks what it lists.
   */
  listFolders?(prefix: string): Promise<string[]>;
  delete(keys: string[]): Promise<void>;
}
