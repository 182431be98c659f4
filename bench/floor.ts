/**
 * The floor: the least work any tool must do to deploy what changed, in one
 * process. One esbuild call bundles the affected services (the same options
 * as the services' build target), each bundle's sha256 is compared with what
 * the previous run put, and only bundles that changed are deflated (a
 * one-entry zip at level 6) and put in the store (a file, or one S3 PUT).
 * No graph, no cache, no ledger, no checks: what is left of a deploy once
 * every tool overhead is gone. The benchmark passes the affected services
 * (it knows what it changed) and runs this file bundled by esbuild, so that
 * no TypeScript compiler runs at start.
 *
 *   node floor.cjs '<json FloorRequest>'
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';

export interface FloorRequest {
  root: string;
  services: string[];
  sha: string;
  /** Where the floor keeps the sha256 of each bundle it put (its whole "ledger"). */
  state: string;
  store: { kind: 'file'; dir: string } | { kind: 's3'; bucket: string; prefix: string };
}

/** Little-endian fields of 2 or 4 bytes, in order. */
function le(...fields: [2 | 4, number][]): Buffer {
  const out = Buffer.alloc(fields.reduce((a, [n]) => a + n, 0));
  let at = 0;
  for (const [n, v] of fields) at = n === 2 ? out.writeUInt16LE(v, at) : out.writeUInt32LE(v, at);
  return out;
}

/** A zip with one deflated entry at a fixed time (1980-01-01), as a reproducible archive. */
export function zipOne(name: string, body: Buffer): Buffer {
  const data = deflateRawSync(body, { level: 6 });
  const nameBytes = Buffer.from(name);
  // version, flags, method (deflate), time, date, crc-32, sizes, name length, extra length
  const common: [2 | 4, number][] = [
    [2, 0],
    [2, 8],
    [2, 0],
    [2, 0x21],
    [4, crc32(body)],
    [4, data.length],
    [4, body.length],
    [2, nameBytes.length],
    [2, 0],
  ];
  const local = le([4, 0x04034b50], [2, 20], ...common);
  const central = le([4, 0x02014b50], [2, 20], [2, 20], ...common, [2, 0], [2, 0], [2, 0], [4, 0], [4, 0]);
  const end = le(
    [4, 0x06054b50],
    [2, 0],
    [2, 0],
    [2, 1],
    [2, 1],
    [4, central.length + nameBytes.length],
    [4, local.length + nameBytes.length + data.length],
    [2, 0],
  );
  return Buffer.concat([local, nameBytes, data, central, nameBytes, end]);
}

export async function floor(request: FloorRequest): Promise<{ put: string[] }> {
  const state: Record<string, string> = await readFile(request.state, 'utf8').then(JSON.parse, () => ({}));
  const put: string[] = [];
  if (request.services.length > 0) {
    const esbuild = await import('esbuild');
    const first = join(request.root, 'apps/services', request.services[0]);
    const result = await esbuild.build({
      absWorkingDir: request.root,
      entryPoints: request.services.map((s) => ({ in: join(request.root, 'apps/services', s, 'src/main.ts'), out: s })),
      outdir: join(request.root, 'dist/floor'),
      bundle: true,
      platform: 'node',
      target: 'node22',
      format: 'cjs',
      external: ['@aws-sdk/*'],
      legalComments: 'none',
      preserveSymlinks: true,
      tsconfig: join(first, 'tsconfig.app.json'),
      write: false,
      logLevel: 'warning',
    });
    const changed = result.outputFiles
      .map((f) => ({
        service: f.path.slice(f.path.lastIndexOf('/') + 1, -'.js'.length),
        body: Buffer.from(f.contents),
      }))
      .filter((b) => {
        const sha = createHash('sha256').update(b.body).digest('hex');
        if (state[b.service] === sha) return false;
        state[b.service] = sha;
        return true;
      });
    const s3 = changed.length > 0 && request.store.kind === 's3' ? await s3Put() : undefined;
    await Promise.all(
      changed.map(async ({ service, body }) => {
        const key = `artifacts/${service}/${service}-${request.sha}.zip`;
        const zip = zipOne('main.js', body);
        if (request.store.kind === 'file') {
          const path = join(request.store.dir, key);
          await mkdir(dirname(path), { recursive: true });
          await writeFile(path, zip);
        } else {
          await s3!(request.store.bucket, `${request.store.prefix}/${key}`, zip);
        }
        put.push(key);
      }),
    );
  }
  await mkdir(dirname(request.state), { recursive: true });
  await writeFile(request.state, JSON.stringify(state));
  return { put };
}

/** One S3 PUT per object (AWS SDK, endpoint and credentials from the environment). */
async function s3Put(): Promise<(bucket: string, key: string, body: Buffer) => Promise<void>> {
  const { S3Client, PutObjectCommand } = await import('@aws-sdk/client-s3');
  const client = new S3Client({ forcePathStyle: true });
  return async (Bucket, Key, Body) =>
    void (await client.send(new PutObjectCommand({ Bucket, Key, Body, ContentType: 'application/zip' })));
}

if (require.main === module) {
  floor(JSON.parse(process.argv[2]) as FloorRequest).then(
    ({ put }) => console.log(`floor: put ${put.length} artifact(s)`),
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
