import type { ExecutorContext } from '@nx/devkit';
import { relative } from 'node:path';
import { BiomeError } from '../../core/errors';
import { parseBiomeName } from '../../core/names';
import { PromotionStep } from '../../core/promotion';
import { renderTable } from '../../core/table';
import { loadWorkspaceConfig } from '../../adapters/workspace';
import { Deps, realDeps } from '../../operations/context';
import { promoteBiome, PromotionResult } from '../../operations/promote';
import { runExecutor } from '../run';
import type { PromoteExecutorSchema } from './schema';

function describeStep(s: PromotionStep): string {
  if (s.action === 'unchanged') return 'unchanged (same bytes)';
  const basis = s.basis === 'time' ? ' (by deploy time: commit not in this clone)' : '';
  return {
    new: 'new in target',
    same: 'same commit, new settings',
    forward: `forward${basis}`,
    backward: `BACKWARDS (--allow-rollback)${basis}`,
  }[s.direction];
}

/** Promotes `--from` (a biome) to `--to` (the next environment's main biome). */
export async function promoteWith(
  options: PromoteExecutorSchema,
  context: ExecutorContext,
  deps?: Deps,
): Promise<PromotionResult> {
  for (const name of ['from', 'to'] as const) {
    if (typeof options[name] !== 'string' || !options[name]) {
      throw new BiomeError(
        'OPTIONS_INVALID',
        `No --${name} given.`,
        'Pass --from=<biome> --to=<environment>, e.g. --from=dev --to=staging.',
      );
    }
  }
  const config = await loadWorkspaceConfig(context.root);
  const source = parseBiomeName(options.from, config);
  const d = deps ?? realDeps(context.root, config);
  const dryRun = !!options.dryRun;
  const result = await promoteBiome({
    config,
    source,
    to: options.to,
    deps: d,
    workspaceRoot: context.root,
    allowRollback: !!options.allowRollback,
    dryRun,
  });
  const { target, steps } = result;
  d.log(
    `${dryRun ? '[dry-run] ' : ''}promotion ${source.name} (${d.storeFor(source.environment.name).url}) → ${target.name} (${d.storeFor(target.environment.name).url})`,
  );
  d.log(
    renderTable(
      ['project', target.name, source.name, 'change'],
      steps.map((s) => [
        s.project,
        s.current ? s.current.gitSha.slice(0, 8) : '-',
        s.source.gitSha.slice(0, 8),
        describeStep(s),
      ]),
    ),
  );
  const copied = steps.filter((s) => s.action === 'copy').length;
  if (dryRun) d.log(`[dry-run] would copy and record ${copied} project(s); nothing was written.`);
  else
    d.log(
      `promoted ${copied} project(s) from ${source.name} to ${target.name}; rendered ${relative(context.root, result.tfvarsPath!)}`,
    );
  return result;
}

export default async function promoteExecutor(
  options: PromoteExecutorSchema,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  return runExecutor('promote', async () => {
    await promoteWith(options, context);
  });
}
