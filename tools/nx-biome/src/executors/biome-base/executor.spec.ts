import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerRecord } from '../../core/ledger';
import { createFileStore } from '../../adapters/store/file-store';
import { loadWorkspaceConfig } from '../../adapters/workspace';
import { realDeps } from '../../operations/context';
import { bumpIncarnation, writeRecord } from '../../operations/ledger-store';
import { writeRunRecord } from '../../operations/run-record';
import { biomeBaseWith } from './executor';

let root: string;
let shas: string[];
const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'biome-base-'));
  await cp(join(__dirname, '../../../../../nx-biome.json'), join(root, 'nx-biome.json'));
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 't@example.com');
  git('config', 'user.name', 'T');
  shas = [];
  for (const m of ['one', 'two', 'three']) {
    git('commit', '-q', '--allow-empty', '-m', m);
    shas.push(git('rev-parse', 'HEAD'));
  }
});
afterAll(async () => rm(root, { recursive: true, force: true }));

function record(project: string, gitSha: string, deployedAt: string, dirty = false): LedgerRecord {
  return {
    schemaVersion: 1,
    project,
    kind: 'service',
    biome: 'dev-bob',
    environment: 'dev',
    artifactKey: `artifacts/${project}/${project}-${gitSha}.zip`,
    sha256: 'a'.repeat(64),
    size: 1,
    gitSha,
    dirty,
    deployedAt,
    deployedBy: 't',
    settings: {},
  };
}

describe('biome-base', () => {
  const context = () => ({ root, projectName: 'infra', cwd: root, isVerbose: false }) as unknown as ExecutorContext;
  const run = async (options: Parameters<typeof biomeBaseWith>[0]) => {
    const config = await loadWorkspaceConfig(root);
    const lines: string[] = [];
    const deps = { ...realDeps(root, config, { BIOME_STORE: 'file://store' }), log: (l: string) => lines.push(l) };
    return { base: await biomeBaseWith(options, context(), deps), lines };
  };

  it('prints the commit of the last complete run, never the newest record, and writes it for CI', async () => {
    const store = createFileStore(join(root, 'store'));
    // A record is written only for an artifact the store holds.
    const recordWithArtifact = async (r: ReturnType<typeof record>) => {
      await store.put(r.artifactKey, Buffer.from(`${r.project}@${r.gitSha}`));
      await writeRecord(store, r);
    };
    await recordWithArtifact(record('a', shas[0], '2026-11-01T00:00:00.000Z'));
    await recordWithArtifact(record('b', shas[1], '2026-11-02T00:00:00.000Z'));
    // A run at shas[2] recorded c and was then cut short: it never wrote its run record.
    await recordWithArtifact(record('c', shas[2], '2026-11-03T00:00:00.000Z'));
    await writeRunRecord(store, {
      biome: 'dev-bob',
      gitSha: shas[1],
      finishedAt: '2026-11-02T00:01:00.000Z',
      projects: ['a', 'b'],
    });
    const { base, lines } = await run({ biome: 'dev-bob', outputFile: 'dist/base.txt' });
    expect(base).toBe(shas[1]);
    expect(lines.join('\n')).toContain(`last complete deploy run of dev-bob: ${shas[1]}`);
    expect(await readFile(join(root, 'dist/base.txt'), 'utf8')).toBe(`${shas[1]}\n`);
  });

  it('records but no run record (a first run cut short), a run at a commit this clone lacks, or a malformed record: the fallback', async () => {
    const store = createFileStore(join(root, 'store'));
    const cut = { ...record('a', shas[2], '2026-11-03T00:00:00.000Z'), biome: 'dev-cut' };
    await store.put(cut.artifactKey, Buffer.from('a'));
    await writeRecord(store, cut);
    expect((await run({ biome: 'dev-cut', fallback: 'all' })).base).toBe('all');
    await writeRunRecord(store, {
      biome: 'dev-cut',
      gitSha: 'f'.repeat(40),
      finishedAt: '2026-11-03T00:01:00.000Z',
      projects: ['a'],
    });
    expect((await run({ biome: 'dev-cut', fallback: 'all' })).base).toBe('all');
    await store.put('biomes/dev-cut/last-run.json', Buffer.from('{"biome":"dev-cut","gitSha":"HEAD~1"}'));
    expect((await run({ biome: 'dev-cut', fallback: shas[0] })).base).toBe(shas[0]);
  });

  it('a run record left from before a destroy (an earlier incarnation) is no base for the biome created again', async () => {
    const store = createFileStore(join(root, 'store'));
    await writeRunRecord(store, {
      biome: 'dev-again',
      gitSha: shas[1],
      finishedAt: '2026-11-02T00:01:00.000Z',
      projects: ['a'],
    });
    expect((await run({ biome: 'dev-again', fallback: 'all' })).base).toBe(shas[1]);
    // A destroy counts the incarnation up; a run record written late by a run that raced it names the old one.
    await bumpIncarnation(store, 'dev-again');
    expect((await run({ biome: 'dev-again', fallback: 'all' })).base).toBe('all');
    await writeRunRecord(store, {
      biome: 'dev-again',
      gitSha: shas[2],
      finishedAt: '2026-11-03T00:01:00.000Z',
      projects: ['a'],
    });
    expect((await run({ biome: 'dev-again', fallback: 'all' })).base).toBe(shas[2]);
  });

  it('falls back for a biome with no record, and says so when there is no fallback', async () => {
    expect((await run({ biome: 'dev-new', fallback: shas[0] })).base).toBe(shas[0]);
    await expect(run({ biome: 'dev-new' })).rejects.toMatchObject({ code: 'BIOME_NOT_FOUND' });
  });

  it('refuses an output file outside the workspace', async () => {
    await expect(run({ biome: 'dev-bob', outputFile: '../escape.txt' })).rejects.toMatchObject({
      code: 'OPTIONS_INVALID',
    });
    expect(existsSync(join(root, '../escape.txt'))).toBe(false);
  });
});
