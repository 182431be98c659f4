import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findTerraform } from '../../tools/nx-biome/src/adapters/terraform';
import { INFRA_ROOT } from './hcl';

const run = promisify(execFile);

/**
 * The real terraform CLI, when the machine has one, used OFFLINE only: providers
 * come from a local plugin directory (TF_PLUGIN_DIR, else /opt/tf-plugins), so
 * no test ever asks a registry for anything.
 */
export interface OfflineTerraform {
  binary: string;
  pluginDir: string | undefined;
  /** Runs terraform with argv in cwd; resolves with the combined output, rejects with it on failure. */
  exec(args: string[], cwd: string): Promise<string>;
  /** Whether a provider (e.g. hashicorp/aws) is in the plugin directory. */
  hasProvider(source: string): boolean;
}

export async function offlineTerraform(): Promise<OfflineTerraform | undefined> {
  const binary = await findTerraform();
  if (!binary) return undefined;
  const pluginDir = [process.env.TF_PLUGIN_DIR, '/opt/tf-plugins'].find((d): d is string => !!d && existsSync(d));
  return {
    binary,
    pluginDir,
    async exec(args, cwd) {
      try {
        const { stdout, stderr } = await run(binary, args, { cwd, env: { ...process.env, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1', TF_CLI_ARGS: '' }, maxBuffer: 16 * 1024 * 1024 });
        return `${stdout}${stderr}`;
      } catch (e) {
        const err = e as { stdout?: string; stderr?: string; message: string };
        throw new Error(`terraform ${args.join(' ')} failed in ${cwd}:\n${err.stdout ?? ''}${err.stderr ?? err.message}`, { cause: e });
      }
    },
    hasProvider(source) {
      return !!pluginDir && existsSync(join(pluginDir, 'registry.terraform.io', source));
    },
  };
}

/** `terraform init` with providers from the plugin directory only, no backend. */
export async function initOffline(tf: OfflineTerraform, dir: string, backend = false): Promise<void> {
  await tf.exec(['init', '-input=false', '-no-color', `-backend=${backend}`, `-plugin-dir=${tf.pluginDir}`], dir);
}

/**
 * A copy of infra/ in a temporary folder. Without the postgresql provider in
 * the plugin directory, the biome stack's copy replaces its database part by
 * fixed locals (the database-schema module is then checked statically only),
 * and the S3 backend by the local one, so it can be planned offline.
 */
export async function copyInfraForCli(tf: OfflineTerraform): Promise<{ root: string; biomeStack: string; stubbedDatabase: boolean; cleanup(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'infra-cli-'));
  await cp(INFRA_ROOT, join(root, 'infra'), { recursive: true, filter: (src) => !src.includes('/.terraform') });
  const biomeStack = join(root, 'infra/stacks/biome');
  const edit = async (file: string, from: RegExp | string, to: string) => {
    const path = join(biomeStack, file);
    const text = await readFile(path, 'utf8');
    const next = text.replace(from, to);
    if (next === text) throw new Error(`copyInfraForCli: ${file} no longer contains ${from}; update this stub.`);
    await writeFile(path, next);
  };
  await edit('versions.tf', /\n {2}backend "s3" \{\}\n/, '\n');
  const stubbedDatabase = !tf.hasProvider('cyrilgdn/postgresql');
  if (stubbedDatabase) {
    await edit('versions.tf', /\n {4}postgresql = \{[^}]*\}\n/, '\n');
    await edit('versions.tf', /\nprovider "postgresql" \{[\s\S]*?\n\}\n/, '\n');
    await edit('outputs.tf', 'module.database[0].schema_name', 'var.database_schema');
    await edit('tests/biome.tftest.hcl', 'mock_provider "postgresql" {}\n', '');
    await writeFile(
      join(biomeStack, 'database.tf'),
      ['locals {', '  db_host     = "db.invalid"', '  db_port     = 5432', '  db_name     = "app"', '  db_user_arn = "arn:aws:rds-db:ap-southeast-2:111111111111:dbuser:db-STUB/${var.database_schema}"', '}', ''].join('\n'),
    );
  }
  return { root, biomeStack, stubbedDatabase, cleanup: () => rm(root, { recursive: true, force: true }) };
}
