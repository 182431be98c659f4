/**
 * Runs an Amazon States Language definition in-process over local handlers,
 * with the data flow of Step Functions: InputPath → Parameters → (task) →
 * ResultSelector → ResultPath → OutputPath. No Step Functions emulator runs on
 * the build machines' Node.js (aws-local-stepfunctions needs Node 22 and a
 * newer AWS SDK than the workspace pins; Step Functions Local needs Java), so
 * the tests use this one for the states the workflows use: Task
 * (`arn:aws:states:::lambda:invoke` with `Payload`/`Payload.$`, the result as
 * `{ Payload, StatusCode }`), Pass, Choice, Map (inline), Succeed, Fail.
 * Paths are the reference-path subset: `$`, `$.a.b`, `$.a[0]`. Anything else
 * throws, so a definition it cannot run fails the test instead of passing.
 */

type Json = unknown;
type Handler = (event: Json) => Promise<Json> | Json;

interface State {
  Type: string;
  Next?: string;
  End?: boolean;
  InputPath?: string | null;
  OutputPath?: string | null;
  Parameters?: Json;
  ResultSelector?: Json;
  ResultPath?: string | null;
  Result?: Json;
  Resource?: string;
  Choices?: Choice[];
  Default?: string;
  ItemsPath?: string;
  ItemProcessor?: Definition;
  Iterator?: Definition;
  Error?: string;
  Cause?: string;
}

interface Choice {
  Variable?: string;
  Next?: string;
  And?: Choice[];
  Or?: Choice[];
  Not?: Choice;
  [operator: string]: unknown;
}

export interface Definition {
  StartAt: string;
  States: Record<string, State>;
}

/** A Fail state or a failed task, as Step Functions reports it. */
export class ExecutionFailed extends Error {
  constructor(
    readonly error: string,
    readonly detail: string,
  ) {
    super(`${error}: ${detail}`);
  }
}

function steps(path: string): (string | number)[] {
  if (!path.startsWith('$')) throw new Error(`unsupported path ${path}`);
  const out: (string | number)[] = [];
  const re = /\.([A-Za-z_][\w-]*)|\[(\d+)\]/gy;
  re.lastIndex = 1;
  while (re.lastIndex < path.length) {
    const m = re.exec(path);
    if (!m) throw new Error(`unsupported path ${path}`);
    out.push(m[1] ?? Number(m[2]));
  }
  return out;
}

/** The value at a reference path; undefined when it is not there. */
export function readPath(data: Json, path: string): Json {
  let value = data;
  for (const step of steps(path)) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, Json>)[step];
  }
  return value;
}

function mustRead(data: Json, path: string, where: string): Json {
  const value = readPath(data, path);
  if (value === undefined)
    throw new ExecutionFailed(
      'States.Runtime',
      `${where}: the path ${path} matches nothing in ${JSON.stringify(data).slice(0, 200)}`,
    );
  return value;
}

function writePath(data: Json, path: string | null | undefined, value: Json): Json {
  if (path === null) return data;
  if (path === undefined || path === '$') return value;
  const keys = steps(path);
  const root: Record<string | number, Json> =
    data !== null && typeof data === 'object' ? (structuredClone(data as object) as Record<string, Json>) : {};
  let node = root;
  for (const key of keys.slice(0, -1)) {
    if (node[key] === null || typeof node[key] !== 'object') node[key] = {};
    node = node[key] as Record<string | number, Json>;
  }
  node[keys[keys.length - 1]] = value;
  return root;
}

/** A Parameters or ResultSelector template: keys ending in `.$` take the value at their path. */
function fillTemplate(template: Json, input: Json, where: string): Json {
  if (Array.isArray(template)) return template.map((t) => fillTemplate(t, input, where));
  if (template === null || typeof template !== 'object') return template;
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith('.$')) {
      if (typeof value !== 'string' || !value.startsWith('$'))
        throw new Error(`${where}: ${key} is not a reference path (intrinsic functions are not supported)`);
      out[key.slice(0, -2)] = mustRead(input, value, where);
    } else out[key] = fillTemplate(value, input, where);
  }
  return out;
}

const COMPARE: Record<string, (a: Json, b: Json) => boolean> = {
  StringEquals: (a, b) => a === b,
  NumericEquals: (a, b) => typeof a === 'number' && a === b,
  NumericLessThan: (a, b) => typeof a === 'number' && a < (b as number),
  NumericLessThanEquals: (a, b) => typeof a === 'number' && a <= (b as number),
  NumericGreaterThan: (a, b) => typeof a === 'number' && a > (b as number),
  NumericGreaterThanEquals: (a, b) => typeof a === 'number' && a >= (b as number),
  BooleanEquals: (a, b) => a === b,
  IsPresent: (a, b) => (a !== undefined) === b,
  IsNull: (a, b) => (a === null) === b,
};

