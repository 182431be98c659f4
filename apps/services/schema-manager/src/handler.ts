import { ParseOptions, parseRequest, planStatements } from './plan';

/** A connection to the shared instance, as the master user. */
export interface Database {
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
}

export interface HandlerDeps {
  connect(): Promise<Database>;
  log(line: string): void;
}

export interface HandlerResult {
  action: string;
  schema: string;
  role: string;
  statements: number;
}

/**
 * Plans, then runs every statement in one transaction: a failure leaves the
 * instance as it was, and the invocation fails with the database's message.
 */
export async function handleInvocation(
  payload: unknown,
  deps: HandlerDeps,
  options: ParseOptions = {},
): Promise<HandlerResult> {
  const request = parseRequest(payload, options);
  const statements = planStatements(request);
  const db = await deps.connect();
  try {
    await db.query('BEGIN');
    for (const sql of statements) await db.query(sql);
    await db.query('COMMIT');
  } catch (e) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    await db.end();
  }
  deps.log(`${request.action} ${request.schema} (role ${request.role}): ${statements.length} statement(s)`);
  return { action: request.action, schema: request.schema, role: request.role, statements: statements.length };
}
