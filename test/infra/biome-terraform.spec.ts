import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyWorkspace, TempWorkspace } from '../support/workspace';
import { checkTfvars, INFRA_ROOT, loadTerraformDir } from './hcl';
import { copyInfraForCli, initOffline, offlineTerraform, unavailable } from './terraform-cli';

/**
 * End to end: the tfvars the plugin REALLY renders for the sample workspace
 * (a real `nx run-many -t deploy` on a temporary copy) against the biome stack,
 * and the biome-level deploy step driving terraform (missing binary, and a
 * stand-in binary that records what it is asked to do).
 */

const BIOME = 'dev-tf';
const COMMANDS = [
  ['-chdir=infra/stacks/biome', 'init', '-input=false'],
  ['-chdir=infra/stacks/biome', 'workspace', 'select', '-or-create', BIOME],
  [
    '-chdir=infra/stacks/biome',
    'plan',
    '-input=false',
    `-var-file=../../../dist/terraform/${BIOME}.tfvars.json`,
    `-out=${BIOME}.tfplan`,
  ],
  ['-chdir=infra/stacks/biome', 'apply', '-input=false', `${BIOME}.tfplan`],
];

/** PATH without any folder that holds a terraform binary (this machine may have one). */
function pathWithoutTerraform(): string {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir && !existsSync(join(dir, 'terraform')))
    .join(delimiter);
}

let ws: TempWorkspace;
let deployOutput: string;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered tfvars, explored by path in assertions
let tfvars: Record<string, any>;

beforeAll(async () => {
  ws = await copyWorkspace('infra-tf-');
  const run = await ws.nx(['run-many', '-t', 'deploy', `--biome=${BIOME}`, '--output-style=static'], {
    PATH: pathWithoutTerraform(),
    TERRAFORM_BINARY: '',
  });
  deployOutput = run.output;
  expect(run.code, run.output).toBe(0);
  tfvars = JSON.parse(await readFile(join(ws.root, `dist/terraform/${BIOME}.tfvars.json`), 'utf8'));
}, 300_000);

afterAll(async () => {
  await ws?.cleanup();
});

describe('the tfvars a real deploy renders, against infra/stacks/biome', () => {
  it('sets only declared variables, with the declared shapes, and every required variable', async () => {
    const stack = await loadTerraformDir(join(INFRA_ROOT, 'stacks/biome'));
    expect(tfvars.biome).toBe(BIOME);
    expect(Object.keys(tfvars.services).length).toBeGreaterThan(0);
    // Every kind the sample workspace holds is in the check, not only services.
    for (const kind of ['workflows', 'models']) {
      const dir = join(ws.root, 'apps', kind);
      const projects = existsSync(dir) ? readdirSync(dir).filter((p) => existsSync(join(dir, p, 'project.json'))) : [];
      expect(Object.keys(tfvars[kind]).sort(), kind).toEqual(expect.arrayContaining(projects));
    }
    expect(checkTfvars(tfvars, stack.variables)).toEqual([]);
    // The deploy printed every command --apply would run, apply included, after the backend settings of a sandpit; it ran none.
    for (const argv of COMMANDS) expect(deployOutput).toContain(`terraform ${argv.join(' ')}`);
    expect(deployOutput).toContain('export TF_CLI_ARGS_init="-backend-config=backends/dev-sandpit.s3.tfbackend"');
  });

  it('plans and applies with terraform (mocked providers, offline) when a binary and a local aws provider are there', async (ctx) => {
    const tf = await offlineTerraform();
    const why = unavailable(tf);
    if (why) {
      if (process.env.CI === 'true') throw new Error(`${why}: CI must run the real-provider checks.`);
      console.log(
        `${why}: skipping \`terraform test\` of the rendered tfvars (the static shape check above still ran).`,
      );
      ctx.skip();
      return;
    }
    const copy = await copyInfraForCli();
    try {
      await initOffline(tf!, copy.biomeStack);
      await tf!.exec(['workspace', 'select', '-or-create', BIOME], copy.biomeStack);
      const out = await tf!.exec(
        ['test', '-no-color', `-var-file=${join(ws.root, `dist/terraform/${BIOME}.tfvars.json`)}`],
        copy.biomeStack,
        { timeoutMs: 300_000 },
      );
      expect(out).toMatch(/run "rendered_biome_plans"\.\.\. pass/);
      expect(out).toMatch(/run "rendered_biome_applies"\.\.\. pass/);
      expect(out).toMatch(/run "sandpit_in_single_tenant_environment_is_refused"\.\.\. pass/);
    } finally {
      await copy.cleanup();
    }
  }, 400_000);
});

