import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectFolder, createArchive } from '../adapters/archive';
import {
  archiveInputDigest,
  archiveStamp,
  batchArtifactListing,
  buildOutputKey,
  placeReusedArchive,
  reusableArchive,
} from './package-reuse';

describe('package reuse: a previous archive stands for this run when its inputs are the same', () => {
  let root: string;
  let dist: string;
  let build: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'package-reuse-'));
    dist = join(root, 'artifacts');
    build = join(root, 'build');
    await mkdir(dist, { recursive: true });
    await mkdir(build, { recursive: true });
    await writeFile(join(build, 'main.js'), `exports.handler = async () => ${JSON.stringify('x'.repeat(5000))};\n`);
  });
  afterEach(async () => rm(root, { recursive: true, force: true }));

  /** What `package` leaves: the archive under its name and a manifest with its digest and stamp. */
  async function packaged(file: string) {
    const input = await collectFolder(build);
    const inputDigest = await archiveInputDigest(input, 'zip');
    const { body, sha256 } = await createArchive(input, 'zip', build);
    await writeFile(join(dist, file), body);
    return {
      body,
      manifest: {
        kind: 'service',
        file,
        sha256,
        size: body.length,
        inputDigest,
        archiveStamp: await archiveStamp(join(dist, file)),
      },
    };
  }

  it('trusts an archive that still has its recorded stamp without reading it, and renames it for a new commit', async () => {
    const { body, manifest } = await packaged('svc-aaaa.zip');
    const reused = await reusableArchive(manifest, dist, 'service', manifest.inputDigest);
    expect(reused).toEqual({ file: 'svc-aaaa.zip', sha256: manifest.sha256, size: body.length });
    await writeFile(join(dist, 'svc-aaaa.zip.sha256'), `${manifest.sha256}  svc-aaaa.zip\n`);
    await placeReusedArchive(dist, reused!, 'svc-bbbb.zip');
    expect((await readdir(dist)).sort()).toEqual(['svc-bbbb.zip']);
    // The renamed file holds exactly what deflate gives again for the same inputs, and keeps its stamp.
    const again = await createArchive(await collectFolder(build), 'zip', build);
    expect(await readFile(join(dist, 'svc-bbbb.zip'))).toEqual(again.body);
    expect(await archiveStamp(join(dist, 'svc-bbbb.zip'))).toBe(manifest.archiveStamp);
    await placeReusedArchive(dist, { ...reused!, file: 'svc-bbbb.zip' }, 'svc-bbbb.zip');
    expect(await readdir(dist)).toEqual(['svc-bbbb.zip']);
  });

  it('reads and checks an archive whose stamp changed: same bytes are reused, other bytes are not', async () => {
    const { body, manifest } = await packaged('svc-aaaa.zip');
    const later = new Date(Date.now() + 5000);
    await utimes(join(dist, 'svc-aaaa.zip'), later, later);
    expect(await reusableArchive(manifest, dist, 'service', manifest.inputDigest)).toEqual({
      file: 'svc-aaaa.zip',
      sha256: manifest.sha256,
      size: body.length,
      body,
    });
    const other = Buffer.from(body);
    other[other.length - 30] ^= 0xff;
    await writeFile(join(dist, 'svc-aaaa.zip'), other);
    expect(await reusableArchive(manifest, dist, 'service', manifest.inputDigest)).toBeUndefined();
  });

  it('reads and checks an archive of a manifest that has no stamp (written before stamps)', async () => {
    const { body, manifest } = await packaged('svc-aaaa.zip');
    const { archiveStamp: _stamp, ...older } = manifest;
    expect(await reusableArchive(older, dist, 'service', manifest.inputDigest)).toMatchObject({
      sha256: manifest.sha256,
      body,
    });
  });

  it('reuses nothing when the inputs, the kind or the file differ', async () => {
    const { manifest } = await packaged('svc-aaaa.zip');
    expect(await reusableArchive(manifest, dist, 'service', 'other-digest')).toBeUndefined();
    expect(await reusableArchive(manifest, dist, 'workflow', manifest.inputDigest)).toBeUndefined();
    expect(
      await reusableArchive({ ...manifest, file: '../svc-aaaa.zip' }, dist, 'service', manifest.inputDigest),
    ).toBeUndefined();
    await rm(join(dist, 'svc-aaaa.zip'));
    expect(await reusableArchive(manifest, dist, 'service', manifest.inputDigest)).toBeUndefined();
  });

  it('keys an archive by the Nx hashes of the build it packages, so a cached build is not read again', async () => {
    const graph = (hash?: string) => ({
      tasks: { 'svc:build': { hash }, 'svc:package': {} },
      dependencies: { 'svc:package': ['svc:build'], 'svc:build': [] },
    });
    const key = buildOutputKey(graph('h1'), 'svc:package', 'zip');
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(buildOutputKey(graph('h1'), 'svc:package', 'zip')).toBe(key);
    expect(buildOutputKey(graph('h2'), 'svc:package', 'zip')).not.toBe(key);
    expect(buildOutputKey(graph('h1'), 'svc:package', 'tar.gz')).not.toBe(key);
    // No hash, no dependency, no task graph: the caller reads and hashes the build output.
    expect(buildOutputKey(graph(undefined), 'svc:package', 'zip')).toBeUndefined();
    expect(buildOutputKey(graph('h1'), 'svc:build', 'zip')).toBeUndefined();
    expect(buildOutputKey(undefined, 'svc:package', 'zip')).toBeUndefined();
  });

  it('with stampOnly, an archive whose stamp changed is not read (the caller checks the build output instead)', async () => {
    const { manifest } = await packaged('svc-aaaa.zip');
    expect(await reusableArchive(manifest, dist, 'service', manifest.inputDigest, { stampOnly: true })).toMatchObject({
      sha256: manifest.sha256,
    });
    const later = new Date(Date.now() + 5000);
    await utimes(join(dist, 'svc-aaaa.zip'), later, later);
    expect(await reusableArchive(manifest, dist, 'service', manifest.inputDigest, { stampOnly: true })).toBeUndefined();
  });

  it('lists the artifacts folder once per batch', async () => {
    const list = batchArtifactListing();
    await writeFile(join(dist, 'a.zip'), 'a');
    expect(await list(dist)).toEqual(['a.zip']);
    await writeFile(join(dist, 'b.zip'), 'b');
    expect(await list(dist)).toEqual(['a.zip']);
    expect(await batchArtifactListing()(join(root, 'absent'))).toEqual([]);
  });
});

