import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseWorkspaceConfig } from '../core/config';
import { parseBiomeName } from '../core/names';
import { createFileStore } from '../adapters/store/file-store';
import { StorePort } from '../adapters/store/store';
import { deployProject } from './deploy';
import { renderBiomeTfvars, tfvarsPath } from './render';

/**
 * The biome's tfvars against a real temp-folder store: a service on a Lambda
 * runtime Lambda has deprecated is refused when its tfvars are rendered, so
 * no plan or apply ever starts, and nothing is written.
 */

const config = parseWorkspaceConfig({
  namePrefix: 'geo',
  promotionOrder: ['dev'],
  environments: { dev: { account: '111111111111', region: 'ap-southeast-2', multiTenant: true } },
});
const biome = parseBiomeName('dev-bob', config);

let root: string;
let store: StorePort;

async function deploy(project: string, settings: Record<string, unknown>) {
  const gitSha = '1'.repeat(40);
  const body = Buffer.from(`${project}@${gitSha}\n`.repeat(20));
  const manifest = {
    project,
    kind: 'service' as const,
    file: `${project}-${gitSha}.zip`,
    sha256: createHash('sha256').update(body).digest('hex'),
    size: body.length,
    gitSha,
    dirty: false,
    dirtyFiles: [],
    settings,
  };
  await deployProject({
    store,
    config,
    biome,
    manifest,
    readBody: async () => body,
    now: new Date('2026-11-30T00:00:00.000Z'),
    deployedBy: 'amy',
    allowDirty: false,
    dryRun: false,
  });
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'render-op-'));
  store = createFileStore(join(root, 'store'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('renderBiomeTfvars and Lambda runtimes', () => {
  it('renders the default runtime; refuses a deprecated one on the day Lambda deprecates it, writing no tfvars', async () => {
    await deploy('assay-ingest', {});
    const ok = await renderBiomeTfvars({
      store,
      config,
      biome,
      workspaceRoot: root,
      now: new Date('2026-12-06T12:00:00.000Z'),
    });
    expect(JSON.parse(await readFile(ok.path, 'utf8')).services['assay-ingest'].runtime).toBe('nodejs22.x');
    await rm(ok.path);

    await deploy('grade-predict', { runtime: 'nodejs20.x' });
    // The day before Lambda deprecated nodejs20.x it renders, with a warning.
    const before = await renderBiomeTfvars({
      store,
      config,
      biome,
      workspaceRoot: root,
      now: new Date('2026-04-29T12:00:00.000Z'),
    });
    expect(before.warnings).toEqual([
      'service grade-predict runs on nodejs20.x, which Lambda deprecates on 2026-04-30 (1 day): move it to nodejs22.x.',
    ]);
    await rm(before.path);
    await expect(
      renderBiomeTfvars({ store, config, biome, workspaceRoot: root, now: new Date('2026-12-06T12:00:00.000Z') }),
    ).rejects.toMatchObject({
      code: 'RUNTIME_DEPRECATED',
      message: expect.stringMatching(
        /^service grade-predict runs on nodejs20.x, which Lambda deprecated on 2026-04-30; since 2026-09-30 Lambda refuses to update functions on it\.$/,
      ),
    });
    expect(existsSync(tfvarsPath(root, 'dev-bob'))).toBe(false);
  });
});
