import { readFileSync } from 'node:fs';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parse } from 'yaml';

/** One build of a batch, as the test runs it for real (a process on its own clone). */
export interface BatchBuildRun {
  batchId: string;
  identifier: string;
  /** 1 for the first run of this identifier, 2 after a retry, … */
  attempt: number;
  /** The batch's overrides plus the graph entry's env.variables. */
  variables: Record<string, string>;
  sourceVersion: string;
}

/** Runs one build; resolves true when it succeeded. */
export type RunBatchBuild = (run: BatchBuildRun) => Promise<boolean>;

interface GroupState {
  identifier: string;
  dependsOn: string[];
  ignoreFailure: boolean;
  variables: Record<string, string>;
  current?: { arn: string; requestedOn: number; buildStatus: string };
  prior: { arn: string; requestedOn: number; buildStatus: string }[];
  attempts: number;
}

interface BatchState {
  id: string;
  arn: string;
  projectName: string;
  sourceVersion: string;
  number: number;
  startTime: number;
  endTime?: number;
  overrides: Record<string, string>;
  groups: GroupState[];
  stopped: boolean;
}

export interface CodeBuildBatchDouble {
  endpoint: string;
  /** Aims the real SDK client here (credentials come from the caller's environment). */
  env: Record<string, string>;
  calls: { operation: string; body: Record<string, unknown> }[];
  /** Every build the double started, in start order. */
  runs: BatchBuildRun[];
  stop(): Promise<void>;
}

const now = () => Math.floor(Date.now() / 1000);

/**
 * A local stand-in for CodeBuild batch builds on 127.0.0.1, in CodeBuild's
 * JSON 1.1 protocol (`x-amz-target: CodeBuild_20161006.StartBuildBatch`,
 * `BatchGetBuildBatches`, `RetryBuildBatch`, `StopBuildBatch`). It reads the
 * buildspec's `batch.build-graph` from the workspace, as CodeBuild does from
 * the source, and starts each build whose `depend-on` builds all succeeded
 * (at once when several are ready, so they run concurrently). A failed build
 * fails the batch; the builds that depend on it never start. RetryBuildBatch
 * with RETRY_FAILED_BUILDS reruns only failed and never-started builds.
 */
