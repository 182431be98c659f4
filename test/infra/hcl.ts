import { parse } from '@cdktf/hcl2json';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/**
 * Static reading of the Terraform code in infra/: HCL parsed by @cdktf/hcl2json
 * (the real HCL parser, compiled to WASM), plus the two small parsers the
 * checks need: Terraform type constraints (`map(object({...}))`) and literal
 * expressions (`jsonencode({ Statement = [...] })`).
 */

export const INFRA_ROOT = resolve(__dirname, '../../infra');

// ---------------------------------------------------------------------------
// Files and folders
// ---------------------------------------------------------------------------

/** Every .tf file below a folder (sorted), skipping .terraform caches. */
export function listTfFiles(dir: string, ext = '.tf'): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name === '.terraform') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listTfFiles(path, ext));
    else if (name.endsWith(ext)) out.push(path);
  }
  return out;
}

/** Folders holding a Terraform module or stack (their own .tf files). */
export function terraformDirs(root = INFRA_ROOT): string[] {
  return [...new Set(listTfFiles(root).map((f) => f.slice(0, f.lastIndexOf('/'))))].sort();
}

/** One block of a parsed configuration, as @cdktf/hcl2json gives it. */
export type Block = Record<string, unknown>;

/** A module or stack: its top-level blocks merged over all its .tf files. */
export interface TerraformDir {
  dir: string;
  /** variable name → its block */
  variables: Record<string, Block>;
  /** resource type → name → block */
  resources: Record<string, Record<string, Block>>;
  /** data source type → name → block */
  data: Record<string, Record<string, Block>>;
  /** module name → block */
  modules: Record<string, Block>;
  outputs: Record<string, Block>;
  locals: Block[];
  providers: Block[];
  terraform: Block[];
  /** The raw parse result of each file. */
  files: Record<string, Record<string, unknown>>;
}

/** Parses every .tf file of one folder (not its subfolders) and merges the blocks. */
export async function loadTerraformDir(dir: string): Promise<TerraformDir> {
  const result: TerraformDir = {
    dir,
    variables: {},
    resources: {},
    data: {},
    modules: {},
    outputs: {},
    locals: [],
    providers: [],
    terraform: [],
    files: {},
  };
  const names = readdirSync(dir)
    .filter((n) => n.endsWith('.tf'))
    .sort();
  for (const name of names) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- hcl2json output, walked dynamically
    const parsed = (await parse(name, readFileSync(join(dir, name), 'utf8'))) as Record<string, any>;
    result.files[name] = parsed;
    for (const [vname, blocks] of Object.entries(parsed.variable ?? {}))
      result.variables[vname] = (blocks as Block[])[0];
    for (const [oname, blocks] of Object.entries(parsed.output ?? {})) result.outputs[oname] = (blocks as Block[])[0];
    for (const [mname, blocks] of Object.entries(parsed.module ?? {})) result.modules[mname] = (blocks as Block[])[0];
    for (const kind of ['resource', 'data'] as const) {
      const target = kind === 'resource' ? result.resources : result.data;
      for (const [type, byName] of Object.entries(parsed[kind] ?? {})) {
        for (const [rname, blocks] of Object.entries(byName as Record<string, Block[]>))
          (target[type] ??= {})[rname] = blocks[0];
      }
    }
    result.locals.push(...(parsed.locals ?? []));
    for (const blocks of Object.values(parsed.provider ?? {})) result.providers.push(...(blocks as Block[]));
    result.terraform.push(...(parsed.terraform ?? []));
  }
  return result;
}

/** Local module folders a configuration calls (`source = "../x"`), resolved. */
export function localModuleDirs(config: TerraformDir): string[] {
  return Object.values(config.modules)
    .map((m) => m.source)
    .filter((s): s is string => typeof s === 'string' && (s.startsWith('./') || s.startsWith('../')))
    .map((s) => resolve(config.dir, s));
}