function matches(rule: Choice, input: Json): boolean {
  if (rule.And) return rule.And.every((r) => matches(r, input));
  if (rule.Or) return rule.Or.some((r) => matches(r, input));
  if (rule.Not) return !matches(rule.Not, input);
  const operator = Object.keys(rule).find((k) => k in COMPARE);
  if (!rule.Variable || !operator) throw new Error(`unsupported Choice rule ${JSON.stringify(rule)}`);
  return COMPARE[operator](readPath(input, rule.Variable), rule[operator]);
}

/** The lambda:invoke target: a `${service:<name>}` reference or a function ARN ending in the name. */
function targetOf(parameters: Json, resource: string | undefined): string {
  const name = (parameters as { FunctionName?: string } | undefined)?.FunctionName ?? resource ?? '';
  return /^\$\{service:([a-z0-9-]+)\}$/.exec(name)?.[1] ?? name.split(':').pop() ?? name;
}

/** Runs a definition with an input; resolves with the output, rejects with ExecutionFailed. `calls` records each task's target and payload. */
export async function runDefinition(
  definition: Definition,
  input: Json,
  handlers: Record<string, Handler>,
  calls: { service: string; payload: Json }[] = [],
): Promise<Json> {
  let name: string | undefined = definition.StartAt;
  let data = input;
  for (let transitions = 0; name !== undefined; transitions++) {
    if (transitions > 1000) throw new Error('more than 1000 transitions: a loop?');
    const state: State | undefined = definition.States[name];
    if (!state) throw new Error(`no state named ${name}`);
    const where = `state ${name}`;
    const effective: Json =
      state.InputPath === null ? {} : state.InputPath ? mustRead(data, state.InputPath, where) : data;
    if (state.Type === 'Fail') throw new ExecutionFailed(state.Error ?? 'States.Fail', state.Cause ?? '');
    if (state.Type === 'Choice') {
      const choice: Choice | undefined = state.Choices?.find((c) => matches(c, effective));
      name = choice?.Next ?? state.Default;
      if (!name) throw new ExecutionFailed('States.NoChoiceMatched', `${where}: no choice matched`);
      continue;
    }
    const parameters = state.Parameters === undefined ? effective : fillTemplate(state.Parameters, effective, where);
    let result: Json;
    if (state.Type === 'Pass') result = state.Result ?? parameters;
    else if (state.Type === 'Succeed') result = parameters;
    else if (state.Type === 'Task') {
      const service = targetOf(
        state.Parameters === undefined ? undefined : parameters,
        state.Resource === 'arn:aws:states:::lambda:invoke' ? undefined : state.Resource,
      );
      const handler = handlers[service];
      if (!handler) throw new Error(`${where}: no handler for ${service}`);
      const payload =
        state.Resource === 'arn:aws:states:::lambda:invoke' ? (parameters as { Payload?: Json }).Payload : parameters;
      calls.push({ service, payload });
      let answer: Json;
      try {
        answer = await handler(structuredClone(payload));
      } catch (e) {
        throw new ExecutionFailed('Lambda.Unknown', `${service}: ${(e as Error).message}`);
      }
      result = state.Resource === 'arn:aws:states:::lambda:invoke' ? { Payload: answer, StatusCode: 200 } : answer;
    } else if (state.Type === 'Map') {
      const items = mustRead(effective, state.ItemsPath ?? '$', where);
      if (!Array.isArray(items)) throw new ExecutionFailed('States.Runtime', `${where}: ItemsPath is not an array`);
      const processor = state.ItemProcessor ?? state.Iterator;
      if (!processor) throw new Error(`${where}: no ItemProcessor`);
      result = [];
      for (const item of items) (result as Json[]).push(await runDefinition(processor, item, handlers, calls));
    } else throw new Error(`${where}: state type ${state.Type} is not supported`);
    if (state.ResultSelector !== undefined) result = fillTemplate(state.ResultSelector, result, where);
    const combined = state.Type === 'Succeed' ? result : writePath(data, state.ResultPath, result);
    data = state.OutputPath === null ? {} : state.OutputPath ? mustRead(combined, state.OutputPath, where) : combined;
    if (state.Type === 'Succeed' || state.End) return data;
    name = state.Next;
  }
  return data;
}
