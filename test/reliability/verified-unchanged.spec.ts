import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startS3rver, S3Server } from '../support/s3rver';
import { artifactFileName, PackageManifest } from '../../tools/nx-biome/src/core/artifact';
import { parseWorkspaceConfig, WorkspaceConfig } from '../../tools/nx-biome/src/core/config';
import { ledgerKey } from '../../tools/nx-biome/src/core/ledger';
import { parseBiomeName } from '../../tools/nx-biome/src/core/names';
import { openStore } from '../../tools/nx-biome/src/adapters/store/open-store';
import { StorePort } from '../../tools/nx-biome/src/adapters/store/store';
import { deployProject } from '../../tools/nx-biome/src/operations/deploy';
import { readRecord } from '../../tools/nx-biome/src/operations/ledger-store';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const SHA1 = 'a'.repeat(40);
const SHA2 = 'b'.repeat(40);
const config: WorkspaceConfig = parseWorkspaceConfig({
  namePrefix: 'geo',
  promotionOrder: ['dev'],
  environments: { dev: { account: '111111111111', region: 'ap-southeast-2', multiTenant: true } },
});
const biome = parseBiomeName('dev-ver', config);

/** The bytes a package step would give for one commit of a project. */
function packaged(
  project: string,
  gitSha: string,
  content: string,
  settings: Record<string, unknown> = { memorySize: 256 },
) {
  const body = Buffer.from(content.repeat(50));
  const manifest: PackageManifest = {
    project,
    kind: 'service',
    file: artifactFileName(project, gitSha, 'service', false, sha256(body)),
    sha256: sha256(body),
    size: body.length,
    gitSha,
    dirty: false,
    dirtyFiles: [],
    settings,
  };
  return { body, manifest };
}

describe.each([
  ['the embedded local store', false],
  ['S3 (s3rver)', true],
])('"unchanged" is checked against what %s holds', (_label, useS3) => {
  let root: string;
  let server: S3Server | undefined;
  let store: StorePort;
  let bodyReads = 0;
  const saved = { ...process.env };

  const deploy = (p: ReturnType<typeof packaged>, now = new Date()) =>
    deployProject({
      store,
      config,
      biome,
      manifest: p.manifest,
      readBody: async () => (bodyReads++, p.body),
      now,
      deployedBy: 'amy',
      allowDirty: false,
      dryRun: false,
    });

  let stores = 0;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'verified-unchanged-'));
    if (useS3) {
      server = await startS3rver(['geo-ver']);
      Object.assign(process.env, server.env);
    }
  });
  // A store of its own for every test and every retry: what one left never decides another's outcome.
  beforeEach(() => {
    stores++;
    store = openStore(useS3 ? `s3://geo-ver/store-${stores}` : `file://.biome-store/dev-${stores}`, root);
  });
  afterAll(async () => {
    process.env = saved;
    await server?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('a re-deploy of the same bytes is unchanged and never reads the local archive', async () => {
    const v1 = packaged('assay', SHA1, 'v1');
    expect((await deploy(v1)).outcome).toBe('uploaded');
    bodyReads = 0;
    expect((await deploy(packaged('assay', SHA2, 'v1'))).outcome).toBe('unchanged');
    expect(bodyReads).toBe(0);
  });

  it('an artifact deleted from the store is uploaded again under its recorded key', async () => {
    const v1 = packaged('deleted', SHA1, 'd1');
    await deploy(v1);
    const key = `artifacts/deleted/${v1.manifest.file}`;
    await store.delete([key]);
    const r = await deploy(packaged('deleted', SHA2, 'd1'));
    expect(r.outcome).toBe('restored');
    expect(r.key).toBe(key);
    expect(sha256((await store.get(key))!)).toBe(v1.manifest.sha256);
    // The record is the one the biome had: same key and commit.
    expect((await readRecord(store, biome.name, 'deleted'))!.gitSha).toBe(SHA1);
  });

  it('same-size different bytes under the recorded key fail the deploy instead of passing as unchanged', async () => {
    const v1 = packaged('tampered', SHA1, 't1');
    await deploy(v1);
    const key = `artifacts/tampered/${v1.manifest.file}`;
    const head = await store.head(key);
    // Same size, same metadata, other bytes: what a hand edit of the object leaves.
    await store.put(key, Buffer.from('X'.repeat(v1.body.length)), { metadata: head!.metadata });
    await expect(deploy(packaged('tampered', SHA1, 't1'))).rejects.toMatchObject({
      code: 'ARTIFACT_CORRUPT',
      message: expect.stringMatching(/tampered-a{40}\.zip has sha256 [0-9a-f]{64}, expected/),
    });
    // Nothing points anywhere new: the record still names the key it had.
    expect((await readRecord(store, biome.name, 'tampered'))!.artifactKey).toBe(key);
  });

  it("a record edited to point at another commit's artifact is replaced by a record of the deployed bytes", async () => {
    const old = packaged('edited', SHA1, 'old');
    const cur = packaged('edited', SHA2, 'new');
    await deploy(old);
    await deploy(cur);
    // Point the current record at the old commit's artifact, keeping the new sha256.
    const record = JSON.parse((await store.get(ledgerKey(biome.name, 'edited')))!.toString());
    record.artifactKey = `artifacts/edited/${old.manifest.file}`;
    record.gitSha = SHA1;
    await store.put(ledgerKey(biome.name, 'edited'), Buffer.from(JSON.stringify(record)));
    const r = await deploy(cur);
    expect(r.outcome).not.toBe('unchanged');
    const fixed = await readRecord(store, biome.name, 'edited');
    expect(fixed!.artifactKey).toBe(`artifacts/edited/${cur.manifest.file}`);
    expect(fixed!.gitSha).toBe(SHA2);
  });

  it('the right bytes stored without their metadata (a server killed between the two) are written again whole', async () => {
    const v1 = packaged('torn', SHA1, 'torn');
    const key = `artifacts/torn/${v1.manifest.file}`;
    await store.put(key, v1.body);
    expect((await store.head(key))?.metadata?.sha256).toBeUndefined();
    expect((await deploy(v1)).outcome).toBe('uploaded');
    expect((await store.head(key))?.metadata).toMatchObject({ sha256: v1.manifest.sha256 });
    // And from then on the biome's record is verified as unchanged.
    expect((await deploy(packaged('torn', SHA2, 'torn'))).outcome).toBe('unchanged');
  });

  it('a settings-only change records the new commit and settings under the key that already holds the bytes', async () => {
    const v1 = packaged('settings', SHA1, 's1', { memorySize: 256 });
    await deploy(v1);
    const before = (await store.list('artifacts/settings/')).map((o) => o.key);
    const r = await deploy(packaged('settings', SHA2, 's1', { memorySize: 1024 }));
    expect(r.outcome).toBe('present');
    expect((await store.list('artifacts/settings/')).map((o) => o.key)).toEqual(before);
    const record = await readRecord(store, biome.name, 'settings');
    expect(record).toMatchObject({
      gitSha: SHA2,
      artifactKey: `artifacts/settings/${v1.manifest.file}`,
      settings: { memorySize: 1024 },
    });
  });
});
