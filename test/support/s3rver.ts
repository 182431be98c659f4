import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { FileHandle, mkdir, mkdtemp, open, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface S3Server {
  endpoint: string;
  port: number;
  /** Environment that points the AWS SDK (and the plugin) at this server. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

let atomicPuts = false;

/**
 * Makes s3rver's PUT atomic, as S3's is. s3rver (3.7.1) streams a body into
 * the object's own file and answers before the file is flushed, so a reader
 * racing a writer sees a half-written object, and two writers of one key can
 * leave a mix of both; on S3 a reader sees the old object or the new one,
 * whole, and the last writer wins. Here the body goes into a temporary file
 * beside the object (its name is not an object's, so listings skip it) that
 * replaces the object by a rename once it is flushed. What s3rver keeps of a
 * cut upload is unchanged: it still stores what arrived. A GET streams the
 * one file it opened, with that file's size.
 */
function makePutsAtomic(): void {
  if (atomicPuts) return;
  atomicPuts = true;
  const load = createRequire(join(process.cwd(), 'package.json'));
  const FilesystemStore = load('s3rver/lib/stores/filesystem.js') as {
    prototype: {
      getResourcePath(bucket: string, key: string, resource: string): string;
      putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>;
      putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
      getMetadata(bucket: string, key: string): Promise<Record<string, unknown>>;
      getObject(bucket: string, key: string, options?: { start?: number; end?: number }): Promise<unknown>;
    };
  };
  const S3Object = load('s3rver/lib/models/object.js') as new (
    bucket: string,
    key: string,
    content: NodeJS.ReadableStream | null,
    metadata: Record<string, unknown>,
  ) => { range?: { start: number; end: number } };
  // A GET reads one file: s3rver took the size from one stat and then opened the path again, so a rename in
  // between served the new file cut to the old one's length.
  FilesystemStore.prototype.getObject = async function (bucket, key, options) {
    let file: FileHandle;
    try {
      file = await open(this.getResourcePath(bucket, key, 'object'), 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    try {
      const [metadata, stat] = await Promise.all([this.getMetadata(bucket, key), file.stat()]);
      metadata['content-length'] = stat.size;
      metadata['last-modified'] = stat.mtime.toUTCString();
      const lastByte = Math.max(0, stat.size - 1);
      const range = { start: options?.start || 0, end: Math.min(options?.end || Infinity, lastByte) };
      const ranged = !!options && (options.start !== undefined || !!options.end);
      if (range.start < 0 || Math.min(range.end, lastByte) < range.start) {
        await file.close();
        const empty = new S3Object(bucket, key, null, metadata);
        if (ranged) empty.range = range;
        return empty;
      }
      const object = new S3Object(bucket, key, file.createReadStream({ ...range, autoClose: true }), metadata);
      if (ranged) object.range = range;
      return object;
    } catch (e) {
      await file.close().catch(() => undefined);
      throw e;
    }
  };
  let next = 0;
  FilesystemStore.prototype.putObject = async function (object) {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    const temp = `${objectPath}.${process.pid}-${next++}.part`;
    const md5 = createHash('md5');
    let size = 0;
    const written = createWriteStream(temp);
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        md5.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    try {
      if (Buffer.isBuffer(object.content)) await pipeline(Readable.from([object.content]), counted, written);
      else await pipeline(object.content, counted, written);
    } catch (e) {
      // A cut upload: s3rver keeps what arrived in the object's file, without new metadata; so does this.
      await new Promise<void>((resolve) => (written.closed ? resolve() : written.once('close', () => resolve())));
      if (existsSync(temp)) await rename(temp, objectPath);
      throw e;
    }
    await rename(temp, objectPath);
    const digest = md5.digest('hex');
    await this.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
  };
}

interface S3rverObject {
  bucket: string;
  key: string;
  content: Buffer | NodeJS.ReadableStream;
  metadata: unknown;
}

/**
 * Starts a real S3-compatible server (s3rver) on 127.0.0.1 with the given
 * buckets, on a free port, storing into a temporary folder. Its PUT is made
 * atomic first (makePutsAtomic).
 */
export async function startS3rver(
  buckets: string[],
  options: { port?: number; directory?: string } = {},
): Promise<S3Server> {
  const { default: S3rver } = await import('s3rver');
  makePutsAtomic();
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 's3rver-')));
  const server = new S3rver({
    port: options.port ?? 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    port: address.port,
    env: {
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    async stop() {
      await server.close();
      if (!options.directory) await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Runs a function with process.env extended, restoring it afterwards. */
export async function withEnv<T>(env: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved: Record<string, string | undefined> = {};
  for (const k of Object.keys(env)) {
    saved[k] = process.env[k];
    if (env[k] === undefined) delete process.env[k];
    else process.env[k] = env[k];
  }
  try {
    return await fn();
  } finally {
    for (const k of Object.keys(saved)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}
