import { ASL_BUILD_EXECUTOR, PACKAGE_EXECUTOR } from './constants';
import { BiomeError } from './errors';
import { referencedServices, SERVICE_REFERENCE } from './service-reference';

/** What `asl-validator` returns (the library is passed in: core does no imports of it). */
export interface AslValidation {
  isValid: boolean;
  errorsText(separator?: string): string;
}
export type AslValidate = (definition: unknown) => AslValidation;

/** File name of the definition inside a workflow's build output and artifact. */
export const WORKFLOW_DEFINITION_FILE = 'definition.asl.json';

/** Anything that looks like a placeholder: `${...}`. */
const PLACEHOLDER = /\$\{[^}]*\}/g;
/** An ARN naming an account (`arn:<partition>:<service>:<region>:<12 digits>:...`). */
const ARN_WITH_ACCOUNT = /arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:/;
/** A Lambda function ARN, with or without an account. */
const FUNCTION_ARN = /arn:aws[a-z-]*:lambda:[a-z0-9-]*:[0-9]*:function:/;

/** JSON-pointer-like path of a value inside the definition, for messages. */
function pathOf(parts: (string | number)[]): string {
  return parts.length ? `/${parts.join('/')}` : '/';
}

function walkStrings(
  value: unknown,
  visit: (text: string, path: string) => void,
  parts: (string | number)[] = [],
): void {
  if (typeof value === 'string') visit(value, pathOf(parts));
  else if (Array.isArray(value)) value.forEach((v, i) => walkStrings(v, visit, [...parts, i]));
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) walkStrings(v, visit, [...parts, k]);
}

/**
 * Places where a definition hard-codes an account-specific ARN or a Lambda
 * function instead of a `${service:<name>}` reference. Service-integration
 * ARNs such as `arn:aws:states:::lambda:invoke` name no account and pass.
 */
export function findHardCodedArns(definition: unknown): { path: string; value: string }[] {
  const found: { path: string; value: string }[] = [];
  walkStrings(definition, (text, path) => {
    if (ARN_WITH_ACCOUNT.test(text) || FUNCTION_ARN.test(text)) found.push({ path, value: text });
  });
  return found;
}

/** Placeholders that are not a well-formed `${service:<project>}` reference. */
export function findMalformedReferences(template: string): string[] {
  const wellFormed = new RegExp(`^${SERVICE_REFERENCE.source}$`);
  return [...new Set((template.match(PLACEHOLDER) ?? []).filter((p) => !wellFormed.test(p)))].sort();
}

/**
 * Replaces every `${service:<name>}` with a syntactically valid ARN, so the
 * validator checks the definition as Step Functions will see it in a biome.
 */
