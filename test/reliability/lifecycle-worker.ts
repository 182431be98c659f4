/*
 * Runs one lifecycle command of the plugin in its own process, the way
 * `nx run infra:<target>` does (default executor export, real dependencies
 * from the environment), for tests that race real processes.
 * argv: <biome-destroy|biome-sleep|promote> <workspace root> <options as JSON>
 * Exit code 0 on success, 1 on failure (the executor prints why).
 */
import type { ExecutorContext } from '@nx/devkit';
import biomeDestroyExecutor from '../../tools/nx-biome/src/executors/biome-destroy/executor';
import biomeSleepExecutor from '../../tools/nx-biome/src/executors/biome-sleep/executor';
import promoteExecutor from '../../tools/nx-biome/src/executors/promote/executor';

const executors: Record<string, (options: never, context: ExecutorContext) => Promise<{ success: boolean }>> = {
  'biome-destroy': biomeDestroyExecutor,
  'biome-sleep': biomeSleepExecutor,
  promote: promoteExecutor,
};

async function main() {
  const [command, root, options] = process.argv.slice(2);
  const context = { root, cwd: root, projectName: 'infra', isVerbose: false } as unknown as ExecutorContext;
  const { success } = await executors[command](JSON.parse(options) as never, context);
  process.exit(success ? 0 : 1);
}

void main();
