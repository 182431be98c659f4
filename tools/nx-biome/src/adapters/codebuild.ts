import type { Build, CodeBuildClient } from '@aws-sdk/client-codebuild';
import { spawn } from 'node:child_process';
import { BiomeError } from '../core/errors';
import { BuildState, CodeBuildRequest } from '../core/codebuild';

/** The CodeBuild calls the runner makes, and nothing else. */
export interface CodeBuildPort {
  startBuild(request: CodeBuildRequest): Promise<BuildState>;
  getBuild(id: string): Promise<BuildState>;
  stopBuild(id: string): Promise<void>;
}

function toState(b: Build): BuildState {
  return {
    id: b.id ?? '(unknown)',
    status: b.buildStatus ?? 'IN_PROGRESS',
    currentPhase: b.currentPhase,
    phases: (b.phases ?? []).map((p) => ({
      type: p.phaseType ?? '?',
      status: p.phaseStatus,
      durationSeconds: p.durationInSeconds,
      messages: (p.contexts ?? []).map((c) => [c.statusCode, c.message].filter(Boolean).join(': ')).filter(Boolean),
    })),
    logsUrl: b.logs?.deepLink,
  };
}

function region(): string {
  return process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
}

/** Turns SDK failures into user errors that name the project and the fix (single and batch builds). */
export function translate(e: unknown, projectName: string): unknown {
  const name = (e as { name?: string })?.name ?? '';
  const message = (e as Error)?.message ?? String(e);
  if (name === 'ResourceNotFoundException') {
    return new BiomeError(
      'CODEBUILD_FAILED',
      `CodeBuild project "${projectName}" does not exist in ${region()} (${message}).`,
      'Create it with the devops stack (infra/stacks/devops), or pass the right --codebuildProject / CODEBUILD_PROJECT and AWS_REGION.',
    );
  }
  if (name === 'InvalidInputException')
    return new BiomeError(
      'OPTIONS_INVALID',
      `CodeBuild refused the build of "${projectName}": ${message}`,
      'Check the buildspec path, the commit and the variables.',
    );
  if (name === 'AccessDeniedException' || name === 'UnrecognizedClientException' || /credential/i.test(message)) {
    return new BiomeError(
      'CODEBUILD_FAILED',
      `No access to CodeBuild project "${projectName}": ${name ? `${name}: ` : ''}${message}`,
      'The CI role needs codebuild:StartBuild, BatchGetBuilds and StopBuild on the project (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE).',
    );
  }
  return e;
}

/** CodeBuild through the AWS SDK (standard credentials, region and AWS_ENDPOINT_URL_CODEBUILD). */
export function createCodeBuild(options: { client?: CodeBuildClient } = {}): CodeBuildPort {
  let loaded: Promise<{ client: CodeBuildClient; sdk: typeof import('@aws-sdk/client-codebuild') }> | undefined;
  // The SDK is a heavy import: load it only when a build is started.
  const load = () =>
    (loaded ??= import('@aws-sdk/client-codebuild').then((sdk) => ({
      sdk,
      client: options.client ?? new sdk.CodeBuildClient({ region: region(), maxAttempts: 5 }),
    })));
  let projectName = '';
  return {
    async startBuild(request) {
      const { client, sdk } = await load();
      projectName = request.projectName;
      try {
        const r = await client.send(
          new sdk.StartBuildCommand({
            projectName: request.projectName,
            sourceVersion: request.sourceVersion,
            // A fixed (main-biome) project runs its own buildspec: IAM denies an override.
            buildspecOverride: request.fixedProject ? undefined : request.buildspec,
            environmentVariablesOverride: request.variables.map((v) => ({
              name: v.name,
              value: v.value,
              type: 'PLAINTEXT',
            })),
            timeoutInMinutesOverride: request.timeoutInMinutes,
            idempotencyToken: request.idempotencyToken,
          }),
        );
        if (!r.build) throw new Error('StartBuild returned no build');
        return toState(r.build);
      } catch (e) {
        throw translate(e, request.projectName);
      }
    },
    async getBuild(id) {
      const { client, sdk } = await load();
      try {
        const r = await client.send(new sdk.BatchGetBuildsCommand({ ids: [id] }));
        const build = r.builds?.[0];
        if (!build)
          throw new BiomeError(
            'CODEBUILD_FAILED',
            `CodeBuild no longer knows build ${id}.`,
            'Look it up in the CodeBuild console; it may have been deleted.',
          );
        return toState(build);
      } catch (e) {
        throw translate(e, projectName);
      }
    },
    async stopBuild(id) {
      const { client, sdk } = await load();
      try {
        await client.send(new sdk.StopBuildCommand({ id }));
      } catch (e) {
        throw translate(e, projectName);
      }
    },
  };
}

/**
 * Runs one phase script in bash here (the local stand-in for CodeBuild), with
 * output streamed to this process. Resolves with the exit code.
 */
export function runShellPhase(
  script: string,
  options: { cwd: string; env: Record<string, string>; output?: (chunk: string) => void },
): Promise<number> {
  return new Promise((resolve, reject) => {
    // argv array: the script is one argument; bash is the shell CodeBuild uses for 0.2 buildspecs.
    const child = spawn('bash', ['-c', script], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const write = options.output ?? ((chunk: string) => process.stdout.write(chunk));
    child.stdout.on('data', (d: Buffer) => write(d.toString()));
    child.stderr.on('data', (d: Buffer) => write(d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
