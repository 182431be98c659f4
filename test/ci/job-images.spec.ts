import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { WORKSPACE_ROOT } from '../support/workspace';
import { expandPipeline, ExpandedPipeline } from './gitlab-model';

/**
 * What each job image provides on PATH. node:20-bookworm is Docker's official
 * node image, built on buildpack-deps:bookworm (its -curl, -scm and full
 * layers: curl, wget, gnupg; git, openssh, procps; gcc, make, unzip, xz, bzip2,
 * file, patch) on debian:bookworm (coreutils, sed, grep, tar, gzip, findutils,
 * util-linux, apt). It has no rsync, zip, terraform or aws CLI. The CodeBuild
 * standard image (Amazon Linux 2023) adds zip and the aws CLI; it has no
 * terraform.
 */
const DEBIAN_BASE = [
  'bash',
  'sh',
  'cat',
  'cp',
  'mv',
  'rm',
  'mkdir',
  'rmdir',
  'ln',
  'ls',
  'chmod',
  'chown',
  'touch',
  'head',
  'tail',
  'cut',
  'tr',
  'sort',
  'uniq',
  'wc',
  'basename',
  'dirname',
  'mktemp',
  'env',
  'uname',
  'date',
  'sleep',
  'install',
  'sha256sum',
  'md5sum',
  'tee',
  'xargs',
  'find',
  'sed',
  'grep',
  'awk',
  'tar',
  'gzip',
  'gunzip',
  'id',
  'whoami',
  'apt-get',
  'dpkg',
  'realpath',
  'readlink',
  'stat',
  'du',
  'df',
  'seq',
  'expr',
  'nproc',
];
const IMAGE_TOOLS: Record<string, string[]> = {
  'node:20-bookworm': [
    ...DEBIAN_BASE,
    'curl',
    'wget',
    'gpg',
    'git',
    'ssh',
    'ps',
    'gcc',
    'make',
    'unzip',
    'xz',
    'bzip2',
    'file',
    'patch',
    'node',
    'npm',
    'npx',
    'yarn',
    'corepack',
  ],
  'aws/codebuild/amazonlinux-x86_64-standard:5.0': [
    ...DEBIAN_BASE.filter((t) => !['apt-get', 'dpkg'].includes(t)),
    'yum',
    'dnf',
    'curl',
    'wget',
    'git',
    'ssh',
    'unzip',
    'zip',
    'make',
    'gcc',
    'aws',
    'jq',
    'node',
    'npm',
    'npx',
    'yarn',
    'python3',
  ],
};

/** Debian packages a job may install, and the commands they bring. */
const PACKAGE_COMMANDS: Record<string, string[]> = {
  rsync: ['rsync'],
  zip: ['zip'],
  unzip: ['unzip'],
  curl: ['curl'],
  git: ['git'],
};

const SHELL_BUILTINS = new Set([
  'if',
  'then',
  'else',
  'elif',
  'fi',
  'case',
  'esac',
  'for',
  'in',
  'do',
  'done',
  'while',
  'until',
  'function',
  'time',
  '!',
  'test',
  '[',
  '[[',
  ']]',
  'echo',
  'printf',
  'export',
  'set',
  'unset',
  'command',
  'cd',
  'pwd',
  'local',
  'true',
  'false',
  'exit',
  'return',
  'source',
  '.',
  ':',
  'read',
  'eval',
  'exec',
  'shift',
  'trap',
  'wait',
  'type',
  'declare',
  'readonly',
  'break',
  'continue',
  'let',
  'umask',
  'ulimit',
  'hash',
  'alias',
]);