/** A configuration and every local module it calls, transitively. */
export async function loadWithModules(dir: string): Promise<TerraformDir[]> {
  const seen = new Map<string, TerraformDir>();
  const visit = async (d: string) => {
    if (seen.has(d)) return;
    const config = await loadTerraformDir(d);
    seen.set(d, config);
    for (const m of localModuleDirs(config)) await visit(m);
  };
  await visit(dir);
  return [...seen.values()];
}

/** Display path relative to the repository root. */
export function show(path: string): string {
  return relative(resolve(INFRA_ROOT, '..'), path) || '.';
}

export function isDirWithTf(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory() && readdirSync(path).some((n) => n.endsWith('.tf'));
}

// ---------------------------------------------------------------------------
// Walking expressions
// ---------------------------------------------------------------------------

/** Every string in a parsed block, with the key path that leads to it. */
export function* strings(value: unknown, path: string[] = []): Generator<{ path: string[]; value: string }> {
  if (typeof value === 'string') yield { path, value };
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* strings(v, [...path, String(i)]);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) yield* strings(v, [...path, k]);
}

/** Names of the input variables an expression string refers to (`var.<name>`). */
export function variableReferences(expression: string): string[] {
  if (!expression.includes('${')) return [];
  return [...expression.matchAll(/(?<![\w.])var\.([A-Za-z_][A-Za-z0-9_-]*)/g)].map((m) => m[1]);
}

/** Strips the `${` `}` that hcl2json wraps around a whole-expression attribute. */
export function unwrap(expression: string): string {
  const t = expression.trim();
  return t.startsWith('${') && t.endsWith('}') ? t.slice(2, -1) : t;
}

// ---------------------------------------------------------------------------
// A small parser for HCL expressions: literals, tuples, objects and function
// calls become values; anything else (references, conditionals, for
// expressions, templates) stays an opaque `{ $expr: "<source text>" }`.
// ---------------------------------------------------------------------------

export type HclValue = string | number | boolean | null | HclValue[] | HclObject | HclCall | HclExpr;
export interface HclObject {
  [key: string]: HclValue;
}
export interface HclCall {
  $call: string;
  args: HclValue[];
}
export interface HclExpr {
  $expr: string;
}

export const isExpr = (v: unknown): v is HclExpr =>
  !!v && typeof v === 'object' && !Array.isArray(v) && typeof (v as HclExpr).$expr === 'string';
export const isCall = (v: unknown): v is HclCall =>
  !!v && typeof v === 'object' && !Array.isArray(v) && typeof (v as HclCall).$call === 'string';
export const isObject = (v: unknown): v is HclObject =>
  !!v && typeof v === 'object' && !Array.isArray(v) && !isExpr(v) && !isCall(v);

type Context = 'object' | 'list' | 'top';

class ExpressionParser {
  private pos = 0;
  constructor(private readonly text: string) {}

  parseAll(): HclValue {
    const value = this.expression('top');
    this.space(true);
    if (this.pos < this.text.length)
      throw new Error(
        `unexpected ${JSON.stringify(this.text.slice(this.pos, this.pos + 20))} in ${JSON.stringify(this.text)}`,
      );
    return value;
  }

  /** The balanced `{`…`}` or `[`…`]` group that starts at `start`, as source text. */
  groupAt(start: number): string {
    this.pos = start;
    const open = this.text[start];
    this.skipGroup(open, open === '{' ? '}' : ']');
    return this.text.slice(start, this.pos);
  }

  private space(newlines: boolean) {
    for (;;) {
      const c = this.text[this.pos];
      if (c === ' ' || c === '\t' || c === '\r' || (newlines && c === '\n')) this.pos++;
      else if (c === '#' || (c === '/' && this.text[this.pos + 1] === '/'))
        while (this.pos < this.text.length && this.text[this.pos] !== '\n') this.pos++;
      else return;
    }
  }

  private atItemEnd(ctx: Context): boolean {
    const c = this.text[this.pos];
    return c === undefined || c === ',' || c === ')' || c === ']' || c === '}' || (ctx === 'object' && c === '\n');
  }

