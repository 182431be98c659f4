import { randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/** A published state machine version as the double keeps it. */
export interface FakeVersion {
  arn: string;
  definition: string;
  description: string;
  /** Epoch seconds, as the JSON 1.0 protocol sends timestamps. */
  created: number;
}

export interface FakeStateMachine {
  arn: string;
  name: string;
  /** The latest definition ($LATEST, unpublished edits included). */
  definition: string;
  versions: FakeVersion[];
  /** Aliases by name: the version they route to. */
  aliases: Map<string, { versionArn: string; description: string }>;
}

export interface SfnDouble {
  endpoint: string;
  machines: Map<string, FakeStateMachine>;
  calls: { target: string; body: Record<string, unknown> }[];
  /** Publishes a version of a (new) state machine and points the `live` alias at it, as the biome stack does. */
  deploy(arn: string, definition: string, description: string, at?: Date): FakeStateMachine;
  stop(): Promise<void>;
}

/**
 * A local stand-in for the AWS Step Functions API on 127.0.0.1, speaking its
 * wire protocol (AWS JSON 1.0): `POST /`, `x-amz-target:
 * AWSStepFunctions.<Operation>`, `content-type: application/x-amz-json-1.0`;
 * errors are HTTP 400 with `{"__type": "<code>", "message": ...}`.
 * DescribeStateMachine accepts a state machine ARN or a version ARN
 * (`<arn>:<n>`), like the service; DescribeStateMachineAlias an alias ARN.
 */
export async function startSfnDouble(): Promise<SfnDouble> {
  const machines = new Map<string, FakeStateMachine>();
  const calls: SfnDouble['calls'] = [];
  const reply = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID() });
    res.end(JSON.stringify(body));
  };
  const error = (res: ServerResponse, type: string, message: string) =>
    reply(res, 400, { __type: `com.amazonaws.swf.service.v2.model#${type}`, message });
  // arn:aws:states:<region>:<account>:stateMachine:<name>[:<version or alias>]
  const split = (arn: string) => {
    const parts = arn.split(':');
    return { machine: parts.slice(0, 7).join(':'), qualifier: parts[7] };
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      if (
        req.method !== 'POST' ||
        req.url !== '/' ||
        !String(req.headers['content-type']).startsWith('application/x-amz-json-1.0') ||
        !target.startsWith('AWSStepFunctions.')
      ) {
        return error(res, 'UnknownOperationException', `unsupported ${req.method} ${req.url} ${target}`);
      }
      let body: Record<string, unknown>;
      try {
        body = raw ? JSON.parse(raw) : {};
      } catch {
        return error(res, 'SerializationException', 'body is not JSON');
      }
      const operation = target.slice('AWSStepFunctions.'.length);
      calls.push({ target: operation, body });
      if (operation === 'DescribeStateMachine') {
        const arn = String(body.stateMachineArn ?? '');
        const { machine, qualifier } = split(arn);
        const m = machines.get(machine);
        if (!m) return error(res, 'StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
        const common = {
          name: m.name,
          status: 'ACTIVE',
          roleArn: `arn:aws:iam::000000000000:role/${m.name}`,
          type: 'STANDARD',
          revisionId: randomUUID(),
        };
        if (qualifier === undefined)
          return reply(res, 200, {
            ...common,
            stateMachineArn: m.arn,
            definition: m.definition,
            creationDate: m.versions[0]?.created ?? 0,
          });
        const v = m.versions.find((x) => x.arn === arn);
        if (!v) return error(res, 'StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
        return reply(res, 200, {
          ...common,
          stateMachineArn: v.arn,
          definition: v.definition,
          description: v.description,
          creationDate: v.created,
        });
      }
      if (operation === 'DescribeStateMachineAlias') {
        const arn = String(body.stateMachineAliasArn ?? '');
        const { machine, qualifier } = split(arn);
        const alias = qualifier ? machines.get(machine)?.aliases.get(qualifier) : undefined;
        if (!alias) return error(res, 'ResourceNotFound', `Resource not found: '${arn}'`);
        return reply(res, 200, {
          stateMachineAliasArn: arn,
          name: qualifier,
          description: alias.description,
          routingConfiguration: [{ stateMachineVersionArn: alias.versionArn, weight: 100 }],
          creationDate: 0,
          updateDate: 0,
        });
      }
      return error(res, 'UnknownOperationException', `operation ${operation} is not supported by this double`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    machines,
    calls,
    deploy(arn, definition, description, at = new Date()) {
      const m: FakeStateMachine = machines.get(arn) ?? {
        arn,
        name: arn.split(':')[6],
        definition,
        versions: [],
        aliases: new Map(),
      };
      const v = { arn: `${arn}:${m.versions.length + 1}`, definition, description, created: at.getTime() / 1000 };
      m.definition = definition;
      m.versions.push(v);
      m.aliases.set('live', { versionArn: v.arn, description });
      machines.set(arn, m);
      return m;
    },
    stop: () => new Promise((r) => server.close(() => r())),
  };
}
