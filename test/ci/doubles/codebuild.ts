import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/** A build phase as CodeBuild's JSON 1.1 API returns it. */
export interface PhaseJson {
  phaseType: string;
  phaseStatus?: string;
  startTime?: number;
  endTime?: number;
  durationInSeconds?: number;
  contexts?: { statusCode?: string; message?: string }[];
}

/** One observation of a build: what BatchGetBuilds answers at that moment. */
export interface BuildStep {
  buildStatus: string;
  currentPhase: string;
  phases: PhaseJson[];
}

export const PHASE_ORDER = [
  'SUBMITTED',
  'QUEUED',
  'PROVISIONING',
  'DOWNLOAD_SOURCE',
  'INSTALL',
  'PRE_BUILD',
  'BUILD',
  'POST_BUILD',
  'UPLOAD_ARTIFACTS',
  'FINALIZING',
  'COMPLETED',
];

/**
 * The observations of a build that runs through CodeBuild's phases up to
 * `until`, ending with `status` (a failed phase carries `context`).
 */
export function buildSteps(
  until: string,
  status: 'SUCCEEDED' | 'FAILED' | 'IN_PROGRESS',
  context?: { statusCode: string; message: string },
): BuildStep[] {
  const last = PHASE_ORDER.indexOf(until);
  const steps: BuildStep[] = [];
  for (let i = 0; i <= last; i++) {
    const done: PhaseJson[] = PHASE_ORDER.slice(0, i).map((phaseType) => ({
      phaseType,
      phaseStatus: 'SUCCEEDED',
      startTime: 1_700_000_000,
      endTime: 1_700_000_002,
      durationInSeconds: 2,
    }));
    steps.push({
      buildStatus: 'IN_PROGRESS',
      currentPhase: PHASE_ORDER[i],
      phases: [...done, { phaseType: PHASE_ORDER[i], startTime: 1_700_000_000 }],
    });
  }
  if (status === 'IN_PROGRESS') return steps;
  const final = steps[steps.length - 1];
  const failedAt = status === 'FAILED' ? final.currentPhase : undefined;
  const phases: PhaseJson[] = final.phases.map((p) =>
    p.phaseType === failedAt
      ? {
          ...p,
          phaseStatus: 'FAILED',
          endTime: 1_700_000_009,
          durationInSeconds: 9,
          contexts: context ? [context] : [],
        }
      : p,
  );
  if (status === 'SUCCEEDED')
    phases[phases.length - 1] = { ...phases[phases.length - 1], phaseStatus: 'SUCCEEDED', durationInSeconds: 1 };
  phases.push({ phaseType: 'COMPLETED', startTime: 1_700_000_010 });
  steps.push({ buildStatus: status, currentPhase: 'COMPLETED', phases });
  return steps;
}

export interface CodeBuildDouble {
  endpoint: string;
  /** Environment that aims the real SDK client at this double. */
  env: Record<string, string>;
  /** Every call: the x-amz-target operation and its JSON body. */
  calls: { operation: string; body: Record<string, unknown> }[];
  stop(): Promise<void>;
}

/**
 * A local stand-in for AWS CodeBuild on 127.0.0.1 that speaks its JSON 1.1
 * protocol (`POST /`, `x-amz-target: CodeBuild_20161006.<Operation>`): each
 * known project replays its list of observations, one per BatchGetBuilds.
 */
export async function startCodeBuildDouble(projects: Record<string, BuildStep[]>): Promise<CodeBuildDouble> {
  const calls: CodeBuildDouble['calls'] = [];
  const builds = new Map<string, { project: string; polls: number; stopped: boolean; sourceVersion: string }>();
  let counter = 0;

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `req-${calls.length}` });
    res.end(JSON.stringify(body));
  };
  const buildJson = (id: string) => {
    const b = builds.get(id)!;
    const steps = projects[b.project];
    const step = b.stopped
      ? { ...steps[Math.min(b.polls, steps.length - 1)], buildStatus: 'STOPPED', currentPhase: 'COMPLETED' }
      : steps[Math.min(b.polls, steps.length - 1)];
    return {
      id,
      arn: `arn:aws:codebuild:us-east-1:000000000000:build/${id}`,
      projectName: b.project,
      sourceVersion: b.sourceVersion,
      startTime: 1_700_000_000,
      ...step,
      logs: { deepLink: `https://console.example.invalid/logs/${encodeURIComponent(id)}` },
    };
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.replace(/^CodeBuild_20161006\./, '');
      if (
        req.method !== 'POST' ||
        req.url !== '/' ||
        !target.startsWith('CodeBuild_20161006.') ||
        !String(req.headers['content-type']).startsWith('application/x-amz-json-1.1')
      ) {
        return send(res, 400, {
          __type: 'SerializationException',
          message: `unexpected request ${req.method} ${req.url} ${target}`,
        });
      }
      const body = raw ? JSON.parse(raw) : {};
      calls.push({ operation, body });
      if (operation === 'StartBuild') {
        if (!projects[body.projectName])
          return send(res, 400, {
            __type: 'ResourceNotFoundException',
            message: `Project cannot be found: arn:aws:codebuild:us-east-1:000000000000:project/${body.projectName}`,
          });
        const id = `${body.projectName}:build-${++counter}`;
        builds.set(id, { project: body.projectName, polls: 0, stopped: false, sourceVersion: body.sourceVersion });
        return send(res, 200, { build: buildJson(id) });
      }
      if (operation === 'BatchGetBuilds') {
        const found = (body.ids as string[]).filter((id) => builds.has(id));
        for (const id of found) builds.get(id)!.polls++;
        return send(res, 200, {
          builds: found.map(buildJson),
          buildsNotFound: (body.ids as string[]).filter((id) => !builds.has(id)),
        });
      }
      if (operation === 'StopBuild') {
        const b = builds.get(body.id);
        if (!b) return send(res, 400, { __type: 'ResourceNotFoundException', message: `Build ${body.id} not found` });
        b.stopped = true;
        return send(res, 200, { build: buildJson(body.id) });
      }
      return send(res, 400, {
        __type: 'InvalidInputException',
        message: `operation ${operation} is not supported by this double`,
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    env: {
      AWS_ENDPOINT_URL_CODEBUILD: endpoint,
      AWS_ACCESS_KEY_ID: 'DOUBLE',
      AWS_SECRET_ACCESS_KEY: 'DOUBLE',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    calls,
    stop: () => new Promise((r) => server.close(() => r())),
  };
}
