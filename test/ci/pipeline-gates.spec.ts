import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { WORKSPACE_ROOT } from '../support/workspace';
import {
  evaluateIf,
  expandPipeline,
  ExpandedPipeline,
  jobsFor,
  listJobs,
  ModelJob,
  PipelineModel,
} from './gitlab-model';

const CI_YAML = readFileSync(join(WORKSPACE_ROOT, '.gitlab-ci.yml'), 'utf8');

/** Predefined variables of a push pipeline on the default branch. */
const MAIN = {
  CI_PIPELINE_SOURCE: 'push',
  CI_COMMIT_BRANCH: 'main',
  CI_DEFAULT_BRANCH: 'main',
  GITLAB_USER_LOGIN: 'alice',
};
/** Predefined variables of a merge request pipeline (no branch: empty, as gitlab-ci-local would set its own). */
const MR = {
  CI_PIPELINE_SOURCE: 'merge_request_event',
  CI_MERGE_REQUEST_IID: '7',
  CI_COMMIT_BRANCH: '',
  CI_DEFAULT_BRANCH: 'main',
  GITLAB_USER_LOGIN: 'alice',
};

/** The same file with promote:staging as it was: an optional manual job (allow_failure: true). */
function withOptionalStagingPromotion(yaml: string): string {
  const start = yaml.indexOf('promote:staging:');
  const end = yaml.indexOf('promote:prod:');
  const block = yaml.slice(start, end).replace('allow_failure: false', 'allow_failure: true');
  expect(block).toContain('allow_failure: true');
  return yaml.slice(0, start) + block + yaml.slice(end);
}

describe('rules:if expressions, as GitLab evaluates them', () => {
  it.each([
    ['$A == "x"', { A: 'x' }, true],
    ['$A == "x"', {}, false],
    ['$A != "x"', {}, true],
    ['$A && $B', { A: '1', B: '' }, false],
    ['$A || $B', { B: '1' }, true],
    ['$A != "s" && ($B == "m" || $C)', { B: 'm' }, true],
    ['$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH', { CI_COMMIT_BRANCH: 'main', CI_DEFAULT_BRANCH: 'main' }, true],
  ])('%s with %j is %s', (expression, vars, expected) => {
    expect(evaluateIf(expression, vars)).toBe(expected);
  });
});

describe("the pipeline gates, on the expanded .gitlab-ci.yml, by GitLab's processing rules", () => {
  let pipeline: ExpandedPipeline;
  let main: ModelJob[];

  beforeAll(() => {
    pipeline = expandPipeline(CI_YAML);
    main = jobsFor(pipeline, MAIN);
  }, 300_000);

  const model = (jobs: ModelJob[], outcomes: Record<string, 'success' | 'failed'> = {}) =>
    new PipelineModel(jobs, pipeline.stages, outcomes);

  it('the model reads the rules as gitlab-ci-local does (when; allow_failure where the file states it)', () => {
    for (const vars of [MAIN, MR, { ...MAIN, MAIN_ORCHESTRATOR: 'codepipeline' }]) {
      const theirs = listJobs(CI_YAML, vars).filter((j) => j.when !== 'never');
      const ours = jobsFor(pipeline, vars);
      expect(ours.map((j) => [j.name, j.when]).sort()).toEqual(theirs.map((j) => [j.name, j.when]).sort());
      // gitlab-ci-local defaults a manual rule to allow_failure: true; GitLab to false. The file states it
      // on every manual rule, so the two must agree.
      for (const j of ours) expect(j.allowFailure, j.name).toBe(theirs.find((t) => t.name === j.name)!.allow_failure);
    }
  }, 300_000);

  it('main: staging and prod promotions are blocking manual jobs, and prod needs staging', () => {
    const byName = Object.fromEntries(main.map((j) => [j.name, j]));
    expect(byName['promote:staging']).toMatchObject({ when: 'manual', allowFailure: false });
    expect(byName['promote:prod']).toMatchObject({ when: 'manual', allowFailure: false, needs: ['promote:staging'] });
  });

  it('main: after deploy:dev, staging is playable and prod is not; prod becomes playable once staging succeeded', () => {
    const p = model(main);
    expect(p.status.get('deploy:dev')).toBe('success');
    expect(p.playable('promote:staging')).toBe(true);
    expect(p.playable('promote:prod')).toBe(false);
    expect(p.pipelineStatus()).toBe('manual');
    p.play('promote:staging');
    expect(p.status.get('promote:staging')).toBe('success');
    expect(p.playable('promote:prod')).toBe(true);
    p.play('promote:prod');
    expect(p.pipelineStatus()).toBe('success');
  });

  it('main: a failing staging promotion fails the pipeline and leaves prod not playable', () => {
    const p = model(main, { 'promote:staging': 'failed' }).play('promote:staging');
    expect(p.status.get('promote:staging')).toBe('failed');
    expect(p.status.get('promote:prod')).toBe('skipped');
    expect(p.playable('promote:prod')).toBe(false);
    expect(p.pipelineStatus()).toBe('failed');
  });

  it('the same model finds the defect in the old definition: an allowed-to-fail staging promotion unlocks prod', () => {
    const old = expandPipeline(withOptionalStagingPromotion(CI_YAML));
    const p = new PipelineModel(jobsFor(old, MAIN), old.stages, { 'promote:staging': 'failed' }).play(
      'promote:staging',
    );
    expect(p.status.get('promote:staging')).toBe('failed');
    expect(p.playable('promote:prod')).toBe(true);
    expect(p.pipelineStatus()).not.toBe('failed');
  }, 300_000);

  it('main: a failed deploy:dev skips both promotions', () => {
    const p = model(main, { 'deploy:dev': 'failed' });
    expect(p.status.get('promote:staging')).toBe('skipped');
    expect(p.status.get('promote:prod')).toBe('skipped');
  });

  it('main: stop:personal stays playable while the pipeline waits at its promotions', () => {
    const p = model(main);
    expect(p.playable('stop:personal')).toBe(true);
    expect(p.playable('deploy:personal')).toBe(true);
  });

  it('main with MAIN_ORCHESTRATOR=codepipeline: no GitLab job deploys or promotes main', () => {
    const names = jobsFor(pipeline, { ...MAIN, MAIN_ORCHESTRATOR: 'codepipeline' }).map((j) => j.name);
    expect(names).not.toContain('deploy:dev');
    expect(names.filter((n) => n.startsWith('promote:'))).toEqual([]);
    expect(names).toEqual(expect.arrayContaining(['lint', 'typecheck', 'test', 'build']));
  });

  it('merge request: deploy:mr runs after verify, and stop:mr is playable; a failed verify skips the deploy', () => {
    const mr = jobsFor(pipeline, MR);
    const ok = model(mr);
    expect(ok.status.get('deploy:mr')).toBe('success');
    expect(ok.playable('stop:mr')).toBe(true);
    expect(mr.map((j) => j.name)).not.toContain('promote:staging');
    const broken = model(mr, { test: 'failed' });
    expect(broken.status.get('deploy:mr')).toBe('skipped');
  });
});