  /** One expression; when it is more than a primary value it is kept as source text. */
  private expression(ctx: Context): HclValue {
    this.space(true);
    const start = this.pos;
    let value: HclValue | undefined;
    try {
      value = this.primary();
    } catch {
      value = undefined;
    }
    this.space(false);
    if (value !== undefined && this.atItemEnd(ctx)) return value;
    this.pos = start;
    return { $expr: this.opaque(ctx) };
  }

  private opaque(ctx: Context): string {
    const start = this.pos;
    let depth = 0;
    while (this.pos < this.text.length) {
      const c = this.text[this.pos];
      if (c === '"') this.skipString();
      else if (c === '(' || c === '[' || c === '{') {
        depth++;
        this.pos++;
      } else if (depth > 0 && (c === ')' || c === ']' || c === '}')) {
        depth--;
        this.pos++;
      } else if (depth === 0 && this.atItemEnd(ctx)) break;
      else this.pos++;
    }
    return this.text.slice(start, this.pos).trim();
  }

  private skipString() {
    this.pos++; // opening quote
    while (this.pos < this.text.length) {
      const c = this.text[this.pos];
      if (c === '\\') this.pos += 2;
      else if (c === '"') return void this.pos++;
      else if (c === '$' && this.text[this.pos + 1] === '{') {
        this.pos += 2;
        let depth = 1;
        while (this.pos < this.text.length && depth > 0) {
          const d = this.text[this.pos];
          if (d === '"') this.skipString();
          else {
            if (d === '{') depth++;
            else if (d === '}') depth--;
            this.pos++;
          }
        }
      } else this.pos++;
    }
    throw new Error('unterminated string');
  }