/** Command names a shell script runs (first words of simple commands, `$(...)` included), minus builtins and its own functions. */
export function commandsOf(script: string): Set<string> {
  const functions = new Set([...script.matchAll(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(\)\s*\{/gm)].map((m) => m[1]));
  const segments: string[] = [];
  // Command substitutions first (they hide inside double quotes), innermost out.
  let text = script;
  for (let m = /\$\(([^()]*)\)/.exec(text); m; m = /\$\(([^()]*)\)/.exec(text)) {
    segments.push(m[1]);
    text = text.slice(0, m.index) + 'SUBST' + text.slice(m.index + m[0].length);
  }
  segments.push(text);
  const out = new Set<string>();
  for (const segment of segments) {
    // Comments start a word (`${#X}` is no comment): whole-line ones first, then quotes, then trailing ones.
    const unquoted = segment
      .replace(/^\s*#.*$/gm, '')
      .replace(/"(?:[^"\\]|\\.)*"/g, 'Q')
      .replace(/'[^']*'/g, 'Q')
      .replace(/(^|\s)#.*$/gm, '$1');
    for (let piece of unquoted.split(/\n|;|&&|\|\||\||&|\(|\)|\{|\}|`/)) {
      // A case pattern (`nx)`, `arn:aws:iam::*)`) was cut at its ")": what is left before it is no command.
      if (/^\s*[^\s]+$/.test(piece) && unquoted.includes(`${piece.trim()})`)) continue;
      piece = piece.trim().replace(/^((if|then|else|elif|do|while|until|!|time)\s+)+/, '');
      let words = piece.split(/\s+/).filter(Boolean);
      while (words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0])) words = words.slice(1);
      if (words[0] === 'env') {
        words = words.slice(1);
        while (words.length && (words[0].startsWith('-') || /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0])))
          words = words.slice(words[0] === '-u' ? 2 : 1);
        out.add('env');
      }
      const name = words[0];
      if (!name || !/^[a-z][a-z0-9._+-]*$/.test(name) || SHELL_BUILTINS.has(name) || functions.has(name)) continue;
      out.add(name);
    }
  }
  return out;
}

/** Tools the test suite needs besides Node: the list .ci/run installs on a fresh machine. */
function testSuiteTools(): string[] {
  const run = readFileSync(join(WORKSPACE_ROOT, '.ci/run'), 'utf8');
  const m = /for tool in ([a-z0-9 -]+); do/.exec(run);
  if (!m) throw new Error('.ci/run no longer lists its tools as "for tool in ...; do"');
  return m[1].trim().split(/\s+/);
}

interface Buildspec {
  phases: Record<string, { commands: string[]; finally?: string[] }>;
}

/** What a script gets from buildspecs/install-terraform.sh: terraform installed, and the installer's own tools needed. */
function terraformInstall(script: string, needs: Set<string>, installs: Set<string>): void {
  if (!/bash buildspecs\/install-terraform\.sh/.test(script)) return;
  const installerNeeds = commandsOf(readFileSync(join(WORKSPACE_ROOT, 'buildspecs/install-terraform.sh'), 'utf8'));
  // The installer runs terraform only to see whether it is already there.
  installerNeeds.delete('terraform');
  for (const c of installerNeeds) needs.add(c);
  installs.add('terraform');
}

/** What a buildspec runs, and what its install phase installs. */
function buildspecNeeds(name: string): { needs: Set<string>; installs: Set<string> } {
  const spec = parse(readFileSync(join(WORKSPACE_ROOT, 'buildspecs', `${name}.yml`), 'utf8')) as Buildspec;
  const all = Object.values(spec.phases)
    .flatMap((p) => [...p.commands, ...(p.finally ?? [])])
    .join('\n');
  const needs = commandsOf(all);
  const installs = new Set<string>();
  terraformInstall(all, needs, installs);
  // infra:deploy --apply and biome-destroy --terraform run terraform.
  if (/--apply|--terraform/.test(all) || /terraform="--terraform"/.test(all)) needs.add('terraform');
  return { needs, installs };
}

interface Job {
  image?: { name: string };
  before_script?: string[];
  script?: string[];
  variables?: Record<string, string>;
}

/** Tools a GitLab job needs, and the ones it installs itself, from its expanded scripts. */
function jobNeeds(job: Job, globals: Record<string, string>): { needs: Set<string>; installs: Set<string> } {
  const text = [...(job.before_script ?? []), ...(job.script ?? [])].join('\n');
  const needs = commandsOf(text);
  const installs = new Set<string>();
  for (const m of text.matchAll(/apt-get install ([^;}|&\n]*)/g)) {
    for (const pkg of m[1].split(/\s+/).filter((w) => w && !w.startsWith('-') && !w.startsWith('>')))
      for (const c of PACKAGE_COMMANDS[pkg] ?? [pkg]) installs.add(c);
  }
  terraformInstall(text, needs, installs);
  // The test suite runs the real terraform (test/infra) besides the tools .ci/run installs.
  if (/npx vitest run/.test(text)) for (const t of [...testSuiteTools(), 'terraform']) needs.add(t);
  // BIOME_RUNNER=nx (the default) runs the job's buildspec here, with --local; so does a job that names one with --local.
  const vars = { ...globals, ...(job.variables ?? {}) };
  const buildspecs = new Set<string>();
  if (/npx nx run infra:codebuild/.test(text) && vars.BIOME_RUNNER === 'nx' && vars.BUILDSPEC)
    buildspecs.add(vars.BUILDSPEC);
  for (const m of text.matchAll(/npx nx run infra:codebuild --buildspec=([a-z-]+) --local/g)) buildspecs.add(m[1]);
  for (const name of buildspecs) {
    const spec = buildspecNeeds(name);
    for (const t of spec.needs) needs.add(t);
    for (const t of spec.installs) installs.add(t);
  }
  return { needs, installs };
}

function missing(needs: Set<string>, installs: Set<string>, image: string): string[] {
  const provided = new Set(IMAGE_TOOLS[image] ?? []);
  return [...needs].filter((t) => !provided.has(t) && !installs.has(t)).sort();
}

describe("every job's tools are on its own image (or installed by the job)", () => {
  let pipeline: ExpandedPipeline;
  let jobs: [string, Job][];
  beforeAll(() => {
    pipeline = expandPipeline(readFileSync(join(WORKSPACE_ROOT, '.gitlab-ci.yml'), 'utf8'));
    // The child pipeline the deploy:fanout trigger starts: its jobs run what they run on their own image too.
    const child = expandPipeline(readFileSync(join(WORKSPACE_ROOT, '.gitlab/ci/deploy-fanout.yml'), 'utf8'));
    const scripted = (p: ExpandedPipeline) =>
      Object.entries(p).filter(
        ([name, v]) => !name.startsWith('.') && v && typeof v === 'object' && 'script' in (v as object),
      ) as [string, Job][];
    jobs = [...scripted(pipeline), ...scripted(child)];
  }, 300_000);

  it('the command extraction sees what a script runs, and skips builtins, case patterns, quotes and its own functions', () => {
    const found = commandsOf(
      '# a comment: curl\nf() {\n  rsync a b\n}\n[ "${#X}" -gt 2 ] && echo "(x)" # trailing: wget\ncase "$X" in nx) set -- a ;; arn:aws:*) echo "zip | curl" ;; esac\nv="$(git rev-parse HEAD)" && f | sort\nenv -u A npx vitest\nif [ -n "$A" ]; then terraform version; fi',
    );
    expect([...found].sort()).toEqual(['env', 'git', 'npx', 'rsync', 'sort', 'terraform'].sort());
  });

  it("knows every job's image", () => {
    for (const [name, job] of jobs) expect(Object.keys(IMAGE_TOOLS), name).toContain(job.image?.name);
  });

  it('each GitLab job finds every command it runs (and the test suite every tool .ci/run installs)', () => {
    const globals = (pipeline.variables ?? {}) as Record<string, string>;
    const problems = jobs
      .map(
        ([name, job]) =>
          [
            name,
            missing(...(Object.values(jobNeeds(job, globals)) as [Set<string>, Set<string>]), job.image!.name),
          ] as const,
      )
      .filter(([, m]) => m.length);
    expect(problems).toEqual([]);
  });

  it('the check catches a job that lacks a tool: the test job without its zip install', () => {
    const test = jobs.find(([name]) => name === 'test')![1];
    const without: Job = { ...test, script: test.script!.map((line) => line.replace(/ rsync zip /, ' rsync ')) };
    expect(
      missing(...(Object.values(jobNeeds(without, {})) as [Set<string>, Set<string>]), 'node:20-bookworm'),
    ).toEqual(['zip']);
  });

  it("a deploy job with TERRAFORM_APPLY gets terraform from the buildspec's install phase, and curl/unzip/sha256sum for it are on the image", () => {
    const deploy = jobs.find(([name]) => name === 'deploy:dev')![1];
    const { needs, installs } = jobNeeds(deploy, (pipeline.variables ?? {}) as Record<string, string>);
    expect([...needs]).toEqual(expect.arrayContaining(['terraform', 'curl', 'unzip', 'sha256sum', 'npx']));
    expect([...installs]).toContain('terraform');
  });

  it("the test job installs terraform and mirrors the providers the stacks' lock files pin into TF_PLUGIN_DIR, outside the checkout", () => {
    const test = jobs.find(([name]) => name === 'test')![1];
    const text = [...(test.before_script ?? []), ...(test.script ?? [])].join('\n');
    expect([...jobNeeds(test, {}).installs]).toContain('terraform');
    const dir = /export TF_PLUGIN_DIR=(\S+)/.exec(text)?.[1];
    expect(dir).toBeDefined();
    expect(dir!.startsWith('$CI_PROJECT_DIR')).toBe(false);
    expect(text).toContain('bash tools/ci/terraform-mirror.sh "$TF_PLUGIN_DIR"');
    // The mirror script mirrors every stack, from a copy of infra/, with the tools the image has.
    const mirror = readFileSync(join(WORKSPACE_ROOT, 'tools/ci/terraform-mirror.sh'), 'utf8');
    expect(mirror).toMatch(/for stack in "\$work"\/infra\/stacks\/\*\/; do[\s\S]*providers mirror "\$dir"/);
    expect(missing(commandsOf(mirror), new Set(['terraform']), 'node:20-bookworm')).toEqual([]);
    // Every stack has a lock file, and the mirror serves every provider they pin.
    for (const stack of ['biome', 'devops', 'shared']) {
      const lock = readFileSync(join(WORKSPACE_ROOT, 'infra/stacks', stack, '.terraform.lock.hcl'), 'utf8');
      expect(
        [...lock.matchAll(/provider "([^"]+)"/g)].map((m) => m[1]),
        stack,
      ).toEqual(['registry.terraform.io/hashicorp/aws']);
    }
    // Without the install, the test job would lack terraform.
    const without: Job = { ...test, script: test.script!.filter((line) => !line.includes('install-terraform.sh')) };
    expect(
      missing(...(Object.values(jobNeeds(without, {})) as [Set<string>, Set<string>]), 'node:20-bookworm'),
    ).toEqual(['terraform']);
  });

  it('the fan-out render job runs buildspecs/deploy-batch.yml itself, which installs terraform for an applying render', () => {
    const render = jobs.find(([name]) => name === 'deploy:fanout:render')![1];
    const { needs, installs } = jobNeeds(render, (pipeline.variables ?? {}) as Record<string, string>);
    expect([...needs]).toContain('terraform');
    expect([...installs]).toContain('terraform');
  });

  it.each(['deploy', 'deploy-batch', 'promote', 'destroy'])(
    'buildspecs/%s.yml finds everything it runs on the CodeBuild standard image',
    (name) => {
      const { needs, installs } = buildspecNeeds(name);
      expect(missing(needs, installs, 'aws/codebuild/amazonlinux-x86_64-standard:5.0')).toEqual([]);
    },
  );
});
