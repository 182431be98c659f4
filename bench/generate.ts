/**
 * Generates a synthetic workspace with N Lambda services for the benchmark:
 * the real plugin (tools/nx-biome), nx.json, nx-biome.json and root
 * package.json copied in, node_modules linked, every service built with the
 * same @nx/esbuild options as apps/services/*, importing a shared library and
 * zod. The result is a git repository with one commit.
 *
 * The `plain-nx` flavour is the peer a team would set up with Nx alone: the
 * same services and library, no plugin, built with `@nx/esbuild:esbuild`
 * (cached), and a `deploy` target (`nx:run-commands`, one process per task)
 * that zips the bundle with the zip CLI and uploads it (cp, or curl's SigV4
 * PUT to S3), as bench/naive-loop.sh does.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { normalizeInferredTargetsOptions, planInferredTargets } from '../tools/nx-biome/src/core/inferred-targets';

export const REPO_ROOT = resolve(__dirname, '..');

/** Name of the i-th synthetic service. */
export const serviceName = (i: number) => `svc-${String(i).padStart(3, '0')}`;

export interface SyntheticWorkspace {
  root: string;
  services: string[];
  git(...args: string[]): string;
}

const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.invalid',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.invalid',
};

function gitIn(root: string) {
  return (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8', env: gitEnv });
}

/**
 * The build target of a service spelled out: what the plugin infers for
 * apps/services/<name> (the options every sample service builds with), run
 * by another executor. Only written when the executor differs: Nx would
 * otherwise replace the inferred target by an options-less one.
 */
function buildTargetLike(name: string, executor: string): unknown {
  const { metadata: _metadata, ...build } = planInferredTargets(
    { root: `apps/services/${name}`, kind: 'service' },
    normalizeInferredTargetsOptions({}),
  ).build;
  return { ...build, executor, outputs: ['{options.outputPath}'] };
}

const SHARED_FILES: Record<string, string> = {
  'index.ts': `export * from './respond';\nexport * from './units';\nexport * from './rare';\n`,
  'respond.ts': `/** A Lambda proxy response with a JSON body. */
export function respond(statusCode: number, body: unknown) {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** Reads a JSON body that may be absent or base64-encoded. */
export function parseBody(event: { body?: string | null; isBase64Encoded?: boolean }): unknown {
  if (!event.body) return {};
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  return JSON.parse(text);
}
`,
  'units.ts': `const FACTORS: Record<string, number> = { ppm: 1e-4, ppb: 1e-7, pct: 1, gpt: 1e-4 };

/** Converts a grade to percent. */
export function toPercent(value: number, unit: string): number {
  const f = FACTORS[unit];
  if (f === undefined) throw new Error(\`unknown unit \${unit}\`);
  return value * f;
}
`,
  // Used by one service only: changing it changes one bundle although every service depends on the library.
  'rare.ts': `/** Rounds a grade for a report. */
export function roundGrade(value: number): number {
  return Math.round(value * 100) / 100;
}
`,
};

function serviceMain(i: number): string {
  const fields = ['Fe', 'SiO2', 'Al2O3', 'P', 'S', 'Mn', 'TiO2', 'CaO'];
  const mine = fields.filter((_, k) => (i >> k) % 2 === 0 || k < 2);
  const rare = i === 0;
  return `import { z } from 'zod';
import { parseBody, respond, toPercent${rare ? ', roundGrade' : ''} } from '@geo/bench-shared';

const Sample = z.object({
  sampleId: z.string().regex(/^DDH-\\d{5}$/),
  unit: z.enum(['ppm', 'ppb', 'pct', 'gpt']),
  grades: z.object({ ${mine.map((f) => `${f}: z.number().min(0)`).join(', ')} }),
});

/** Lambda entry point of ${serviceName(i)}. */
export async function handler(event: { body?: string | null; isBase64Encoded?: boolean }) {
  const parsed = Sample.safeParse(parseBody(event));
  if (!parsed.success) return respond(400, { service: '${serviceName(i)}', errors: parsed.error.issues });
  const { unit, grades } = parsed.data;
  const percent = Object.fromEntries(Object.entries(grades).map(([k, v]) => [k, ${rare ? 'roundGrade(toPercent(v, unit))' : 'toPercent(v, unit)'}]));
  return respond(200, { service: '${serviceName(i)}', sampleId: parsed.data.sampleId, percent, seed: ${i * 7919}, revision });
}

export const revision = 'initial';
`;
}

/**
 * Writes a synthetic workspace with `n` services into `root` (replaced if it
 * exists) and commits it. `buildExecutor` replaces the executor of the
 * services' build target (same options), to compare build executors.
 */
export async function generateWorkspace(
  root: string,
  n: number,
  options: { buildExecutor?: string; flavour?: 'biome' | 'plain-nx' } = {},
): Promise<SyntheticWorkspace> {
  const plain = options.flavour === 'plain-nx';
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  for (const f of ['nx.json', 'nx-biome.json', 'package.json', 'tsconfig.json', '.gitignore', '.nxignore'])
    await cp(join(REPO_ROOT, f), join(root, f));
  if (plain) {
    await writeFile(join(root, 'nx.json'), `${JSON.stringify(PLAIN_NX_JSON, null, 2)}\n`);
    await mkdir(join(root, 'tools'), { recursive: true });
    await writeFile(join(root, 'tools/deploy.sh'), PLAIN_DEPLOY_SH, { mode: 0o755 });
    await cp(join(REPO_ROOT, 'bench/upload.sh'), join(root, 'tools/upload.sh'));
  } else {
    // The plugin runs compiled (tools/nx-biome/dist, copied along): compile what the sources say now first.
    execFileSync(process.execPath, [join(REPO_ROOT, 'tools/nx-biome/build.js')], { stdio: 'ignore' });
    await cp(join(REPO_ROOT, 'tools/nx-biome'), join(root, 'tools/nx-biome'), {
      recursive: true,
      filter: (src) => !src.includes('node_modules'),
    });
    await mkdir(join(root, 'infra'), { recursive: true });
    await cp(join(REPO_ROOT, 'infra/project.json'), join(root, 'infra/project.json'));
  }
  const tsBase = JSON.parse(await readFile(join(REPO_ROOT, 'tsconfig.base.json'), 'utf8'));
  // No path for @geo/nx-biome: Nx would load a plugin named by a tsconfig path from its TypeScript source.
  tsBase.compilerOptions.paths = { '@geo/bench-shared': ['libs/bench-shared/src/index.ts'] };
  await writeFile(join(root, 'tsconfig.base.json'), `${JSON.stringify(tsBase, null, 2)}\n`);
  await symlink(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');

  const lib = join(root, 'libs/bench-shared');
  await mkdir(join(lib, 'src'), { recursive: true });
  await writeFile(
    join(lib, 'project.json'),
    `${JSON.stringify({ name: 'bench-shared', projectType: 'library', sourceRoot: 'libs/bench-shared/src', tags: ['type:lib'], targets: {} }, null, 2)}\n`,
  );
  for (const [f, text] of Object.entries(SHARED_FILES)) await writeFile(join(lib, 'src', f), text);

  const services: string[] = [];
  const realSettings = JSON.parse(await readFile(join(REPO_ROOT, 'apps/services/assay-ingest/project.json'), 'utf8'))
    .targets.package.options.settings;
  for (let i = 0; i < n; i++) {
    const name = serviceName(i);
    services.push(name);
    const dir = join(root, 'apps/services', name);
    await mkdir(join(dir, 'src'), { recursive: true });
    await writeFile(join(dir, 'src/main.ts'), serviceMain(i));
    await cp(join(REPO_ROOT, 'apps/services/assay-ingest/tsconfig.app.json'), join(dir, 'tsconfig.app.json'));
    const project = {
      name,
      $schema: '../../../node_modules/nx/schemas/project-schema.json',
      projectType: 'application',
      sourceRoot: `apps/services/${name}/src`,
      tags: ['kind:service', 'deployable'],
      // The biome flavour is the short form the plugin's generators write: build, package and deploy are inferred.
      targets: plain
        ? {
            build: buildTargetLike(name, '@nx/esbuild:esbuild'),
            deploy: { executor: 'nx:run-commands', options: { command: `bash tools/deploy.sh ${name}` } },
          }
        : {
            ...(options.buildExecutor && options.buildExecutor !== '@geo/nx-biome:esbuild'
              ? { build: buildTargetLike(name, options.buildExecutor) }
              : {}),
            package: { options: { settings: realSettings } },
          },
    };
    await writeFile(join(dir, 'project.json'), `${JSON.stringify(project, null, 2)}\n`);
  }
  const git = gitIn(root);
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'bench@example.invalid');
  git('config', 'user.name', 'Bench');
  git('add', '-A');
  git('commit', '-qm', `synthetic workspace with ${n} services`);
  return { root, services, git };
}

/** nx.json of the plain-Nx peer: the repository's settings without the plugin; deploy after build, never cached. */
const PLAIN_NX_JSON = {
  $schema: './node_modules/nx/schemas/nx-schema.json',
  analytics: false,
  neverConnectToCloud: true,
  useDaemonProcess: false,
  cacheDirectory: '.nx/cache',
  defaultBase: 'main',
  namedInputs: {
    default: ['{projectRoot}/**/*', 'sharedGlobals'],
    production: ['default', '!{projectRoot}/**/*.spec.ts'],
    sharedGlobals: ['{workspaceRoot}/tsconfig.base.json'],
  },
  targetDefaults: {
    build: { cache: true, inputs: ['production', '^production'], dependsOn: ['^build'] },
    deploy: { cache: false, dependsOn: ['build'] },
  },
};

/**
 * The plain-Nx peer's deploy step for one service: zip the bundle (zip CLI)
 * and upload it under a key named by the commit, with bench/upload.sh (cp, or
 * curl's SigV4 PUT), as bench/naive-loop.sh does. BENCH_SHA and the store
 * variables of upload.sh come from the environment.
 */
const PLAIN_DEPLOY_SH = `#!/usr/bin/env bash
set -euo pipefail
source tools/upload.sh
name="$1"
zipfile="dist/zips/$name-$BENCH_SHA.zip"
mkdir -p dist/zips
rm -f "$zipfile"
(cd "dist/apps/services/$name" && zip -q -X -6 "../../../../$zipfile" main.js)
upload "$zipfile" "artifacts/$name/$name-$BENCH_SHA.zip"
echo "uploaded $name"
`;

/** Changes one service's handler (its bundle changes) and commits. */
export async function changeService(ws: SyntheticWorkspace, name: string, tag: string): Promise<void> {
  const main = join(ws.root, 'apps/services', name, 'src/main.ts');
  await writeFile(
    main,
    (await readFile(main, 'utf8')).replace(/export const revision = '[^']*';/, `export const revision = '${tag}';`),
  );
  ws.git('commit', '-qam', `${name}: ${tag}`);
}

/**
 * Changes the shared library in code only svc-000 uses: every service is
 * affected, one bundle changes.
 */
export async function changeSharedLib(ws: SyntheticWorkspace, tag: string): Promise<void> {
  const rare = join(ws.root, 'libs/bench-shared/src/rare.ts');
  await writeFile(
    rare,
    `/** Rounds a grade for a report. */\nexport function roundGrade(value: number): number {\n  if (!Number.isFinite(value)) throw new Error('grade is not a number (rounding rules ${tag})');\n  return Math.round(value * 100) / 100;\n}\n`,
  );
  ws.git('commit', '-qam', `bench-shared: ${tag}`);
}
