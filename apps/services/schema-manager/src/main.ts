import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Client } from 'pg';
import { handleInvocation } from './handler';

const secrets = new SecretsManagerClient({});

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/**
 * Lambda entry point (`main.handler`), invoked by the biome stack's
 * aws_lambda_invocation. The master credentials come from the secret RDS
 * manages, read on each invocation (rotation-safe) and never returned.
 * SCHEMA_PREFIX (the sandpit schema manager) limits it to sandpit schemas.
 */
export async function handler(event: unknown) {
  return handleInvocation(
    event,
    {
      async connect() {
        const secret = await secrets.send(new GetSecretValueCommand({ SecretId: required('DB_SECRET_ARN') }));
        const { username, password } = JSON.parse(secret.SecretString ?? '{}') as {
          username?: string;
          password?: string;
        };
        const client = new Client({
          host: required('DB_HOST'),
          port: Number(process.env.DB_PORT ?? 5432),
          database: required('DB_NAME'),
          user: username,
          password,
          ssl: { rejectUnauthorized: false },
          connectionTimeoutMillis: 15_000,
        });
        await client.connect();
        return client;
      },
      log: (line) => console.log(line),
    },
    { schemaPrefix: process.env.SCHEMA_PREFIX || undefined },
  );
}
