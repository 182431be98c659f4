import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Buildspec,
  CodeBuildRequest,
  planCodeBuildRequest,
  validateBuildspec,
} from '../../tools/nx-biome/src/core/codebuild';
import { runBuildspecLocally } from '../../tools/nx-biome/src/operations/codebuild';
import { WORKSPACE_ROOT } from '../support/workspace';

const SHA = 'c'.repeat(40);

/** Runs a buildspec (given as an object) with the local runner; returns what a user sees. */
async function runLocal(doc: unknown, env: Record<string, string> = {}, cwd = WORKSPACE_ROOT) {
  const spec = validateBuildspec(doc, 'fixture.yml');
  const request: CodeBuildRequest = planCodeBuildRequest(
    { buildspec: 'buildspecs/fixture.yml', local: true, sourceVersion: SHA },
    {},
    SHA,
  );
  let output = '';
  const log: string[] = [];
  let error: Error | undefined;
  try {
    await runBuildspecLocally(spec, request, {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      now: () => 0,
      log: (l) => log.push(l),
      output: (c) => (output += c),
    });
  } catch (e) {
    error = e as Error;
  }
  return { output, log: log.join('\n'), error: error?.message };
}

const phase = (...commands: string[]) => ({ commands });

describe('the local runner runs phases the way CodeBuild does (failure injected phase by phase)', () => {
  it('a failed BUILD still runs POST_BUILD, with CODEBUILD_BUILD_SUCCEEDING=0 (1 before)', async () => {
    const r = await runLocal({
      version: 0.2,
      phases: {
        install: phase('echo "install succeeding=$CODEBUILD_BUILD_SUCCEEDING"'),
        build: phase('echo "build succeeding=$CODEBUILD_BUILD_SUCCEEDING"', 'false', 'echo never-here'),
        post_build: phase('echo "post_build succeeding=$CODEBUILD_BUILD_SUCCEEDING"'),
      },
    });
    expect(r.output).toContain('install succeeding=1');
    expect(r.output).toContain('build succeeding=1');
    expect(r.output).not.toContain('never-here');
    expect(r.output).toContain('post_build succeeding=0');
    expect(r.log).toMatch(/BUILD\s+FAILED \(exit status 1\)/);
    expect(r.log).toMatch(/POST_BUILD\s+SUCCEEDED/);
    expect(r.error).toMatch(/phase BUILD FAILED/);
  });

  it.each(['install', 'pre_build'])('a failed %s ends the build: no later phase runs', async (failing) => {
    const phases: Record<string, { commands: string[] }> = {};
    for (const p of ['install', 'pre_build', 'build', 'post_build'])
      phases[p] = phase(p === failing ? 'exit 3' : `echo ran-${p}`);
    const r = await runLocal({ version: 0.2, phases });
    const ran = [...r.output.matchAll(/ran-(\w+)/g)].map((m) => m[1]);
    expect(ran).toEqual(failing === 'install' ? [] : ['install']);
    expect(r.error).toMatch(new RegExp(`phase ${failing.toUpperCase()} FAILED \\(a command exited with code 3\\)`));
  });

  it('a failed POST_BUILD fails the build', async () => {
    const r = await runLocal({ version: 0.2, phases: { build: phase('true'), post_build: phase('exit 4') } });
    expect(r.error).toMatch(/phase POST_BUILD FAILED \(a command exited with code 4\)/);
  });

  it('on-failure: CONTINUE goes on to the next phase (marked failing); ABORT stops even before POST_BUILD', async () => {
    const cont = await runLocal({
      version: 0.2,
      phases: {
        pre_build: { commands: ['false'], 'on-failure': 'CONTINUE' },
        build: phase('echo "build succeeding=$CODEBUILD_BUILD_SUCCEEDING"'),
      },
    });
    expect(cont.output).toContain('build succeeding=0');
    expect(cont.error).toMatch(/phase PRE_BUILD FAILED/);
    const abort = await runLocal({
      version: 0.2,
      phases: { build: { commands: ['false'], 'on-failure': 'ABORT' }, post_build: phase('echo ran-post') },
    });
    expect(abort.output).not.toContain('ran-post');
    expect(abort.error).toMatch(/phase BUILD FAILED/);
  });

  it('finally runs after a failed command (the rest of commands is skipped) and its own failure fails the phase', async () => {
    const r = await runLocal({
      version: 0.2,
      phases: { build: { commands: ['echo one', 'sh -c "exit 5"', 'echo skipped'], finally: ['echo cleanup'] } },
    });
    expect(r.output).toMatch(/one[\s\S]*cleanup/);
    expect(r.output).not.toContain('skipped');
    expect(r.error).toMatch(/code 5/);
    const bad = await runLocal({
      version: 0.2,
      phases: {
        build: { commands: ['echo fine'], finally: ['sh -c "exit 6"'] },
        post_build: phase('echo "post succeeding=$CODEBUILD_BUILD_SUCCEEDING"'),
      },
    });
    expect(bad.output).toContain('post succeeding=0');
    expect(bad.error).toMatch(/phase BUILD FAILED \(a command exited with code 6\)/);
  });

  it('one shell for the build: exported variables and the directory carry over to later phases', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cb-shell-'));
    try {
      mkdirSync(join(dir, 'sub'));
      const r = await runLocal(
        {
          version: 0.2,
          phases: {
            install: phase('export CARRIED="a b"', 'cd sub'),
            build: phase('echo "carried=$CARRIED in $(basename "$PWD")"'),
          },
        },
        {},
        dir,
      );
      expect(r.error).toBeUndefined();
      expect(r.output).toContain('carried=a b in sub');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a multi-line command fails by its own exit status only, as in CodeBuild (no implicit set -e)', async () => {
    const r = await runLocal({ version: 0.2, phases: { build: phase('false\necho after-false', 'echo next') } });
    expect(r.output).toContain('after-false');
    expect(r.output).toContain('next');
    expect(r.error).toBeUndefined();
  });

  it('the buildspec schema refuses an unknown on-failure and an empty finally', () => {
    expect(() =>
      validateBuildspec(
        { version: 0.2, phases: { build: { commands: ['x'], 'on-failure': 'RETRY', finally: [] } } },
        'bad.yml',
      ),
    ).toThrow(/on-failure must be ABORT or CONTINUE[\s\S]*|finally must be a non-empty list/);
  });
});