describe('nx run infra:deploy --apply', () => {
  it('without terraform on PATH fails with TERRAFORM_MISSING and prints the exact commands', async () => {
    const run = await ws.nx(['run', 'infra:deploy', `--biome=${BIOME}`, '--apply', '--output-style=static'], {
      PATH: pathWithoutTerraform(),
      TERRAFORM_BINARY: '',
    });
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('TERRAFORM_MISSING');
    for (const argv of COMMANDS) expect(run.output).toContain(`terraform ${argv.join(' ')}`);
  });

  it('with a terraform on PATH runs init, workspace select -or-create, plan with the rendered tfvars, apply, in order', async () => {
    const bin = join(ws.root, 'tmp/fake-bin');
    const record = join(ws.root, 'tmp/terraform-argv.jsonl');
    await mkdir(bin, { recursive: true });
    // A local stand-in: records its argv and cwd; for plan, fails unless the
    // -var-file resolves (from -chdir) to the rendered tfvars.
    await writeFile(
      join(bin, 'terraform'),
      [
        '#!/usr/bin/env node',
        "const fs = require('node:fs'); const path = require('node:path');",
        'const argv = process.argv.slice(2);',
        "fs.appendFileSync(process.env.TF_RECORD, JSON.stringify({ argv, cwd: process.cwd() }) + '\\n');",
        "const chdir = (argv.find((a) => a.startsWith('-chdir=')) || '-chdir=.').slice(7);",
        "const varFile = argv.find((a) => a.startsWith('-var-file='));",
        "if (argv.includes('plan') && !(varFile && fs.existsSync(path.resolve(chdir, varFile.slice(10))))) { console.error('var file not found: ' + varFile); process.exit(3); }",
        "console.log('stand-in terraform ' + argv.join(' '));",
        '',
      ].join('\n'),
    );
    await chmod(join(bin, 'terraform'), 0o755);
    const run = await ws.nx(['run', 'infra:deploy', `--biome=${BIOME}`, '--apply', '--output-style=static'], {
      PATH: `${bin}${delimiter}${pathWithoutTerraform()}`,
      TERRAFORM_BINARY: '',
      TF_RECORD: record,
    });
    expect(run.code, run.output).toBe(0);
    const calls = (await readFile(record, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { argv: string[]; cwd: string });
    expect(calls.map((c) => c.argv)).toEqual(COMMANDS);
    expect(new Set(calls.map((c) => c.cwd))).toEqual(new Set([ws.root]));

    // init failing without backend settings (as the S3 backend does): the fix names TF_CLI_ARGS_init and the biome's backend file.
    await writeFile(
      join(bin, 'terraform'),
      [
        '#!/usr/bin/env node',
        "if (process.argv.includes('init')) { console.error('Error: No value for required variable \"bucket\"'); process.exit(1); }",
        '',
      ].join('\n'),
    );
    const failed = await ws.nx(['run', 'infra:deploy', `--biome=${BIOME}`, '--apply', '--output-style=static'], {
      PATH: `${bin}${delimiter}${pathWithoutTerraform()}`,
      TERRAFORM_BINARY: '',
      TF_CLI_ARGS_init: '',
    });
    expect(failed.code).not.toBe(0);
    expect(failed.output).toMatch(
      /TERRAFORM_FAILED: terraform -chdir=infra\/stacks\/biome init -input=false exited with 1/,
    );
    expect(failed.output).toMatch(
      /fix: The biome stack keeps its state in S3 and takes the backend settings at init, and none were given: export TF_CLI_ARGS_init="-backend-config=backends\/dev-sandpit\.s3\.tfbackend"/,
    );
  });
});
