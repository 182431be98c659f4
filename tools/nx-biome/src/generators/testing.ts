import type { Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { transformSync } from 'esbuild';

/** An empty Nx workspace tree with an `nx-biome.json` like the real one. */
export function createBiomeTree(overrides: Record<string, unknown> = {}): Tree {
  const tree = createTreeWithEmptyWorkspace();
  tree.write(
    'nx-biome.json',
    JSON.stringify({
      namePrefix: 'geo',
      maxBiomeLength: 24,
      promotionOrder: ['dev', 'prod'],
      environments: {
        dev: { account: '111111111111', region: 'ap-southeast-2', multiTenant: true },
        prod: { account: '333333333333', region: 'ap-southeast-2' },
      },
      ...overrides,
    }),
  );
  return tree;
}

/** Paths and contents of every pending change, to prove a failed generator wrote nothing. */
export function snapshot(tree: Tree): string[] {
  return tree
    .listChanges()
    .map((c) => `${c.type} ${c.path} ${c.content?.toString('base64') ?? ''}`)
    .sort();
}

/** Fails when generated TypeScript does not parse (templates are not type-checked in the plugin). */
export function assertParses(tree: Tree, path: string): void {
  transformSync(tree.read(path, 'utf-8')!, { loader: 'ts', sourcefile: path });
}

export const readJsonFrom = (tree: Tree, path: string) => JSON.parse(tree.read(path, 'utf-8')!);