/** A PATH whose `npx`, `terraform` and `curl` only record their arguments. */
function recordingTools(): { path: string; calls: () => string[]; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'cb-tools-'));
  for (const tool of ['npx', 'curl']) {
    writeFileSync(join(dir, tool), `#!/bin/sh\necho "${tool} $*" >> "${dir}/calls"\n`);
    chmodSync(join(dir, tool), 0o755);
  }
  return {
    path: `${dir}:${process.env.PATH}`,
    calls: () => (existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n') : []),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

describe("the real buildspecs under CodeBuild's failure semantics", () => {
  const load = (name: string): Buildspec =>
    validateBuildspec(parse(readFileSync(join(WORKSPACE_ROOT, 'buildspecs', name), 'utf8')), name);
  const only = (spec: Buildspec, ...names: string[]): Record<string, unknown> => ({
    version: 0.2,
    env: { variables: spec.variables },
    phases: Object.fromEntries(
      spec.phases
        .filter((p) => names.includes(p.name))
        .map((p) => [p.name, { commands: p.commands, ...(p.finally.length ? { finally: p.finally } : {}) }]),
    ),
  });

  it.each([
    ['deploy.yml', { BIOME: 'dev-cb' }, 'infra:deploy --biome=dev-cb --apply'],
    ['promote.yml', { FROM_BIOME: 'dev', TO_ENV: 'staging' }, 'infra:deploy --biome=staging --apply'],
  ])(
    '%s: a failed BUILD means no terraform apply in POST_BUILD; a good one applies when asked',
    async (file, vars, applyCall) => {
      const spec = load(file);
      const tools = recordingTools();
      try {
        const failed = await runLocal(
          {
            ...only(spec, 'post_build'),
            phases: {
              build: phase('echo "simulated build failure" >&2; exit 1'),
              ...(only(spec, 'post_build').phases as object),
            },
          },
          { ...vars, TERRAFORM_APPLY: 'true', PATH: tools.path },
        );
        expect(failed.error).toMatch(/phase BUILD FAILED/);
        expect(failed.output).toContain('BUILD failed: terraform apply skipped');
        expect(tools.calls()).toEqual([]);

        const ok = await runLocal(only(spec, 'post_build'), { ...vars, TERRAFORM_APPLY: 'true', PATH: tools.path });
        expect(ok.error).toBeUndefined();
        expect(tools.calls()).toEqual([expect.stringContaining(applyCall)]);
      } finally {
        tools.cleanup();
      }
    },
  );

  it.each(['deploy.yml', 'promote.yml', 'destroy.yml'])(
    '%s installs terraform in INSTALL only when it will run it, with the pinned installer',
    async (file) => {
      const spec = load(file);
      const install = spec.phases.find((p) => p.name === 'install')!;
      expect(install.commands.join('\n')).toContain(
        'if [ "$TERRAFORM_APPLY" = "true" ]; then bash buildspecs/install-terraform.sh; fi',
      );
      // With terraform 1.11.4 already on PATH (this machine) the installer downloads nothing.
      const tools = recordingTools();
      try {
        const r = await runLocal(only(spec, 'install'), { TERRAFORM_APPLY: 'true', PATH: tools.path });
        expect(r.error, r.output).toBeUndefined();
        expect(r.output).toMatch(/terraform 1\.11\.4 is already on PATH/);
        expect(tools.calls().filter((c) => c.startsWith('curl'))).toEqual([]);
      } finally {
        tools.cleanup();
      }
    },
  );

  it('deploy.yml and destroy.yml refuse a biome outside ALLOWED_BIOMES; promote.yml a pair outside ALLOWED_PROMOTIONS', async () => {
    const tools = recordingTools();
    try {
      const deploy = only(load('deploy.yml'), 'pre_build');
      const refused = await runLocal(deploy, { BIOME: 'dev', ALLOWED_BIOMES: 'dev-*', PATH: tools.path });
      expect(refused.output).toContain('BIOME dev is not allowed for this CodeBuild project (allowed: dev-*)');
      expect(refused.error).toMatch(/phase PRE_BUILD FAILED/);
      expect(tools.calls()).toEqual([]);
      const scratch = mkdtempSync(join(tmpdir(), 'cb-allowed-'));
      const allowed = await runLocal(
        deploy,
        { BIOME: 'dev-mr-4', ALLOWED_BIOMES: 'dev-*', BASE: 'HEAD', PATH: tools.path },
        scratch,
      );
      rmSync(scratch, { recursive: true, force: true });
      expect(allowed.error).toBeUndefined();
      expect(allowed.output).toContain('deploying dev-mr-4 from base HEAD');

      const destroy = await runLocal(only(load('destroy.yml'), 'pre_build'), {
        BIOME: 'dev',
        ALLOWED_BIOMES: 'dev-*',
        PATH: tools.path,
      });
      expect(destroy.output).toContain('BIOME dev is not allowed');
      const promote = await runLocal(only(load('promote.yml'), 'pre_build'), {
        FROM_BIOME: 'dev-bob',
        TO_ENV: 'staging',
        ALLOWED_PROMOTIONS: 'dev:staging',
        PATH: tools.path,
      });
      expect(promote.output).toContain(
        'promotion dev-bob:staging is not allowed for this CodeBuild project (allowed: dev:staging)',
      );
    } finally {
      tools.cleanup();
    }
  });
});

describe('install-terraform.sh verifies the archive against the pinned checksum (local fake archive, no download)', () => {
  let dir: string;
  const script = join(WORKSPACE_ROOT, 'buildspecs/install-terraform.sh');
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tf-install-'));
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src/terraform'), '#!/bin/sh\necho "Terraform v0.0.0-fake"\n');
    chmodSync(join(dir, 'src/terraform'), 0o755);
    execFileSync('zip', ['-q', '-j', join(dir, 'fake.zip'), join(dir, 'src/terraform')]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const verify = (expected: string, dest: string) =>
    spawnSync(
      'bash',
      ['-c', `source "${script}" && verify_and_install "$1" "$2" "$3"`, 'x', join(dir, 'fake.zip'), expected, dest],
      { encoding: 'utf8' },
    );

  it('installs the binary when the sha256 matches', () => {
    const sum = execFileSync('sha256sum', [join(dir, 'fake.zip')], { encoding: 'utf8' }).split(' ')[0];
    const r = verify(sum, join(dir, 'bin-ok'));
    expect(r.status, r.stderr).toBe(0);
    expect(execFileSync(join(dir, 'bin-ok/terraform'), { encoding: 'utf8' })).toContain('Terraform v0.0.0-fake');
  });

  it('refuses an archive whose sha256 differs, and installs nothing', () => {
    const r = verify('0'.repeat(64), join(dir, 'bin-bad'));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/checksum mismatch for fake\.zip: expected 0{64}, got [0-9a-f]{64}; refusing to install/);
    expect(existsSync(join(dir, 'bin-bad/terraform'))).toBe(false);
  });

  it('pins terraform 1.11.4 from releases.hashicorp.com with a sha256 for each Linux platform, and downloads nothing when it is present', () => {
    const text = readFileSync(script, 'utf8');
    expect(text).toContain('TERRAFORM_VERSION="1.11.4"');
    expect(text).toContain('https://releases.hashicorp.com/terraform/${TERRAFORM_VERSION}/$file');
    for (const platform of ['linux_amd64', 'linux_arm64']) {
      const r = spawnSync('bash', ['-c', `source "${script}" && terraform_archive_sha256 ${platform}`], {
        encoding: 'utf8',
      });
      expect(r.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});
