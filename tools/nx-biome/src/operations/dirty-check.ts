import type { ProjectGraph } from '@nx/devkit';
import { BiomeError } from '../core/errors';

/** Root files every build reads. */
export const SHARED_INPUTS = ['package.json', 'package-lock.json', 'tsconfig.base.json', 'nx.json', 'nx-biome.json'];

/**
 * The folders that feed the given projects (all projects when none are named):
 * their roots and the roots of every workspace project they depend on.
 */
export function inputRootsOf(graph: Pick<ProjectGraph, 'nodes' | 'dependencies'>, projects?: string[]): string[] {
  const roots = new Set<string>(SHARED_INPUTS);
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const node = graph.nodes[name];
    if (!node) return;
    if (node.data.root && node.data.root !== '.') roots.add(node.data.root);
    for (const dep of graph.dependencies[name] ?? []) if (!dep.target.startsWith('npm:')) visit(dep.target);
  };
  for (const name of projects ?? Object.keys(graph.nodes)) visit(name);
  return [...roots].sort();
}

/** The GIT_DIRTY_TREE error, listing the files. */
export function dirtyTreeError(what: string, files: string[]): BiomeError {
  const shown = files.slice(0, 20).join('\n    ');
  const more = files.length > 20 ? `\n    (${files.length - 20} more)` : '';
  return new BiomeError(
    'GIT_DIRTY_TREE',
    `${what}: the working tree has uncommitted changes in the project's inputs:\n    ${shown}${more}`,
    `Commit or stash them (git stash push -- ${files.slice(0, 3).join(' ')}${files.length > 3 ? ' ...' : ''}). If a tool wrote them and they are not source, add them to .gitignore. --allow-dirty is for trying local edits in a sandpit only: the artifact is then labelled dirty and can never be promoted.`,
  );
}