describe('package with nothing changed writes nothing', () => {
  it('leaves the manifest and .sha256 untouched for the same archive and settings, rewrites them when either differs', async () => {
    const { createDeployFixture } = await import('../../../../test/faults/fixture');
    const { packageProject } = await import('../executors/package/executor');
    const fx = await createDeployFixture([{ name: 'svc-a' }]);
    try {
      const manifestFile = join(fx.root, 'dist/artifacts/svc-a.manifest.json');
      const options = { kind: 'service' as const, buildOutput: 'dist/apps/services/svc-a' };
      const first = await packageProject(options, fx.context('svc-a'), undefined, () => undefined);
      const sums = join(fx.root, 'dist/artifacts', `${first.file}.sha256`);
      // An old time on both files: a rewrite would give them a new one.
      const old = new Date('2001-01-01T00:00:00Z');
      await utimes(manifestFile, old, old);
      await utimes(sums, old, old);
      const text = await readFile(manifestFile, 'utf8');
      const again = await packageProject(options, fx.context('svc-a'), undefined, () => undefined);
      expect(again).toEqual(JSON.parse(text));
      expect((await stat(manifestFile)).mtime).toEqual(old);
      expect((await stat(sums)).mtime).toEqual(old);
      // Other settings: a new manifest (the archive stays).
      const withSettings = await packageProject(
        { ...options, settings: { memorySize: 512 } },
        fx.context('svc-a'),
        undefined,
        () => undefined,
      );
      expect(JSON.parse(await readFile(manifestFile, 'utf8')).settings).toEqual({ memorySize: 512 });
      expect(withSettings.sha256).toBe(first.sha256);
      // A missing .sha256 is written again.
      await rm(sums);
      await packageProject(
        { ...options, settings: { memorySize: 512 } },
        fx.context('svc-a'),
        undefined,
        () => undefined,
      );
      expect(await readFile(sums, 'utf8')).toBe(`${first.sha256}  ${first.file}\n`);
    } finally {
      await fx.cleanup();
    }
  });
});
