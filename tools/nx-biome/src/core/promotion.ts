import { WorkspaceConfig } from './config';
import { BiomeError } from './errors';
import { canonicalJson, LedgerRecord } from './ledger';
import { BiomeRef, parseBiomeName } from './names';
import { missingDataSets } from './settings';

/**
 * The main biome a promotion from `source` writes to. `to` names an
 * environment, and it must be the one right after the source's environment in
 * `promotionOrder`: nothing skips a stage.
 */
export function resolvePromotionTarget(config: WorkspaceConfig, source: BiomeRef, to: string): BiomeRef {
  const order = config.promotionOrder;
  const from = source.environment.name;
  const at = order.indexOf(from);
  const next = at >= 0 ? order[at + 1] : undefined;
  if (!Object.hasOwn(config.environments, to)) {
    throw new BiomeError(
      'PROMOTION_INVALID',
      `--to=${to} is not an environment.`,
      `--to names an environment (${order.join(' → ')}); promotion writes to that environment's main biome.`,
    );
  }
  if (to !== next) {
    const why =
      at < 0
        ? `${from} is not in promotionOrder (${order.join(' → ')})`
        : next
          ? `the next environment after ${from} is ${next}`
          : `${from} is the last environment (${order.join(' → ')})`;
    throw new BiomeError(
      'PROMOTION_INVALID',
      `Cannot promote ${source.name} to ${to}: ${why}.`,
      next ? `Promote to ${next}: --from=${source.name} --to=${next}.` : 'Nothing comes after it.',
    );
  }
  return parseBiomeName(to, config);
}

/** How a project's commit compares with what the target runs. */
export type PromotionDirection = 'new' | 'same' | 'forward' | 'backward';

export interface PromotionStep {
  project: string;
  source: LedgerRecord;
  current?: LedgerRecord;
  /** `copy` writes a record (and copies the artifact); `unchanged` leaves the target's record alone. */
  action: 'copy' | 'unchanged';
  direction: PromotionDirection;
  /** What decided the direction: git ancestry, or deploy times when the repository lacks a commit. */
  basis?: 'git' | 'time';
}

/**
 * Plans a promotion. Refuses an empty source, any dirty artifact, and (without
 * `allowRollback`) any project that would move to a commit that does not
 * contain the one the target runs. `contains(project)` answers whether the
 * source commit contains the target's commit (git ancestry), or undefined when
 * the repository lacks either commit; then deploy times decide.
 */
export function planPromotion(input: {
  source: string;
  target: BiomeRef;
  records: LedgerRecord[];
  targetRecords: LedgerRecord[];
  contains: Map<string, boolean | undefined>;
  allowRollback: boolean;
}): PromotionStep[] {
  if (input.records.length === 0) {
    throw new BiomeError(
      'PROMOTION_INVALID',
      `Biome ${input.source} records no project: there is nothing to promote.`,
      'Deploy to it first, or promote another biome.',
    );
  }
  const dirty = input.records.filter((r) => r.dirty);
  if (dirty.length > 0) {
    throw new BiomeError(
      'ARTIFACT_DIRTY',
      `${input.source} runs dirty artifacts, which are never promoted: ${dirty.map((r) => `${r.project} (${r.artifactKey})`).join(', ')}.`,
      `Commit the change and deploy it to ${input.source} from a clean tree, then promote.`,
    );
  }
  const missing = missingDataSets(input.records, input.target.environment);
  if (missing.length > 0) {
    const names = [...new Set(missing.flatMap((m) => m.dataSets))];
    throw new BiomeError(
      'DATA_SET_MISSING',
      `${input.target.name} cannot run what ${input.source} runs: environment ${input.target.environment.name} lacks data set${names.length > 1 ? 's' : ''} ${names.map((n) => `"${n}"`).join(', ')}:\n  - ${missing.map((m) => `${m.project} reads ${m.dataSets.join(', ')}`).join('\n  - ')}`,
      `Declare ${names.join(', ')} under environments.${input.target.environment.name}.dataSets in nx-biome.json (and load the data into its bucket), then promote again. Nothing was copied.`,
    );
  }
  const current = new Map(input.targetRecords.map((r) => [r.project, r]));
  const steps = input.records.map((source): PromotionStep => {
    const c = current.get(source.project);
    if (!c) return { project: source.project, source, action: 'copy', direction: 'new' };
    // The same bytes and settings run there already, whatever commit they were built at: nothing to copy.
    const same = c.sha256 === source.sha256 && canonicalJson(c.settings) === canonicalJson(source.settings);
    if (same) return { project: source.project, source, current: c, action: 'unchanged', direction: 'same' };
    if (c.gitSha === source.gitSha)
      return { project: source.project, source, current: c, action: 'copy', direction: 'same' };
    const contains = input.contains.get(source.project);
    if (contains !== undefined)
      return {
        project: source.project,
        source,
        current: c,
        action: 'copy',
        direction: contains ? 'forward' : 'backward',
        basis: 'git',
      };
    const forward = Date.parse(source.deployedAt) >= Date.parse(c.deployedAt);
    return {
      project: source.project,
      source,
      current: c,
      action: 'copy',
      direction: forward ? 'forward' : 'backward',
      basis: 'time',
    };
  });
  const backward = steps.filter((s) => s.direction === 'backward');
  if (backward.length > 0 && !input.allowRollback) {
    const lines = backward.map(
      (s) =>
        `${s.project}: ${input.target.name} runs ${s.current!.gitSha.slice(0, 8)}, ${input.source} has ${s.source.gitSha.slice(0, 8)} (${s.basis === 'git' ? 'which does not contain it' : 'deployed earlier'})`,
    );
    throw new BiomeError(
      'PROMOTION_INVALID',
      `Promotion would move ${input.target.name} backwards:\n  - ${lines.join('\n  - ')}`,
      'Deploy the newer commit to the source biome first, or pass --allow-rollback if going back is intended.',
    );
  }
  return steps;
}

/** The record a promotion writes to the target: same artifact and commit, new biome, time and author. */
export function promotedRecord(
  source: LedgerRecord,
  input: { target: BiomeRef; from: string; now: Date; deployedBy: string; ciJobUrl?: string },
): LedgerRecord {
  const { ciJobUrl: _ignored, ...rest } = source;
  return {
    ...rest,
    biome: input.target.name,
    environment: input.target.environment.name,
    deployedAt: input.now.toISOString(),
    deployedBy: input.deployedBy,
    ...(input.ciJobUrl ? { ciJobUrl: input.ciJobUrl } : {}),
    origin: { action: 'promote', from: input.from },
  };
}
