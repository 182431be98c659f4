import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { WORKSPACE_ROOT } from '../support/workspace';
import { listJobs } from './gitlab-model';

/** The manual HCP Terraform check job, as gitlab-ci-local expands the real .gitlab-ci.yml. */

const CI_YAML = readFileSync(join(WORKSPACE_ROOT, '.gitlab-ci.yml'), 'utf8');
const MAIN = {
  CI_PIPELINE_SOURCE: 'push',
  CI_COMMIT_BRANCH: 'main',
  CI_DEFAULT_BRANCH: 'main',
  GITLAB_USER_LOGIN: 'alice',
};
const MR = {
  CI_PIPELINE_SOURCE: 'merge_request_event',
  CI_MERGE_REQUEST_IID: '7',
  CI_COMMIT_BRANCH: '',
  CI_DEFAULT_BRANCH: 'main',
  GITLAB_USER_LOGIN: 'alice',
};
const JOB = 'hcp-terraform:plan';
const job = (vars: Record<string, string>) => listJobs(CI_YAML, vars).find((j) => j.name === JOB);

describe('hcp-terraform:plan', () => {
  it('is a manual, non-blocking job of the default branch, only where HCP_TERRAFORM_ORGANIZATION is set', () => {
    expect(job({ ...MAIN, HCP_TERRAFORM_ORGANIZATION: 'geo-platform' })).toMatchObject({
      when: 'manual',
      allow_failure: true,
    });
    expect(job(MAIN)?.when ?? 'never').toBe('never');
    expect(job({ ...MR, HCP_TERRAFORM_ORGANIZATION: 'geo-platform' })?.when ?? 'never').toBe('never');
    expect(
      job({ ...MAIN, CI_COMMIT_BRANCH: 'feature', HCP_TERRAFORM_ORGANIZATION: 'geo-platform' })?.when ?? 'never',
    ).toBe('never');
  }, 300_000);

  it('plans a throwaway sandpit only (never --apply), deletes it afterwards and reports the run URL', () => {
    const def = (
      parse(CI_YAML) as Record<
        string,
        {
          script: string[];
          after_script: string[];
          variables: Record<string, string>;
          artifacts: { reports: { dotenv: string } };
        }
      >
    )[JOB];
    const script = def.script.join('\n');
    expect(def.variables.HCP_CHECK_BIOME).toMatch(/^dev-hcp/);
    expect(script).toContain('npx nx run infra:deploy --biome="$HCP_CHECK_BIOME" --planOnly');
    expect(script).not.toContain('--apply');
    expect(script).toContain('backend:"cloud"');
    expect(def.after_script.join('\n')).toContain('infra:biome-destroy --biome="$HCP_CHECK_BIOME" --ifExists');
    expect(def.artifacts.reports.dotenv).toBe('hcp-terraform.env');
    expect(script).toContain('cp "dist/terraform/$HCP_CHECK_BIOME.hcp-terraform.env" hcp-terraform.env');
  });
});
