import { BiomeError } from './errors';

/**
 * The Lambda Node.js runtimes the plugin knows, with the dates AWS publishes
 * for each on its "Lambda runtimes" page (docs.aws.amazon.com/lambda, runtime
 * deprecation policy): `deprecated` is the day Lambda stops patching the
 * runtime; after `blockCreate` no function can be created on it, after
 * `blockUpdate` none can be updated. This table is the only place these dates
 * live: update it when AWS announces a new runtime or moves a date.
 */
export const LAMBDA_NODE_RUNTIMES: Readonly<
  Record<string, { node: number; deprecated: string; blockCreate?: string; blockUpdate?: string }>
> = {
  'nodejs16.x': { node: 16, deprecated: '2024-06-12', blockCreate: '2026-02-28', blockUpdate: '2026-03-31' },
  'nodejs18.x': { node: 18, deprecated: '2025-09-01', blockCreate: '2026-02-03', blockUpdate: '2026-03-09' },
  'nodejs20.x': { node: 20, deprecated: '2026-04-30', blockCreate: '2026-08-31', blockUpdate: '2026-09-30' },
  'nodejs22.x': { node: 22, deprecated: '2027-04-30', blockUpdate: '2027-07-01' },
  'nodejs24.x': { node: 24, deprecated: '2028-04-30', blockUpdate: '2028-07-01' },
};

/**
 * The runtime of a service that pins none (`settings.runtime`), and of the
 * account-level functions. `nodejs22.x`, not `nodejs24.x`: the stacks pin the
 * hashicorp/aws provider at 5.100.0 (the lock files, and the offline provider
 * mirror of the build machines), whose aws_lambda_function accepts runtimes
 * up to `nodejs22.x` and refuses `nodejs24.x` at plan. Moving to
 * `nodejs24.x` means upgrading the provider (6.x) in the same change.
 */
export const DEFAULT_LAMBDA_RUNTIME = 'nodejs22.x';

/** The esbuild `target` that matches a Lambda runtime: `nodejs24.x` → `node24`. */
export function esbuildTargetFor(runtime: string): string {
  const known = LAMBDA_NODE_RUNTIMES[runtime];
  if (!known) throw unknownRuntime(runtime, 'esbuild target');
  return `node${known.node}`;
}

/** Days a runtime is warned about before Lambda deprecates it. */
const WARN_DAYS = 120;

function unknownRuntime(runtime: string, where: string): BiomeError {
  const names = Object.keys(LAMBDA_NODE_RUNTIMES).join(', ');
  return new BiomeError(
    'RUNTIME_UNSUPPORTED',
    `${where}: "${runtime}" is not a Lambda Node.js runtime this plugin knows (${names}).`,
    `Set settings.runtime in the project's package target to ${DEFAULT_LAMBDA_RUNTIME} (or remove it for the default ${DEFAULT_LAMBDA_RUNTIME}).`,
  );
}

/**
 * Refuses a runtime that Lambda has deprecated on `today` (YYYY-MM-DD, passed
 * in: the core reads no clock) or that it does not know, naming the project
 * and the fix; returns a warning when the deprecation is near. Runs when a
 * biome's Terraform variables are rendered, so no plan or apply ever asks
 * Lambda for a function it would refuse to create or update.
 */
export function checkLambdaRuntime(input: { project: string; runtime: string; today: string }): string | undefined {
  const { project, runtime, today } = input;
  const known = LAMBDA_NODE_RUNTIMES[runtime];
  if (!known) throw unknownRuntime(runtime, `service ${project}`);
  const day = today.slice(0, 10);
  if (day >= known.deprecated) {
    const blocked =
      known.blockUpdate && day >= known.blockUpdate
        ? `; since ${known.blockUpdate} Lambda refuses to update functions on it`
        : known.blockCreate && day >= known.blockCreate
          ? `; since ${known.blockCreate} Lambda refuses to create functions on it`
          : known.blockCreate
            ? `; from ${known.blockCreate} Lambda refuses to create functions on it`
            : '';
    throw new BiomeError(
      'RUNTIME_DEPRECATED',
      `service ${project} runs on ${runtime}, which Lambda deprecated on ${known.deprecated}${blocked}.`,
      `Set settings.runtime to ${DEFAULT_LAMBDA_RUNTIME} (or remove it for the default) and the build's target to ${esbuildTargetFor(DEFAULT_LAMBDA_RUNTIME)} in its project.json, then deploy it again.`,
    );
  }
  const daysLeft = Math.round(
    (Date.parse(`${known.deprecated}T00:00:00Z`) - Date.parse(`${day}T00:00:00Z`)) / 86_400_000,
  );
  if (daysLeft <= WARN_DAYS)
    return `service ${project} runs on ${runtime}, which Lambda deprecates on ${known.deprecated} (${daysLeft} day${daysLeft === 1 ? '' : 's'}): move it to ${DEFAULT_LAMBDA_RUNTIME}.`;
  return undefined;
}
