/**
 * What the schema manager does to the shared Postgres instance for one
 * aws_lambda_invocation (lifecycle_scope CRUD): pure planning, no I/O.
 *
 * The input is the module's JSON plus the provider's `tf` key:
 * `{ schema, role, iam_authentication, connection_limit, drop_cascade,
 *    tf: { action: "create" | "update" | "delete", prev_input? } }`.
 * Every statement list is idempotent: running it twice, or after a partial
 * run, ends in the same state.
 */

export type Action = 'create' | 'update' | 'delete';

export interface SchemaRequest {
  action: Action;
  schema: string;
  role: string;
  iamAuthentication: boolean;
  connectionLimit: number;
  dropCascade: boolean;
}

/** A refused input: the caller reports it as a failed invocation (Terraform shows the message). */
export class SchemaRequestError extends Error {
  override name = 'SchemaRequestError';
}

/** Only biome schemas and roles: the manager can never touch another object of the instance. */
const BIOME_IDENTIFIER = /^biome_[a-z0-9_]{1,57}$/;
const MAX_CONNECTIONS = 1000;

function identifier(value: unknown, field: string): string {
  if (typeof value !== 'string' || !BIOME_IDENTIFIER.test(value)) {
    throw new SchemaRequestError(
      `${field} must be biome_<lowercase letters, digits, underscores> (at most 63 characters), got ${JSON.stringify(value)}.`,
    );
  }
  return value;
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new SchemaRequestError(`${what} must be a JSON object.`);
  return value as Record<string, unknown>;
}

export interface ParseOptions {
  /**
   * Only schemas and roles starting with this (e.g. `biome_dev_`, the sandpits
   * of dev): the sandpit schema manager, the only one a sandpit deploy may
   * invoke, can never touch the main biome's `biome_dev`.
   */
  schemaPrefix?: string;
}

/** Reads and checks the invocation payload. */
export function parseRequest(payload: unknown, options: ParseOptions = {}): SchemaRequest {
  const input = record(payload, 'The invocation input');
  const tf = input.tf === undefined ? { action: 'create' } : record(input.tf, 'tf');
  const action = tf.action;
  if (action !== 'create' && action !== 'update' && action !== 'delete')
    throw new SchemaRequestError(`tf.action must be create, update or delete, got ${JSON.stringify(action)}.`);
  const schema = identifier(input.schema, 'schema');
  const role = identifier(input.role ?? schema, 'role');
  const prefix = options.schemaPrefix;
  if (prefix) {
    for (const [field, name] of [
      ['schema', schema],
      ['role', role],
    ] as const) {
      if (!name.startsWith(prefix))
        throw new SchemaRequestError(
          `This schema manager serves sandpits only: ${field} must start with ${prefix}, got ${JSON.stringify(name)}.`,
        );
    }
  }
  const limit = input.connection_limit ?? 20;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0 || limit > MAX_CONNECTIONS)
    throw new SchemaRequestError(
      `connection_limit must be an integer from 0 to ${MAX_CONNECTIONS}, got ${JSON.stringify(limit)}.`,
    );
  for (const flag of ['iam_authentication', 'drop_cascade'] as const) {
    if (input[flag] !== undefined && typeof input[flag] !== 'boolean')
      throw new SchemaRequestError(`${flag} must be true or false, got ${JSON.stringify(input[flag])}.`);
  }
  if (action === 'update' && tf.prev_input !== undefined) {
    // A biome's schema follows from its name: a rename would orphan the old
    // schema and its data, so it is refused rather than guessed at.
    const prev = record(tf.prev_input, 'tf.prev_input');
    if ((prev.schema !== undefined && prev.schema !== schema) || (prev.role !== undefined && prev.role !== role)) {
      throw new SchemaRequestError(
        `Renaming ${String(prev.schema)}/${String(prev.role)} to ${schema}/${role} is not supported: destroy the old biome's database first.`,
      );
    }
  }
  return {
    action,
    schema,
    role,
    iamAuthentication: input.iam_authentication !== false,
    connectionLimit: limit,
    dropCascade: input.drop_cascade === true,
  };
}

const quote = (name: string) => `"${name}"`;
const literal = (value: string) => `'${value}'`;

/** SQL statements, in order, run in one transaction. */
export function planStatements(request: SchemaRequest): string[] {
  const role = quote(request.role);
  const schema = quote(request.schema);
  if (request.action === 'delete') {
    return [
      // RESTRICT (main biomes) fails while the schema holds objects: their data is never dropped by accident.
      `DROP SCHEMA IF EXISTS ${schema} ${request.dropCascade ? 'CASCADE' : 'RESTRICT'}`,
      // A sandpit's role also loses whatever it owns or was granted elsewhere in the database.
      `DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = ${literal(request.role)}) THEN ${request.dropCascade ? `EXECUTE 'DROP OWNED BY ${role}'; ` : ''}EXECUTE 'REVOKE ${role} FROM CURRENT_USER'; EXECUTE 'DROP ROLE ${role}'; END IF; END $$`,
    ];
  }
  return [
    `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${literal(request.role)}) THEN CREATE ROLE ${role} LOGIN; END IF; END $$`,
    // Connection limit 0 while asleep: the role keeps its grants but cannot log in.
    `ALTER ROLE ${role} WITH LOGIN CONNECTION LIMIT ${request.connectionLimit}`,
    request.iamAuthentication
      ? `GRANT rds_iam TO ${role}`
      : `DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') THEN EXECUTE 'REVOKE rds_iam FROM ${role}'; END IF; END $$`,
    `ALTER ROLE ${role} SET search_path = ${schema}`,
    // The master user (rds_superuser, not a superuser) may give a schema only to a role it is a member of.
    `GRANT ${role} TO CURRENT_USER`,
    `CREATE SCHEMA IF NOT EXISTS ${schema} AUTHORIZATION ${role}`,
    `ALTER SCHEMA ${schema} OWNER TO ${role}`,
  ];
}
