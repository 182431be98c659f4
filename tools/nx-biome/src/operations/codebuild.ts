import { BiomeError } from '../core/errors';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Buildspec,
  BuildspecPhase,
  BuildState,
  buildOutcome,
  CodeBuildRequest,
  describeBuildProgress,
  localBuildEnvironment,
  nextPhase,
  planPhaseScript,
  sharedShellScript,
} from '../core/codebuild';
import { CodeBuildPort, runShellPhase } from '../adapters/codebuild';

/** What following a build needs from the outside world. */
export interface FollowDeps {
  codebuild: CodeBuildPort;
  /** Milliseconds since some fixed point. */
  now(): number;
  sleep(ms: number): Promise<void>;
  log(line: string): void;
}

/**
 * Starts a CodeBuild build and follows it until it ends, logging each phase
 * change. Resolves when the build succeeds; throws CODEBUILD_FAILED naming
 * the failed phase and its message, or, after `timeoutSeconds`, stops the
 * build and throws.
 */
export async function runInCodeBuild(request: CodeBuildRequest, deps: FollowDeps): Promise<BuildState> {
  const started = deps.now();
  if (request.fixedProject) {
    deps.log(
      `CodeBuild ${request.projectName} fixes its buildspec and variables: not sent${request.withheld.length ? `: ${request.withheld.map((v) => `${v.name}=${v.value}`).join(', ')}` : ''}`,
    );
  }
  let build = await deps.codebuild.startBuild(request);
  deps.log(
    `CodeBuild ${request.projectName}: build ${build.id} started (${request.buildspec} at ${request.sourceVersion.slice(0, 12)})${build.logsUrl ? `\n  logs: ${build.logsUrl}` : ''}`,
  );
  const deadline = started + request.timeoutSeconds * 1000;
  let previous: BuildState | undefined;
  for (;;) {
    for (const line of describeBuildProgress(previous, build)) deps.log(line);
    const outcome = buildOutcome(build, request.projectName);
    if (outcome.done) {
      if (outcome.error) throw outcome.error;
      deps.log(
        `CodeBuild ${request.projectName}: build ${build.id} SUCCEEDED in ${Math.round((deps.now() - started) / 1000)} s`,
      );
      return build;
    }
    if (deps.now() >= deadline) {
      await deps.codebuild.stopBuild(build.id);
      throw new BiomeError(
        'CODEBUILD_FAILED',
        `CodeBuild build ${build.id} (${request.projectName}) did not finish within ${request.timeoutSeconds} s (still in ${build.currentPhase ?? 'an unknown phase'}); it was stopped.`,
        'Raise --timeoutSeconds if the build needs longer, or look at the build log for what it waits on.',
      );
    }
    await deps.sleep(Math.max(0, Math.min(request.pollSeconds * 1000, deadline - deps.now())));
    previous = build;
    build = await deps.codebuild.getBuild(build.id);
  }
}

/**
 * Runs a buildspec's phases in a shell here, as CodeBuild would: its order,
 * its variables, one shell state for the whole build, `finally` blocks,
 * `on-failure`, and its phase transitions (a failed BUILD still runs
 * POST_BUILD, with CODEBUILD_BUILD_SUCCEEDING=0). Fails naming every phase
 * that failed.
 */
export async function runBuildspecLocally(
  spec: Buildspec,
  request: CodeBuildRequest,
  deps: {
    cwd: string;
    env: Record<string, string | undefined>;
    now(): number;
    log(line: string): void;
    output?: (chunk: string) => void;
  },
): Promise<void> {
  const env = localBuildEnvironment(spec, request, deps.env);
  deps.log(`local build: ${request.buildspec} (${spec.phases.map((p) => p.name).join(' → ')})`);
  const stateDir = await mkdtemp(join(tmpdir(), 'nx-biome-build-'));
  const failed: { phase: string; code: number }[] = [];
  try {
    let phase: BuildspecPhase | undefined = spec.phases[0]?.name;
    while (phase) {
      const current = spec.phases.find((p) => p.name === phase)!;
      const started = deps.now();
      deps.log(`  ${phase.toUpperCase().padEnd(16)} running…`);
      const script = sharedShellScript(planPhaseScript(current), join(stateDir, 'env.sh'), failed.length === 0);
      const code = await runShellPhase(script, { cwd: deps.cwd, env, output: deps.output });
      const took = `${Math.round((deps.now() - started) / 1000)} s`;
      if (code !== 0) failed.push({ phase: phase.toUpperCase(), code });
      deps.log(
        `  ${phase.toUpperCase().padEnd(16)} ${code === 0 ? 'SUCCEEDED' : `FAILED (exit status ${code})`} (${took})`,
      );
      phase = nextPhase(spec, phase, code !== 0);
    }
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
  if (failed.length) {
    throw new BiomeError(
      'CODEBUILD_FAILED',
      `Local build of ${request.buildspec}: phase ${failed.map((f) => `${f.phase} FAILED (a command exited with code ${f.code})`).join(', then ')}.`,
      'The output above shows the failing command; fix it and run again.',
    );
  }
}
