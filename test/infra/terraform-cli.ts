import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findTerraform } from '../../tools/nx-biome/src/adapters/terraform';
import { INFRA_ROOT } from './hcl';

const run = promisify(execFile);

/** The only provider the stacks need, and the version the lock files pin. */
export const AWS_PROVIDER = 'hashicorp/aws';

/**
 * The real terraform CLI, when the machine has one, used OFFLINE only: a CLI
 * configuration (TF_CLI_CONFIG_FILE, written to a temporary folder) installs
 * providers from the local filesystem mirror (TF_PLUGIN_DIR, else
 * /opt/tf-plugins) and forbids the registry, so no test ever asks a registry
 * for anything.
 */
export interface OfflineTerraform {
  binary: string;
  pluginDir: string | undefined;
  /** The CLI configuration every command runs with. */
  cliConfigFile: string;
  /** Runs terraform with argv in cwd; resolves with the combined output, rejects with it on failure. */
  exec(args: string[], cwd: string, options?: { timeoutMs?: number; env?: Record<string, string> }): Promise<string>;
  /** Whether a provider (e.g. hashicorp/aws) is in the mirror. */
  hasProvider(source: string): boolean;
}

/** The CLI configuration: the filesystem mirror for every registry.terraform.io provider, never the network. */
export function cliConfig(pluginDir: string): string {
  return [
    'provider_installation {',
    '  filesystem_mirror {',
    `    path    = ${JSON.stringify(pluginDir)}`,
    '    include = ["registry.terraform.io/*/*"]',
    '  }',
    '  direct {',
    '    exclude = ["registry.terraform.io/*/*"]',
    '  }',
    '}',
    '',
  ].join('\n');
}

export async function offlineTerraform(): Promise<OfflineTerraform | undefined> {
  const binary = await findTerraform();
  if (!binary) return undefined;
  const pluginDir = [process.env.TF_PLUGIN_DIR, '/opt/tf-plugins'].find((d): d is string => !!d && existsSync(d));
  const cliConfigFile = join(await mkdtemp(join(tmpdir(), 'tf-cli-')), 'terraformrc');
  await writeFile(cliConfigFile, pluginDir ? cliConfig(pluginDir) : '');
  return {
    binary,
    pluginDir,
    cliConfigFile,
    async exec(args, cwd, options = {}) {
      const env = {
        ...process.env,
        TF_CLI_CONFIG_FILE: cliConfigFile,
        TF_IN_AUTOMATION: '1',
        CHECKPOINT_DISABLE: '1',
        TF_CLI_ARGS: '',
        TF_CLI_ARGS_init: '',
        TF_INPUT: '0',
        ...options.env,
      };
      try {
        const { stdout, stderr } = await run(binary, args, {
          cwd,
          env,
          maxBuffer: 16 * 1024 * 1024,
          timeout: options.timeoutMs ?? 0,
          killSignal: 'SIGTERM',
        });
        return `${stdout}${stderr}`;
      } catch (e) {
        const err = e as { stdout?: string; stderr?: string; message: string };
        throw new Error(
          `terraform ${args.join(' ')} failed in ${cwd}:\n${err.stdout ?? ''}${err.stderr ?? err.message}`,
          { cause: e },
        );
      }
    },
    hasProvider(source) {
      return !!pluginDir && existsSync(join(pluginDir, 'registry.terraform.io', source));
    },
  };
}

/**
 * Why the real-provider checks cannot run here, or undefined when they can.
 * Under CI=true the caller fails with this reason; elsewhere it skips and says why.
 */
export function unavailable(tf: OfflineTerraform | undefined): string | undefined {
  if (!tf) return 'terraform is not on PATH (nor TERRAFORM_BINARY)';
  if (!tf.hasProvider(AWS_PROVIDER))
    return `terraform found, but ${AWS_PROVIDER} is not in a local provider mirror (TF_PLUGIN_DIR or /opt/tf-plugins)`;
  return undefined;
}

/**
 * `terraform init` from the mirror, no backend, and the committed
 * `.terraform.lock.hcl` read-only: a lock file that does not match the
 * provider fails here instead of being rewritten.
 */
export async function initOffline(tf: OfflineTerraform, dir: string, backend = false): Promise<void> {
  await tf.exec(['init', '-input=false', '-no-color', `-backend=${backend}`, '-lockfile=readonly'], dir, {
    timeoutMs: 300_000,
  });
}

/**
 * A copy of infra/ in a temporary folder (without .terraform folders, with the
 * lock files), so init writes nothing into the repository. In the biome
 * stack's copy the S3 backend is removed, so `terraform workspace` works on
 * local state.
 */
export async function copyInfraForCli(): Promise<{ root: string; biomeStack: string; cleanup(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'infra-cli-'));
  await cp(INFRA_ROOT, join(root, 'infra'), {
    recursive: true,
    filter: (src) => !/[/\\]\.terraform([/\\]|$)/.test(src) && !src.endsWith('.tfstate'),
  });
  const biomeStack = join(root, 'infra/stacks/biome');
  const versions = join(biomeStack, 'versions.tf');
  const text = await readFile(versions, 'utf8');
  const next = text.replace(/\n {2}backend "s3" \{\}\n/, '\n');
  if (next === text)
    throw new Error(
      'copyInfraForCli: infra/stacks/biome/versions.tf no longer holds `backend "s3" {}`; update this helper.',
    );
  await writeFile(versions, next);
  return { root, biomeStack, cleanup: () => rm(root, { recursive: true, force: true }) };
}
