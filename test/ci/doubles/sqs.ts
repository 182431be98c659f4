import { createHash, randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/** A message as the double keeps it. */
export interface FakeMessage {
  messageId: string;
  body: string;
  attributes: Record<string, { DataType: string; StringValue?: string }>;
  receiptHandle?: string;
  receiveCount: number;
  /** Seconds of the last ChangeMessageVisibility, if any. */
  visibilityTimeout?: number;
}

export interface SqsDouble {
  endpoint: string;
  queueUrl(name: string): string;
  /** Messages of a queue (sent with SendMessage or enqueued by the test). */
  messages(name: string): FakeMessage[];
  /** Puts a message in a queue and receives it, as the Lambda event source does: the SQS record Lambda gets. */
  receive(
    name: string,
    body: string,
  ): {
    eventSource: string;
    eventSourceARN: string;
    messageId: string;
    receiptHandle: string;
    body: string;
    attributes: { ApproximateReceiveCount: string };
  };
  /** Receives a message again (the next delivery after a failure). */
  redeliver(name: string, messageId: string): ReturnType<SqsDouble['receive']>;
  calls: { target: string; body: Record<string, unknown> }[];
  stop(): Promise<void>;
}

/**
 * A local stand-in for the Amazon SQS API on 127.0.0.1, in the JSON protocol
 * the v3 SDK speaks (`POST /`, `x-amz-target: AmazonSQS.<Operation>`,
 * `application/x-amz-json-1.0`): SendMessage (answers the body's MD5, which the
 * SDK checks) and ChangeMessageVisibility (0 to 43200 s, valid receipt handle
 * of a received message only; errors as `{"__type", "message"}` with 400).
 */
export async function startSqsDouble(): Promise<SqsDouble> {
  const queues = new Map<string, FakeMessage[]>();
  const calls: SqsDouble['calls'] = [];
  const queueOf = (url: string) => {
    const name = url.split('/').pop()!;
    if (!queues.has(name)) queues.set(name, []);
    return queues.get(name)!;
  };
  const reply = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID() });
    res.end(JSON.stringify(body));
  };
  const fail = (res: ServerResponse, type: string, message: string) =>
    reply(res, 400, { __type: `com.amazonaws.sqs#${type}`, message });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      calls.push({ target, body });
      if (req.method !== 'POST' || !target.startsWith('AmazonSQS.'))
        return fail(res, 'InvalidAction', `unsupported ${req.method} ${target}`);
      const queue = queueOf(String(body.QueueUrl ?? ''));
      if (target === 'AmazonSQS.SendMessage') {
        const text = String(body.MessageBody ?? '');
        if (!text) return fail(res, 'MissingParameter', 'The request must contain the parameter MessageBody.');
        const message: FakeMessage = {
          messageId: randomUUID(),
          body: text,
          attributes: (body.MessageAttributes as FakeMessage['attributes']) ?? {},
          receiveCount: 0,
        };
        queue.push(message);
        return reply(res, 200, {
          MessageId: message.messageId,
          MD5OfMessageBody: createHash('md5').update(text).digest('hex'),
        });
      }
      if (target === 'AmazonSQS.ChangeMessageVisibility') {
        const timeout = Number(body.VisibilityTimeout);
        if (!Number.isInteger(timeout) || timeout < 0 || timeout > 43200)
          return fail(
            res,
            'InvalidParameterValue',
            `Value ${body.VisibilityTimeout} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.`,
          );
        const message = queue.find((m) => m.receiptHandle === body.ReceiptHandle);
        if (!message)
          return fail(
            res,
            'ReceiptHandleIsInvalid',
            `The input receipt handle "${body.ReceiptHandle}" is not a valid receipt handle.`,
          );
        message.visibilityTimeout = timeout;
        return reply(res, 200, {});
      }
      return fail(res, 'InvalidAction', `The action ${target} is not valid for this endpoint.`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const deliver = (name: string, message: FakeMessage) => {
    message.receiveCount += 1;
    message.receiptHandle = randomUUID();
    return {
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${name}`,
      messageId: message.messageId,
      receiptHandle: message.receiptHandle,
      body: message.body,
      attributes: { ApproximateReceiveCount: String(message.receiveCount) },
    };
  };
  return {
    endpoint,
    queueUrl: (name) => `${endpoint}/000000000000/${name}`,
    messages: (name) => queueOf(name),
    receive(name, body) {
      const message: FakeMessage = { messageId: randomUUID(), body, attributes: {}, receiveCount: 0 };
      queueOf(name).push(message);
      return deliver(name, message);
    },
    redeliver(name, messageId) {
      return deliver(
        name,
        queueOf(name).find((m) => m.messageId === messageId)!,
      );
    },
    calls,
    stop: () => new Promise((r) => server.close(() => r())),
  };
}