export async function startCodeBuildBatchDouble(options: {
  workspaceRoot: string;
  projects: string[];
  run: RunBatchBuild;
}): Promise<CodeBuildBatchDouble> {
  const calls: CodeBuildBatchDouble['calls'] = [];
  const runs: BatchBuildRun[] = [];
  const batches = new Map<string, BatchState>();
  let counter = 0;

  const status = (b: BatchState): string => {
    if (b.stopped) return 'STOPPED';
    const failed = b.groups.some((g) => g.current?.buildStatus === 'FAILED' && !g.ignoreFailure);
    const running = b.groups.some((g) => g.current?.buildStatus === 'IN_PROGRESS');
    if (running) return 'IN_PROGRESS';
    if (failed) return 'FAILED';
    if (b.groups.every((g) => g.current?.buildStatus === 'SUCCEEDED')) return 'SUCCEEDED';
    return 'IN_PROGRESS';
  };

  const json = (b: BatchState) => {
    const s = status(b);
    if (s !== 'IN_PROGRESS' && b.endTime === undefined) b.endTime = now();
    return {
      id: b.id,
      arn: b.arn,
      projectName: b.projectName,
      sourceVersion: b.sourceVersion,
      resolvedSourceVersion: b.sourceVersion,
      buildBatchNumber: b.number,
      startTime: b.startTime,
      endTime: b.endTime,
      currentPhase: s === 'IN_PROGRESS' ? 'IN_PROGRESS' : s,
      buildBatchStatus: s,
      complete: s !== 'IN_PROGRESS',
      buildGroups: b.groups.map((g) => ({
        identifier: g.identifier,
        dependsOn: g.dependsOn,
        ignoreFailure: g.ignoreFailure,
        ...(g.current
          ? { currentBuildSummary: { ...g.current, primaryArtifact: undefined, secondaryArtifacts: [] } }
          : {}),
        priorBuildSummaryList: g.prior,
      })),
    };
  };

  /** Starts every build whose dependencies all succeeded; a failure stops the graph below it. */
  const schedule = (b: BatchState) => {
    if (b.stopped) return;
    for (const g of b.groups) {
      if (g.current) continue;
      const deps = g.dependsOn.map((id) => b.groups.find((x) => x.identifier === id)!);
      if (
        !deps.every(
          (d) => d.current?.buildStatus === 'SUCCEEDED' || (d.ignoreFailure && d.current?.buildStatus === 'FAILED'),
        )
      )
        continue;
      g.attempts++;
      g.current = {
        arn: `arn:aws:codebuild:us-east-1:000000000000:build/${b.projectName}:${g.identifier}-${g.attempts}`,
        requestedOn: now(),
        buildStatus: 'IN_PROGRESS',
      };
      const run: BatchBuildRun = {
        batchId: b.id,
        identifier: g.identifier,
        attempt: g.attempts,
        variables: { ...b.overrides, ...g.variables },
        sourceVersion: b.sourceVersion,
      };
      runs.push(run);
      const mine = g.current;
      options
        .run(run)
        .catch(() => false)
        .then((ok) => {
          mine.buildStatus = b.stopped ? 'STOPPED' : ok ? 'SUCCEEDED' : 'FAILED';
          schedule(b);
        });
    }
  };

  const readGraph = (buildspec: string) => {
    const doc = parse(readFileSync(join(options.workspaceRoot, buildspec), 'utf8')) as {
      batch?: {
        'build-graph'?: {
          identifier: string;
          'depend-on'?: string[];
          'ignore-failure'?: boolean;
          env?: { variables?: Record<string, string> };
        }[];
      };
    };
    const graph = doc.batch?.['build-graph'];
    if (!graph?.length) return undefined;
    return graph.map((e) => ({
      identifier: e.identifier,
      dependsOn: e['depend-on'] ?? [],
      ignoreFailure: e['ignore-failure'] ?? false,
      variables: e.env?.variables ?? {},
      prior: [],
      attempts: 0,
    }));
  };

  const reply = (res: ServerResponse, status: number, body: unknown, type?: string) => {
    const text = JSON.stringify(type ? { __type: type, ...(body as object) } : body);
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': `req-${calls.length}`,
    });
    res.end(text);
  };

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.replace(/^CodeBuild_20161006\./, '');
    if (
      req.method !== 'POST' ||
      !target.startsWith('CodeBuild_20161006.') ||
      !String(req.headers['content-type']).startsWith('application/x-amz-json-1.1')
    ) {
      return reply(
        res,
        400,
        { message: 'expected POST / with x-amz-target CodeBuild_20161006.* and application/x-amz-json-1.1' },
        'InvalidInputException',
      );
    }
    const body = JSON.parse(raw || '{}') as Record<string, unknown>;
    calls.push({ operation, body });
    switch (operation) {
      case 'StartBuildBatch': {
        const projectName = String(body.projectName ?? '');
        if (!options.projects.includes(projectName))
          return reply(
            res,
            400,
            { message: `Project cannot be found: arn:aws:codebuild:us-east-1:000000000000:project/${projectName}` },
            'ResourceNotFoundException',
          );
        const buildspec = String(body.buildspecOverride ?? 'buildspec.yml');
        let groups: GroupState[] | undefined;
        try {
          groups = readGraph(buildspec);
        } catch (e) {
          return reply(res, 400, { message: `YAML_FILE_ERROR: ${(e as Error).message}` }, 'InvalidInputException');
        }
        if (!groups)
          return reply(
            res,
            400,
            { message: `Batch build configuration not found in ${buildspec}` },
            'InvalidInputException',
          );
        const number = ++counter;
        const id = `${projectName}:batch-${number}`;
        const overrides: Record<string, string> = {};
        for (const v of (body.environmentVariablesOverride as { name: string; value: string }[] | undefined) ?? [])
          overrides[v.name] = v.value;
        const b: BatchState = {
          id,
          arn: `arn:aws:codebuild:us-east-1:000000000000:build-batch/${id}`,
          projectName,
          sourceVersion: String(body.sourceVersion ?? 'main'),
          number,
          startTime: now(),
          overrides,
          groups,
          stopped: false,
        };
        batches.set(id, b);
        schedule(b);
        return reply(res, 200, { buildBatch: json(b) });
      }
      case 'BatchGetBuildBatches': {
        const ids = (body.ids as string[] | undefined) ?? [];
        return reply(res, 200, {
          buildBatches: ids.filter((i) => batches.has(i)).map((i) => json(batches.get(i)!)),
          buildBatchesNotFound: ids.filter((i) => !batches.has(i)),
        });
      }
      case 'RetryBuildBatch': {
        const b = batches.get(String(body.id ?? ''));
        if (!b)
          return reply(res, 400, { message: `Build batch ${String(body.id)} not found` }, 'ResourceNotFoundException');
        if (status(b) === 'IN_PROGRESS')
          return reply(res, 400, { message: 'Only a completed batch can be retried' }, 'InvalidInputException');
        const all = body.retryType === 'RETRY_ALL_BUILDS';
        for (const g of b.groups) {
          if (g.current && (all || g.current.buildStatus !== 'SUCCEEDED')) {
            g.prior.push(g.current);
            g.current = undefined;
          }
        }
        b.endTime = undefined;
        b.stopped = false;
        schedule(b);
        return reply(res, 200, { buildBatch: json(b) });
      }
      case 'StopBuildBatch': {
        const b = batches.get(String(body.id ?? ''));
        if (!b)
          return reply(res, 400, { message: `Build batch ${String(body.id)} not found` }, 'ResourceNotFoundException');
        b.stopped = true;
        return reply(res, 200, { buildBatch: json(b) });
      }
      default:
        return reply(res, 400, { message: `Unsupported operation ${operation}` }, 'InvalidInputException');
    }
  };

  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => handle(req, res, raw));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    // No keys of its own: the double accepts any signature, so the job's (s3rver's) keys serve both.
    env: { AWS_ENDPOINT_URL_CODEBUILD: endpoint, AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' },
    calls,
    runs,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
