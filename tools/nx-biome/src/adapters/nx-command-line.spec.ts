import { describe, expect, it } from 'vitest';
import { selectRun } from '../core/run-selection';
import { readNxCommandLine } from './nx-command-line';

const read = async (line: string) => {
  const cmd = await readNxCommandLine(['node', 'nx', ...line.split(' ')]);
  return cmd && selectRun(cmd);
};

describe("an Nx command line, read with Nx's own command definitions", () => {
  it.each([
    [
      'deploy grade-predict --biome=dev-x',
      { deploys: true, projects: ['grade-predict'], biome: 'dev-x', affected: false },
    ],
    [
      'run grade-predict:deploy --biome dev-x --allow-dirty',
      { deploys: true, projects: ['grade-predict'], biome: 'dev-x', allowDirty: true },
    ],
    [
      'run grade-predict:deploy:production --biome=dev-x --dry-run',
      { deploys: true, projects: ['grade-predict'], dryRun: true },
    ],
    ['run-many -t=deploy --biome=dev-y', { deploys: true, projects: [], biome: 'dev-y' }],
    ['run-many --targets=build,deploy --biome=dev-y --allowDirty', { deploys: true, allowDirty: true }],
    [
      'run-many -t deploy --projects a --projects b --exclude c,d --biome=dev-y',
      { projects: ['a', 'b'], exclude: ['c', 'd'] },
    ],
    ['run-many -t deploy -p tag:kind:service --biome=dev-y', { projects: ['tag:kind:service'] }],
    [
      'affected --target=deploy --biome=dev-y --base=HEAD~1',
      { affected: true, deploys: true, base: 'HEAD~1', customRange: false },
    ],
    [
      'affected -t build,deploy --biome=dev-y --base=main --head=HEAD~1 --output-style=static',
      { affected: true, deploys: true, base: 'main', customRange: true },
    ],
    ['affected -t deploy --biome=dev-y --uncommitted', { affected: true, customRange: true }],
    ['affected -t build --biome=dev-y', { affected: true, deploys: false, biome: 'dev-y' }],
    ['run-many -t lint', { deploys: false, biome: undefined }],
    ['deploy grade-predict --biome', { biome: '' }],
  ])('%s', async (line, expected) => {
    expect(await read(line)).toMatchObject(expected);
  });

  it('is no deploy for commands that run no target, or that Nx itself refuses', async () => {
    expect(await read('affected -t deploy --all')).toBeUndefined();
    expect(await read('affected -t deploy --head=HEAD')).toBeUndefined(); // Nx: head implies base
    expect((await read('graph'))?.deploys).toBeFalsy();
  });
});
