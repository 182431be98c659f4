import { execFile, execFileSync, spawn } from 'node:child_process';
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

/** The real workspace this repository is. */
export const WORKSPACE_ROOT = resolve(__dirname, '../..');
/** The Nx CLI entry point of this workspace. */
export const NX_BIN = join(WORKSPACE_ROOT, 'node_modules/nx/dist/bin/nx.js');

const SKIP = new Set(['node_modules', 'dist', '.nx', '.git', '.biome-store', 'tmp', 'coverage', '.gitlab-ci-local']);

/** Environment for running Nx in tests: offline, no daemon, no TUI, no plugin workers. */
export function nxEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    NX_TUI: 'false',
    NX_ISOLATE_PLUGINS: 'false',
    NX_SKIP_NX_CACHE: undefined,
    CI: 'true',
    FORCE_COLOR: '0',
    NX_USE_LOCAL: 'true',
    ...extra,
  };
  for (const k of [
    'BIOME_STORE',
    'BIOME_STORE_DEV',
    'BIOME_STORE_STAGING',
    'BIOME_STORE_PROD',
    'AWS_ENDPOINT_URL_S3',
    'AWS_PROFILE',
  ])
    if (!(k in extra)) delete env[k];
  return env;
}

export interface TempWorkspace {
  root: string;
  git(...args: string[]): string;
  nx(
    args: string[],
    env?: Record<string, string>,
  ): Promise<{ code: number; stdout: string; stderr: string; output: string }>;
  cleanup(): Promise<void>;
}

/**
 * Copies the workspace (sources only; node_modules linked) into a temporary
 * folder and makes it a git repository with one commit, so the Nx CLI and git
 * run for real without touching this checkout.
 */
export async function copyWorkspace(prefix = 'ws-'): Promise<TempWorkspace> {
  // The plugin runs compiled (tools/nx-biome/dist): compile what the sources say now, so the copy runs this
  // code, never an older build (the copy's own entry would rebuild a stale dist too, once per copy).
  ensurePluginBuilt();
  const root = await mkdtemp(join(tmpdir(), prefix));
  // bench/.work holds the benchmark's generated workspaces (hundreds of MB, changing while a benchmark runs).
  await cp(WORKSPACE_ROOT, root, {
    recursive: true,
    filter: (src) =>
      (!SKIP.has(src.slice(WORKSPACE_ROOT.length + 1).split('/')[0]) && src !== join(WORKSPACE_ROOT, 'bench/.work')) ||
      src === WORKSPACE_ROOT,
  });
  await symlink(join(WORKSPACE_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: root,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'Test',
        GIT_AUTHOR_EMAIL: 'test@example.com',
        GIT_COMMITTER_NAME: 'Test',
        GIT_COMMITTER_EMAIL: 'test@example.com',
      },
    });
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'test@example.com');
  git('config', 'user.name', 'Test');
  git('add', '-A');
  git('commit', '-qm', 'initial workspace');
  return {
    root,
    git,
    nx(args, env = {}) {
      return new Promise((resolvePromise) => {
        const child = spawn(process.execPath, [NX_BIN, ...args], { cwd: root, env: nxEnv(env) });
        let stdout = '';
        let stderr = '';
        let output = '';
        child.stdout.on('data', (d) => ((stdout += d), (output += d)));
        child.stderr.on('data', (d) => ((stderr += d), (output += d)));
        child.on('close', (code) => resolvePromise({ code: code ?? 1, stdout, stderr, output }));
      });
    },
    async cleanup() {
      await rm(root, { recursive: true, force: true });
    },
  };
}

export const execFileAsync = promisify(execFile);

/** Compiles the plugin (tools/nx-biome/build.js) if its sources changed since the last build. */
export function ensurePluginBuilt(): void {
  execFileSync(process.execPath, [join(WORKSPACE_ROOT, 'tools/nx-biome/build.js')], { stdio: 'ignore' });
}