export function withPlaceholderArns(template: string): string {
  return template.replace(
    SERVICE_REFERENCE,
    (_m, name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`,
  );
}

export interface CheckedWorkflow {
  /** The definition as written to the build output: canonical JSON, references kept. */
  text: string;
  /** Service projects the workflow invokes. */
  services: string[];
}

/**
 * Checks a workflow definition the way the build does: valid JSON, no
 * hard-coded ARN or account, every `${service:<name>}` names a service
 * project of the workspace, and `asl-validator` finds no error (dangling
 * transitions, unreachable states, bad paths). Every failure is
 * WORKFLOW_INVALID naming the file.
 */
export function checkWorkflowDefinition(input: {
  file: string;
  text: string;
  services: readonly string[];
  validate: AslValidate;
}): CheckedWorkflow {
  const { file } = input;
  const fail = (message: string, hint: string): never => {
    throw new BiomeError('WORKFLOW_INVALID', `${file}: ${message}`, hint);
  };
  let definition: unknown;
  try {
    definition = JSON.parse(input.text);
  } catch (e) {
    return fail(`not valid JSON: ${(e as Error).message}`, 'Fix the JSON syntax of the definition.');
  }
  if (!definition || typeof definition !== 'object' || Array.isArray(definition)) {
    return fail(
      'a state machine definition must be a JSON object with StartAt and States.',
      'See https://states-language.net/spec.html.',
    );
  }
  const hardCoded = findHardCodedArns(definition);
  if (hardCoded.length > 0) {
    fail(
      `hard-codes ${hardCoded.map((h) => `${JSON.stringify(h.value)} at ${h.path}`).join(', ')}; a definition must not name an account or a function ARN.`,
      'Refer to the biome\'s services by project name, e.g. "FunctionName": "${service:grade-predict}"; the deploy resolves it to that biome\'s function.',
    );
  }
  const malformed = findMalformedReferences(input.text);
  if (malformed.length > 0) {
    fail(
      `has placeholders that are not service references: ${malformed.join(', ')}.`,
      'Write references as ${service:<project-name>} with a kebab-case project name.',
    );
  }
  const services = referencedServices(input.text);
  const known = new Set(input.services);
  const unknown = services.filter((s) => !known.has(s));
  if (unknown.length > 0) {
    fail(
      `refers to ${unknown.map((s) => `\${service:${s}}`).join(', ')}, but ${unknown.length === 1 ? 'that is not a service project' : 'those are not service projects'} of this workspace.`,
      `Use one of: ${[...known].sort().join(', ') || '(no service projects yet; generate one with nx g @geo/nx-biome:service <name>)'}.`,
    );
  }
  const result = input.validate(JSON.parse(withPlaceholderArns(input.text)));
  if (!result.isValid) {
    fail(
      `asl-validator rejected the definition:\n    ${result.errorsText('\n    ')}`,
      'Fix the states named above (see https://states-language.net/spec.html).',
    );
  }
  return { text: `${JSON.stringify(definition, null, 2)}\n`, services };
}

/** The part of an Nx project configuration the plugin reads. */
export interface ProjectShape {
  root: string;
  tags?: string[];
  targets?: Record<string, { executor?: string; options?: Record<string, unknown> }>;
}

export { ASL_BUILD_EXECUTOR } from './constants';

/** A project's deployable kind: its package target's `kind`, else its `kind:<kind>` tag. */
export function projectKindOf(project: ProjectShape): string | undefined {
  for (const target of Object.values(project.targets ?? {})) {
    if (target.executor === PACKAGE_EXECUTOR && typeof target.options?.kind === 'string') return target.options.kind;
  }
  return project.tags?.find((t) => t.startsWith('kind:'))?.slice('kind:'.length);
}

/**
 * The target whose options package a project (`kind`, `settings`,
 * `buildOutput`, `allowUntracked`): the one named, else the project's one
 * target running the package executor. `deploy` packages in its own process
 * with these options, so a project without one, or with two and no name
 * given, cannot be deployed: the error says which option to set.
 */
export function packageTargetOf(project: string, shape: ProjectShape, named?: string): string {
  const targets = shape.targets ?? {};
  if (named !== undefined) {
    if (targets[named]?.executor === PACKAGE_EXECUTOR) return named;
    throw new BiomeError(
      'CONFIG_INVALID',
      `${project}: deploy's packageTarget is "${named}", but ${targets[named] ? `that target runs ${targets[named].executor}` : 'the project has no such target'}.`,
      `Name a target of ${project} that runs ${PACKAGE_EXECUTOR} (nx show project ${project}), or leave packageTarget out.`,
    );
  }
  const found = Object.keys(targets).filter((t) => targets[t].executor === PACKAGE_EXECUTOR);
  if (found.length === 1) return found[0];
  throw new BiomeError(
    'CONFIG_INVALID',
    found.length === 0
      ? `${project} has no target running ${PACKAGE_EXECUTOR}: deploy packages with that target's options.`
      : `${project} has ${found.length} targets running ${PACKAGE_EXECUTOR} (${found.sort().join(', ')}): deploy cannot tell which one packages it.`,
    found.length === 0
      ? `Give ${project} a package target (the plugin infers one for services, workflows and models).`
      : `Set the deploy target's packageTarget option to one of them in ${project}'s project.json.`,
  );
}

/** Names of the service projects among the given ones, sorted. */
export function serviceProjectNames(projects: Record<string, ProjectShape>): string[] {
  return Object.keys(projects)
    .filter((name) => projectKindOf(projects[name]) === 'service')
    .sort();
}

