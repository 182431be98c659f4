import { existsSync } from 'node:fs';
import * as realFs from 'node:fs/promises';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFileStore } from '../../tools/nx-biome/src/adapters/store/file-store';
import { WriteFs } from '../../tools/nx-biome/src/adapters/workspace';
import { deployExecutorWith } from '../../tools/nx-biome/src/executors/deploy/executor';
import { createDeployFixture, DeployFixture } from '../faults/fixture';

/*
 * A deploy to the folder store on a disk that fills up mid-write: the user
 * gets DISK_FULL with the path and the fix (not an internal error), the
 * store holds no temporary file and no ledger record, and a re-run once
 * there is space completes the deploy.
 */

let fx: DeployFixture;
const STORE = () => join(fx.root, '.biome-store/dev');

async function storeFiles(): Promise<string[]> {
  if (!existsSync(STORE())) return [];
  return (await readdir(STORE(), { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(STORE().length + 1))
    .sort();
}

/** Writes fail with ENOSPC after writing half of their bytes, once `budget` writes have succeeded. */
function fillsUpAfter(budget: number): WriteFs {
  let left = budget;
  return {
    ...realFs,
    async writeFile(path, body) {
      if (left-- > 0) return realFs.writeFile(path, body);
      const bytes = Buffer.from(body as string | Buffer);
      await writeFile(path, bytes.subarray(0, bytes.length >> 1));
      throw Object.assign(new Error(`ENOSPC: no space left on device, write`), {
        code: 'ENOSPC',
        errno: -28,
        syscall: 'write',
      });
    },
  };
}

beforeAll(async () => {
  fx = await createDeployFixture([{ name: 'assay-ingest', bytes: 256 * 1024 }], 'disk-full-');
  await fx.package('assay-ingest');
});
afterAll(() => fx?.cleanup());

describe('deploy on a full disk', () => {
  it.each([0, 1, 2])(
    'the disk fills after %i writes: DISK_FULL naming the path and the fix, no temp file, no record; a re-run completes',
    async (budget) => {
      const deps = () => ({ ...fx.deps({}), storeFor: () => createFileStore(STORE(), fillsUpAfter(budget)) });
      const error = await deployExecutorWith({ biome: 'dev-full' }, fx.context('assay-ingest'), deps).then(
        () => undefined,
        (e) => e,
      );
      expect(error?.code, String(error?.stack)).toBe('DISK_FULL');
      expect(error.message).toContain(STORE());
      expect(error.hint).toMatch(/Free space .*BIOME_STORE/);
      const files = await storeFiles();
      expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
      expect(files.filter((f) => f.startsWith('biomes/dev-full/ledger/'))).toEqual([]);

      await fx.deploy('assay-ingest', 'dev-full', {});
      expect(await storeFiles()).toContain('biomes/dev-full/ledger/assay-ingest.json');
      await realFs.rm(STORE(), { recursive: true, force: true });
    },
  );
});
