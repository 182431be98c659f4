import { describe, expect, it } from 'vitest';
import { handleInvocation } from './handler';
import { parseRequest, planStatements, SchemaRequestError } from './plan';

const input = {
  schema: 'biome_dev_bob',
  role: 'biome_dev_bob',
  iam_authentication: true,
  connection_limit: 20,
  drop_cascade: true,
};

describe('schema manager: planning', () => {
  it('creates the role if missing, then sets limit, rds_iam, search path, and owns the schema (idempotent statements only)', () => {
    const sql = planStatements(parseRequest({ ...input, tf: { action: 'create' } }));
    expect(sql).toEqual([
      `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'biome_dev_bob') THEN CREATE ROLE "biome_dev_bob" LOGIN; END IF; END $$`,
      'ALTER ROLE "biome_dev_bob" WITH LOGIN CONNECTION LIMIT 20',
      'GRANT rds_iam TO "biome_dev_bob"',
      'ALTER ROLE "biome_dev_bob" SET search_path = "biome_dev_bob"',
      'GRANT "biome_dev_bob" TO CURRENT_USER',
      'CREATE SCHEMA IF NOT EXISTS "biome_dev_bob" AUTHORIZATION "biome_dev_bob"',
      'ALTER SCHEMA "biome_dev_bob" OWNER TO "biome_dev_bob"',
    ]);
    // No bare CREATE: every statement can run again after a partial or repeated run.
    expect(sql.filter((s) => /^CREATE (ROLE|SCHEMA) (?!IF NOT EXISTS)/.test(s))).toEqual([]);
  });

  it('an update (asleep: connection limit 0) is the same idempotent plan; a missing tf key is a create', () => {
    const asleep = planStatements(
      parseRequest({ ...input, connection_limit: 0, tf: { action: 'update', prev_input: input } }),
    );
    expect(asleep).toContain('ALTER ROLE "biome_dev_bob" WITH LOGIN CONNECTION LIMIT 0');
    expect(parseRequest(input).action).toBe('create');
    expect(planStatements(parseRequest({ ...input, iam_authentication: false }))[2]).toContain(
      `REVOKE rds_iam FROM "biome_dev_bob"`,
    );
  });

  it('delete drops a sandpit schema with CASCADE and its role; a main biome schema only when empty (RESTRICT)', () => {
    const sandpit = planStatements(parseRequest({ ...input, tf: { action: 'delete' } }));
    expect(sandpit[0]).toBe('DROP SCHEMA IF EXISTS "biome_dev_bob" CASCADE');
    expect(sandpit[1]).toContain(`IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'biome_dev_bob')`);
    expect(sandpit[1]).toContain(`DROP OWNED BY "biome_dev_bob"`);
    expect(sandpit[1]).toContain(`DROP ROLE "biome_dev_bob"`);
    const main = planStatements(
      parseRequest({ ...input, schema: 'biome_dev', role: 'biome_dev', drop_cascade: false, tf: { action: 'delete' } }),
    );
    expect(main[0]).toBe('DROP SCHEMA IF EXISTS "biome_dev" RESTRICT');
    expect(main[1]).not.toContain('DROP OWNED');
  });

  it.each([
    [{ ...input, schema: 'public' }, 'schema must be biome_'],
    [{ ...input, schema: 'biome_x"; DROP SCHEMA public; --' }, 'schema must be biome_'],
    [{ ...input, role: 'rds_superuser' }, 'role must be biome_'],
    [{ ...input, connection_limit: -1 }, 'connection_limit must be an integer'],
    [{ ...input, connection_limit: '5' }, 'connection_limit must be an integer'],
    [{ ...input, drop_cascade: 'yes' }, 'drop_cascade must be true or false'],
    [{ ...input, tf: { action: 'read' } }, 'tf.action must be create, update or delete'],
    [
      { ...input, tf: { action: 'update', prev_input: { ...input, schema: 'biome_dev_old' } } },
      'Renaming biome_dev_old',
    ],
    ['biome_dev_bob', 'must be a JSON object'],
  ])('refuses %j', (payload, message) => {
    expect(() => parseRequest(payload)).toThrow(SchemaRequestError);
    expect(() => parseRequest(payload)).toThrow(message);
  });
});

describe('schema manager: the sandpit instance (SCHEMA_PREFIX)', () => {
  const sandpitOnly = { schemaPrefix: 'biome_dev_' };

  it('plans a sandpit schema as usual', () => {
    expect(planStatements(parseRequest(input, sandpitOnly))).toEqual(planStatements(parseRequest(input)));
  });

  it.each([
    [
      { ...input, schema: 'biome_dev', role: 'biome_dev', tf: { action: 'delete' } },
      'schema must start with biome_dev_',
    ],
    [{ ...input, schema: 'biome_dev', role: 'biome_dev', connection_limit: 0 }, 'schema must start with biome_dev_'],
    [{ ...input, role: 'biome_dev' }, 'role must start with biome_dev_'],
    [{ ...input, schema: 'biome_devx', role: 'biome_devx' }, 'schema must start with biome_dev_'],
  ])("refuses the main biome's schema or role: %j", (payload, message) => {
    expect(() => parseRequest(payload, sandpitOnly)).toThrow(SchemaRequestError);
    expect(() => parseRequest(payload, sandpitOnly)).toThrow(message);
    expect(() => parseRequest(payload)).not.toThrow();
  });
});

describe('schema manager: running a plan', () => {
  const recorder = (failOn?: RegExp) => {
    const queries: string[] = [];
    let ended = false;
    return {
      queries,
      ended: () => ended,
      deps: {
        log: () => undefined,
        connect: async () => ({
          async query(sql: string) {
            queries.push(sql);
            if (failOn?.test(sql)) throw new Error(`relation failure in: ${sql}`);
          },
          async end() {
            ended = true;
          },
        }),
      },
    };
  };

  it('runs the statements in one transaction and reports what it did', async () => {
    const r = recorder();
    const result = await handleInvocation({ ...input, tf: { action: 'create' } }, r.deps);
    expect(result).toEqual({ action: 'create', schema: 'biome_dev_bob', role: 'biome_dev_bob', statements: 7 });
    expect(r.queries[0]).toBe('BEGIN');
    expect(r.queries.at(-1)).toBe('COMMIT');
    expect(r.queries).toHaveLength(9);
    expect(r.ended()).toBe(true);
  });

  it('rolls back and fails the invocation with the database error; refuses bad input before connecting', async () => {
    const r = recorder(/^CREATE SCHEMA/);
    await expect(handleInvocation({ ...input, tf: { action: 'create' } }, r.deps)).rejects.toThrow(
      'relation failure in: CREATE SCHEMA',
    );
    expect(r.queries.at(-1)).toBe('ROLLBACK');
    expect(r.queries).not.toContain('COMMIT');
    expect(r.ended()).toBe(true);
    const bad = recorder();
    await expect(handleInvocation({ ...input, schema: 'public' }, bad.deps)).rejects.toThrow(SchemaRequestError);
    expect(bad.queries).toEqual([]);
    const main = recorder();
    await expect(
      handleInvocation(
        { ...input, schema: 'biome_dev', role: 'biome_dev', drop_cascade: true, tf: { action: 'delete' } },
        main.deps,
        { schemaPrefix: 'biome_dev_' },
      ),
    ).rejects.toThrow('serves sandpits only');
    expect(main.queries).toEqual([]);
  });
});