  private primary(): HclValue {
    const c = this.text[this.pos];
    if (c === '"') {
      const start = this.pos;
      this.skipString();
      const raw = this.text.slice(start, this.pos);
      return raw.includes('${') ? { $expr: raw } : (JSON.parse(raw) as string);
    }
    if (c === '[') {
      if (/^\[\s*for\s/.test(this.text.slice(this.pos))) throw new Error('for expression');
      this.pos++;
      const items: HclValue[] = [];
      for (;;) {
        this.space(true);
        if (this.text[this.pos] === ']') return (this.pos++, items);
        items.push(this.expression('list'));
        this.space(true);
        if (this.text[this.pos] === ',') this.pos++;
        else if (this.text[this.pos] !== ']') throw new Error('bad tuple');
      }
    }
    if (c === '{') {
      if (/^\{\s*for\s/.test(this.text.slice(this.pos))) throw new Error('for expression');
      this.pos++;
      const obj: HclObject = {};
      for (;;) {
        this.space(true);
        if (this.text[this.pos] === '}') return (this.pos++, obj);
        const key = this.objectKey();
        this.space(false);
        if (this.text[this.pos] !== '=' && this.text[this.pos] !== ':') throw new Error('bad object');
        this.pos++;
        obj[key] = this.expression('object');
        this.space(false);
        if (this.text[this.pos] === ',') this.pos++;
      }
    }
    const num = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(this.text.slice(this.pos));
    if (num) return ((this.pos += num[0].length), Number(num[0]));
    const ident = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(this.text.slice(this.pos));
    if (!ident) throw new Error('not a primary');
    this.pos += ident[0].length;
    if (ident[0] === 'true' || ident[0] === 'false') return ident[0] === 'true';
    if (ident[0] === 'null') return null;
    if (this.text[this.pos] === '(') {
      this.pos++;
      const args: HclValue[] = [];
      for (;;) {
        this.space(true);
        if (this.text[this.pos] === ')') return (this.pos++, { $call: ident[0], args });
        args.push(this.expression('list'));
        this.space(true);
        if (this.text[this.pos] === ',') this.pos++;
        else if (this.text[this.pos] !== ')') throw new Error('bad call');
      }
    }
    // A traversal such as var.x, each.value.y or local.z["k"].
    const start = this.pos - ident[0].length;
    for (;;) {
      if (this.text[this.pos] === '.' && /[A-Za-z_*]/.test(this.text[this.pos + 1] ?? '')) {
        this.pos++;
        const next = /^([A-Za-z_][A-Za-z0-9_-]*|\*)/.exec(this.text.slice(this.pos));
        this.pos += next ? next[0].length : 0;
      } else if (this.text[this.pos] === '[') {
        this.skipGroup('[', ']');
      } else break;
    }
    return { $expr: this.text.slice(start, this.pos) };
  }

  /** Skips a balanced `open`…`close` group (strings inside it included). */
  private skipGroup(open: string, close: string) {
    let depth = 0;
    do {
      const c = this.text[this.pos];
      if (c === '"') {
        this.skipString();
        continue;
      }
      if (c === open) depth++;
      if (c === close) depth--;
      this.pos++;
    } while (depth > 0 && this.pos < this.text.length);
  }

  private objectKey(): string {
    const c = this.text[this.pos];
    if (c === '"') {
      const start = this.pos;
      this.skipString();
      return JSON.parse(this.text.slice(start, this.pos));
    }
    if (c === '(') {
      const start = this.pos;
      this.skipGroup('(', ')');
      return this.text.slice(start, this.pos);
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(this.text.slice(this.pos));
    if (!ident) throw new Error('bad key');
    this.pos += ident[0].length;
    return ident[0];
  }
}

/** Parses an HCL expression (as hcl2json prints it, with or without `${ }`). */
export function parseExpression(expression: string): HclValue {
  return new ExpressionParser(unwrap(expression)).parseAll();
}

/**
 * The collection a `{ for k, v in <collection> : ... }` expression iterates,
 * parsed, when it is written out literally (an object or tuple); else null.
 */
export function forExpressionCollection(expression: string): HclValue | null {
  const text = unwrap(expression);
  const head = /^\{\s*for\s+\w+\s*(,\s*\w+\s*)?in\s+(?=[{[])/.exec(text);
  if (!head) return null;
  return parseExpression(new ExpressionParser(text).groupAt(head[0].length));
}

// ---------------------------------------------------------------------------
// Terraform type constraints and a checker of JSON values against them
// ---------------------------------------------------------------------------

export type TfType =
  | { kind: 'string' | 'number' | 'bool' | 'any' }
  | { kind: 'list' | 'set' | 'map'; of: TfType }
  | { kind: 'tuple'; items: TfType[] }
  | { kind: 'object'; attributes: Record<string, { type: TfType; optional: boolean }> };

function toType(v: HclValue, where: string): TfType {
  if (isExpr(v) && ['string', 'number', 'bool', 'any'].includes(v.$expr)) return { kind: v.$expr as 'string' };
  if (isCall(v)) {
    const [arg] = v.args;
    switch (v.$call) {
      case 'list':
      case 'set':
      case 'map':
        return { kind: v.$call, of: toType(arg, where) };
      case 'tuple':
        if (!Array.isArray(arg)) break;
        return { kind: 'tuple', items: arg.map((a) => toType(a, where)) };
      case 'object': {
        if (!isObject(arg)) break;
        const attributes: Record<string, { type: TfType; optional: boolean }> = {};
        for (const [name, t] of Object.entries(arg)) {
          const optional = isCall(t) && t.$call === 'optional';
          attributes[name] = { type: toType(optional ? (t as HclCall).args[0] : t, `${where}.${name}`), optional };
        }
        return { kind: 'object', attributes };
      }
    }
  }
  throw new Error(`${where}: unsupported type expression ${JSON.stringify(v)}`);
}

/** Parses a Terraform type constraint such as `map(object({ a = optional(string) }))`. */
export function parseTypeExpression(expression: string, where = 'type'): TfType {
  return toType(parseExpression(expression), where);
}

/** Describes a type the way Terraform writes it (for messages). */
export function describeType(t: TfType): string {
  switch (t.kind) {
    case 'list':
    case 'set':
    case 'map':
      return `${t.kind}(${describeType(t.of)})`;
    case 'tuple':
      return `tuple([${t.items.map(describeType).join(', ')}])`;
    case 'object':
      return `object({${Object.keys(t.attributes).join(', ')}})`;
    default:
      return t.kind;
  }
}

/**
 * Checks a JSON value against a type. Stricter than Terraform on purpose: an
 * object attribute the type does not declare is an error, because Terraform
 * would silently drop it and the rendered value would never reach AWS.
 */
export function checkValue(value: unknown, type: TfType, path: string, problems: string[] = []): string[] {
  if (value === null || type.kind === 'any') return problems; // null is valid for any nested type
  const fail = (what: string) => problems.push(`${path}: expected ${describeType(type)}, got ${what}`);
  const kindOf = (v: unknown) => (Array.isArray(v) ? 'array' : typeof v);
  switch (type.kind) {
    case 'string':
    case 'number':
      if (typeof value !== type.kind) fail(`${kindOf(value)} ${JSON.stringify(value)}`);
      else if (type.kind === 'number' && !Number.isFinite(value)) fail(String(value));
      break;
    case 'bool':
      if (typeof value !== 'boolean') fail(`${kindOf(value)} ${JSON.stringify(value)}`);
      break;
    case 'list':
    case 'set':
      if (!Array.isArray(value)) fail(kindOf(value));
      else value.forEach((v, i) => checkValue(v, type.of, `${path}[${i}]`, problems));
      break;
    case 'tuple':
      if (!Array.isArray(value) || value.length !== type.items.length) fail(kindOf(value));
      else value.forEach((v, i) => checkValue(v, type.items[i], `${path}[${i}]`, problems));
      break;
    case 'map':
      if (kindOf(value) !== 'object') fail(kindOf(value));
      else
        for (const [k, v] of Object.entries(value as object))
          checkValue(v, type.of, `${path}[${JSON.stringify(k)}]`, problems);
      break;
    case 'object': {
      if (kindOf(value) !== 'object') {
        fail(kindOf(value));
        break;
      }
      const obj = value as Record<string, unknown>;
      for (const [name, attr] of Object.entries(type.attributes)) {
        if (!(name in obj)) {
          if (!attr.optional) problems.push(`${path}: attribute "${name}" is required by the type but not rendered`);
        } else checkValue(obj[name], attr.type, `${path}.${name}`, problems);
      }
      for (const name of Object.keys(obj)) {
        if (!(name in type.attributes))
          problems.push(
            `${path}: attribute "${name}" is rendered but not declared in the type (Terraform would drop it)`,
          );
      }
      break;
    }
  }
  return problems;
}

/**
 * Checks a tfvars object against the variables of a configuration: every key
 * is a declared variable, every value has the declared shape, and every
 * variable without a default is set. Returns the problems (empty when fine).
 */
export function checkTfvars(tfvars: Record<string, unknown>, variables: Record<string, Block>): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(tfvars)) {
    const declared = variables[name];
    if (!declared) {
      problems.push(`"${name}" is rendered but not declared as a variable`);
      continue;
    }
    if (typeof declared.type !== 'string') {
      problems.push(`variable "${name}" has no type`);
      continue;
    }
    if (value === null && !('default' in declared))
      problems.push(`${name}: null given for a variable without a default`);
    checkValue(value, parseTypeExpression(declared.type, name), name, problems);
  }
  for (const [name, declared] of Object.entries(variables)) {
    if (!('default' in declared) && !(name in tfvars))
      problems.push(`required variable "${name}" (no default) is not set`);
  }
  return problems;
}

// ---------------------------------------------------------------------------
// IAM policy statements
// ---------------------------------------------------------------------------

export interface PolicyStatement {
  /** Where the statement is written, e.g. infra/modules/x: data.aws_iam_policy_document.y */
  source: string;
  /** Name of the policy document data source (null for jsonencode'd policies). */
  document: string | null;
  effect: string;
  actions: HclValue[];
  notActions: HclValue[];
  resources: HclValue[];
  conditions: { test: string; variable: string; values: HclValue }[];
}

const asList = (v: unknown): HclValue[] =>
  v === undefined
    ? []
    : Array.isArray(v)
      ? (v as HclValue[])
      : typeof v === 'string' && v.includes('${')
        ? [parseExpression(v)]
        : [v as HclValue];

/** Statements of every aws_iam_policy_document data source, module policy_statements argument and jsonencode'd policy of a configuration. */
export function policyStatements(config: TerraformDir): PolicyStatement[] {
  const out: PolicyStatement[] = [];
  for (const [name, doc] of Object.entries(config.data.aws_iam_policy_document ?? {})) {
    const blocks = [
      ...((doc.statement as Block[]) ?? []),
      ...(((doc.dynamic as Block)?.statement as Block[]) ?? []).flatMap((d) => (d.content as Block[]) ?? []),
    ];
    for (const s of blocks) {
      out.push({
        source: `${show(config.dir)}: data.aws_iam_policy_document.${name}`,
        document: name,
        effect: typeof s.effect === 'string' ? s.effect : 'Allow',
        actions: asList(s.actions),
        notActions: asList(s.not_actions),
        resources: asList(s.resources),
        conditions: ((s.condition as Block[]) ?? []).map((c) => ({
          test: String(c.test),
          variable: String(c.variable),
          values: c.values as HclValue,
        })),
      });
    }
  }
  // Statements handed to a module (lambda-service, codebuild-job) as a map
  // sid => { actions, resources }, written out or filtered with a for expression.
  for (const [name, call] of Object.entries(config.modules)) {
    if (!('policy_statements' in call)) continue;
    const source = `${show(config.dir)}: module.${name}.policy_statements`;
    const given = call.policy_statements;
    const map = typeof given === 'string' ? forExpressionCollection(given) : (given as HclValue);
    if (!isObject(map)) {
      out.push({
        source,
        document: null,
        effect: 'unreadable',
        actions: [{ $expr: String(given) }],
        notActions: [],
        resources: [],
        conditions: [],
      });
      continue;
    }
    for (const [sid, s] of Object.entries(map)) {
      const statement = isObject(s) ? s : {};
      out.push({
        source: `${source}.${sid}`,
        document: null,
        effect: 'Allow',
        actions: asList(statement.actions),
        notActions: [],
        resources: asList(statement.resources),
        conditions: [],
      });
    }
  }
  for (const [file, parsed] of Object.entries(config.files)) {
    for (const { path, value } of strings(parsed)) {
      if (!value.includes('jsonencode(')) continue;
      const found = findCalls(parseExpression(value), 'jsonencode');
      if (found.length === 0 && value.includes('Statement')) {
        // A policy this reader cannot see into must not pass unchecked.
        out.push({
          source: `${show(config.dir)}/${file}: ${path.join('.')}`,
          document: null,
          effect: 'unreadable',
          actions: [{ $expr: value }],
          notActions: [],
          resources: [],
          conditions: [],
        });
      }
      for (const doc of found) {
        const arg = doc.args[0];
        if (!isObject(arg) || !('Statement' in arg)) continue;
        const statements = Array.isArray(arg.Statement) ? arg.Statement : [arg.Statement];
        for (const s of statements) {
          if (!isObject(s)) {
            out.push({
              source: `${show(config.dir)}/${file}: ${path.join('.')}`,
              document: null,
              effect: '?',
              actions: [s],
              notActions: [],
              resources: [],
              conditions: [],
            });
            continue;
          }
          out.push({
            source: `${show(config.dir)}/${file}: ${path.join('.')}`,
            document: null,
            effect: typeof s.Effect === 'string' ? s.Effect : 'Allow',
            actions: asList(s.Action),
            notActions: asList(s.NotAction),
            resources: asList(s.Resource),
            conditions: [],
          });
        }
      }
    }
  }
  return out;
}

function findCalls(v: HclValue, name: string): HclCall[] {
  if (isCall(v)) return [...(v.$call === name ? [v] : []), ...v.args.flatMap((a) => findCalls(a, name))];
  if (Array.isArray(v)) return v.flatMap((a) => findCalls(a, name));
  if (isObject(v)) return Object.values(v).flatMap((a) => findCalls(a, name));
  return [];
}