/**
 * The workspace-relative definition file of a workflow project (the one its
 * asl-build target validates), or undefined for projects that are not workflows.
 */
export function workflowDefinitionPath(name: string, project: ProjectShape): string | undefined {
  const target = Object.values(project.targets ?? {}).find((t) => t.executor === ASL_BUILD_EXECUTOR);
  if (!target) return undefined;
  const option = target.options?.definition;
  return typeof option === 'string' && option ? option : `${project.root}/${name}.asl.json`;
}

/** A graph edge from a workflow to a service it invokes. */
export interface WorkflowDependency {
  source: string;
  target: string;
  /** The definition file, when it lies inside the workflow project (Nx then records the edge per file). */
  sourceFile?: string;
}

/**
 * The project-graph edges workflow → service, from the `${service:<name>}`
 * references of each workflow's definition, so that changing a service marks
 * the workflows that invoke it affected. References to unknown projects are
 * left to the build, which fails on them with a message.
 */
export function planWorkflowDependencies(
  projects: Record<string, ProjectShape>,
  read: (path: string) => string | undefined,
): WorkflowDependency[] {
  const edges: WorkflowDependency[] = [];
  for (const name of Object.keys(projects).sort()) {
    const file = workflowDefinitionPath(name, projects[name]);
    const text = file === undefined ? undefined : read(file);
    if (file === undefined || text === undefined) continue;
    const inside = file.startsWith(`${projects[name].root}/`);
    for (const target of referencedServices(text)) {
      if (target !== name && projects[target])
        edges.push(inside ? { source: name, target, sourceFile: file } : { source: name, target });
    }
  }
  return edges;
}

/** Lambda errors worth retrying (throttling and transient service faults). */
const LAMBDA_RETRY = {
  ErrorEquals: [
    'Lambda.ServiceException',
    'Lambda.AWSLambdaException',
    'Lambda.SdkClientException',
    'Lambda.TooManyRequestsException',
  ],
  IntervalSeconds: 2,
  MaxAttempts: 3,
  BackoffRate: 2,
};

const stateName = (service: string) =>
  service
    .split('-')
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('');

/**
 * A starting definition for a new workflow: the given services invoked one
 * after the other by `${service:<name>}` reference; a single Pass state when
 * there are none. Services rarely take each other's output as their input
 * (grade-predict wants `{ samples }`; a service returns `{ biome, gitSha, ... }`),
 * so no output is passed on blindly: every Task gets the workflow's state (the
 * execution input, plus `results.<State>` of each earlier step) and keeps its
 * own result under `results.<State>`. Each Task's Comment marks the place to
 * narrow its Payload to exactly what the service expects.
 */
export function scaffoldWorkflowDefinition(name: string, services: readonly string[]): Record<string, unknown> {
  if (services.length === 0) {
    return {
      Comment: `${name}: add states here; a Task invokes a biome service through a service reference as its FunctionName (docs/projects.md).`,
      StartAt: 'Start',
      States: { Start: { Type: 'Pass', End: true } },
    };
  }
  const states: Record<string, unknown> = {};
  services.forEach((service, i) => {
    const state = stateName(service);
    const earlier = services.slice(0, i).map((s) => `$.results.${stateName(s)}`);
    states[state] = {
      Type: 'Task',
      Comment: `WIRE ${service}: its Payload is the workflow state (the execution input${earlier.length ? `, and ${earlier.join(', ')}` : ''}); replace "Payload.$" with exactly what ${service} expects, e.g. "Payload": { "samples.$": "$.samples" }.`,
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: `\${service:${service}}`, 'Payload.$': '$' },
      ResultSelector: { 'output.$': '$.Payload' },
      ResultPath: `$.results.${state}`,
      Retry: [LAMBDA_RETRY],
      ...(i + 1 < services.length ? { Next: stateName(services[i + 1]) } : { End: true }),
    };
  });
  return {
    Comment: `${name}: ${services.join(', ')}, each with the workflow's input; results under $.results.`,
    StartAt: stateName(services[0]),
    States: states,
  };
}
