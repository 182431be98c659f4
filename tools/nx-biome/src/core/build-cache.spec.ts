import { describe, expect, it } from 'vitest';
import { cacheEntryKey, encodeRefSegment, isCacheHash, planCacheScopes, subjectOfIdToken } from './build-cache';

describe('build cache scopes', () => {
  it('the default branch reads and writes main only', () => {
    expect(planCacheScopes({ mainBranch: 'main', env: { CI_COMMIT_REF_NAME: 'main' } })).toEqual({
      write: 'main',
      read: ['main'],
    });
    expect(planCacheScopes({ mainBranch: 'trunk', env: { CODEBUILD_WEBHOOK_HEAD_REF: 'refs/heads/trunk' } })).toEqual({
      write: 'main',
      read: ['main'],
    });
  });

  it('a merge request writes its source branch scope and reads it, then main', () => {
    const env = { CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'feature/x', CI_COMMIT_REF_NAME: 'refs/merge-requests/7/head' };
    expect(planCacheScopes({ mainBranch: 'main', env })).toEqual({
      write: 'branches/feature~2fx',
      read: ['branches/feature~2fx', 'main'],
    });
  });

  it('CodeBuild source versions and explicit refs count; a job that names no ref writes nothing and reads main only', () => {
    expect(planCacheScopes({ mainBranch: 'main', env: { CODEBUILD_SOURCE_VERSION: 'refs/heads/dev-bob' } }).write).toBe(
      'branches/dev-bob',
    );
    expect(planCacheScopes({ mainBranch: 'main', env: { CODEBUILD_SOURCE_VERSION: '0123abcd' } })).toEqual({
      write: undefined,
      read: ['main'],
    });
    expect(planCacheScopes({ ref: 'main', mainBranch: 'main', env: { CI_COMMIT_REF_NAME: 'other' } }).write).toBe(
      'main',
    );
    expect(planCacheScopes({ mainBranch: 'main', env: {} })).toEqual({ write: undefined, read: ['main'] });
  });

  it('a job signed in with a GitLab ID token writes only the folder of its token subject, ended by ~ (no ref holds ~)', () => {
    const sub = 'project_path:geo/platform:ref_type:branch:ref:feature/x';
    expect(planCacheScopes({ mainBranch: 'main', env: { CI_COMMIT_REF_NAME: 'feature/x' }, subject: sub })).toEqual({
      write: `branches/${sub}/~`,
      read: [`branches/${sub}/~`, 'main'],
    });
    // Branch "feature" cannot reach into "feature/x": its folder ends at ".../ref:feature/~".
    const parent = planCacheScopes({
      mainBranch: 'main',
      env: { CI_COMMIT_REF_NAME: 'feature' },
      subject: 'project_path:geo/platform:ref_type:branch:ref:feature',
    }).write!;
    expect(`branches/${sub}/~/1.tar.gz`.startsWith(`${parent}/`)).toBe(false);
    for (const bad of ['a*b', 'a?b', 'x/../main', '../x', 'a~b', 'a b', 'x'.repeat(600)])
      expect(
        () => planCacheScopes({ mainBranch: 'main', env: { CI_COMMIT_REF_NAME: 'f' }, subject: bad }),
        bad,
      ).toThrow(expect.objectContaining({ code: 'OPTIONS_INVALID' }));
    const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
    expect(subjectOfIdToken(jwt({ sub, aud: 'sts.amazonaws.com' }))).toBe(sub);
    for (const bad of ['', 'not-a-jwt', jwt({ aud: 'x' }), 'e30.!!!.x']) expect(subjectOfIdToken(bad)).toBeUndefined();
  });

  it('a stated scope (BIOME_NX_CACHE_SCOPE, --scope) wins over the ref; anything else is refused with the choices', () => {
    expect(planCacheScopes({ mainBranch: 'main', env: { BIOME_NX_CACHE_SCOPE: 'main' } })).toEqual({
      write: 'main',
      read: ['main'],
    });
    expect(
      planCacheScopes({ mainBranch: 'main', env: { BIOME_NX_CACHE_SCOPE: 'none', CI_COMMIT_REF_NAME: 'main' } }),
    ).toEqual({ write: undefined, read: ['main'] });
    // "branch" on the default branch still names the branch, never main.
    expect(planCacheScopes({ mainBranch: 'main', scope: 'branch', env: { CI_COMMIT_REF_NAME: 'main' } }).write).toBe(
      'branches/main',
    );
    expect(planCacheScopes({ mainBranch: 'main', scope: 'branch', env: {} })).toEqual({
      write: undefined,
      read: ['main'],
    });
    expect(() => planCacheScopes({ mainBranch: 'main', env: { BIOME_NX_CACHE_SCOPE: 'everything' } })).toThrow(
      expect.objectContaining({
        code: 'OPTIONS_INVALID',
        hint: expect.stringContaining('main (the protected branch), branch (this branch) or none'),
      }),
    );
  });

  // What each job of each orchestrator gets in its environment, and where it may write (docs/pipeline.md, "Shared build cache").
  // IAM then refuses any write a job's principal may not make: infra/stacks/devops/cache.tf, checked in test/infra/iam-simulate.spec.ts.
  const SUB = (ref: string) => `project_path:geo/platform:ref_type:branch:ref:${ref}`;
  it.each([
    [
      'gitlab',
      'deploy:dev, BIOME_RUNNER=nx (release role)',
      { env: { CI_DEFAULT_BRANCH: 'main', CI_COMMIT_REF_NAME: 'main' }, subject: SUB('main') },
      'main',
      ['main'],
    ],
    [
      'gitlab',
      'deploy:dev, BIOME_RUNNER=codebuild (geo-deploy-dev)',
      { env: { CI_COMMIT_REF_NAME: 'main', BIOME_NX_CACHE_SCOPE: 'main' } },
      'main',
      ['main'],
    ],
    [
      'gitlab',
      'deploy:mr, BIOME_RUNNER=nx (sandpit role)',
      {
        env: { CI_DEFAULT_BRANCH: 'main', CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'feat', CI_COMMIT_REF_NAME: 'feat' },
        subject: SUB('feat'),
      },
      `branches/${SUB('feat')}/~`,
      [`branches/${SUB('feat')}/~`, 'main'],
    ],
    [
      'gitlab',
      'deploy:mr, BIOME_RUNNER=codebuild (geo-deploy-dev-sandpit)',
      { env: { CI_COMMIT_REF_NAME: 'feat', BIOME_NX_CACHE_SCOPE: 'none' } },
      undefined,
      ['main'],
    ],
    [
      'gitlab',
      'a branch job that claims to be main (IAM refuses its writes)',
      { env: { CI_DEFAULT_BRANCH: 'main', CI_COMMIT_REF_NAME: 'main' }, subject: SUB('feat') },
      'main',
      ['main'],
    ],
    [
      'codepipeline',
      'DeployDev (geo-deploy-dev, source CODEPIPELINE, no ref)',
      { env: { CODEBUILD_SOURCE_VERSION: 'a'.repeat(40), BIOME_NX_CACHE_SCOPE: 'main' } },
      'main',
      ['main'],
    ],
    [
      'codepipeline',
      'the same build without a stated scope (before: branches/local, which every branch wrote)',
      { env: { CODEBUILD_SOURCE_VERSION: 'a'.repeat(40) } },
      undefined,
      ['main'],
    ],
    [
      'codepipeline',
      'deploy:mr, BIOME_RUNNER=nx (sandpit role)',
      { env: { CI_COMMIT_REF_NAME: 'feat' }, subject: SUB('feat') },
      `branches/${SUB('feat')}/~`,
      [`branches/${SUB('feat')}/~`, 'main'],
    ],
    [
      'codepipeline',
      'deploy:mr, BIOME_RUNNER=codebuild (geo-deploy-dev-sandpit)',
      { env: { CI_COMMIT_REF_NAME: 'feat', BIOME_NX_CACHE_SCOPE: 'none' } },
      undefined,
      ['main'],
    ],
  ] as const)('orchestrator %s, %s: writes %s', (_orchestrator, _job, input, write, read) => {
    expect(planCacheScopes({ mainBranch: 'main', ...input })).toEqual({ write, read });
  });

  it('encodes refs injectively into one key segment', () => {
    expect(encodeRefSegment('a/b')).not.toBe(encodeRefSegment('a-b'));
    expect(encodeRefSegment('a~2fb')).not.toBe(encodeRefSegment('a/b'));
    expect(encodeRefSegment('../main')).toBe('..~2fmain');
    expect(encodeRefSegment('ü')).toBe('~c3~bc');
    expect(encodeRefSegment('..')).toBe('~2e~2e');
  });

  it('accepts Nx task hashes only, and refuses bad options with a fix', () => {
    expect(isCacheHash('13729273940934829')).toBe(true);
    for (const bad of ['', '..', 'a/b', 'a.b', 'x'.repeat(129)]) expect(isCacheHash(bad)).toBe(false);
    expect(cacheEntryKey('main', '123')).toBe('main/123.tar.gz');
    expect(() => cacheEntryKey('main', '../x')).toThrow(expect.objectContaining({ code: 'OPTIONS_INVALID' }));
    expect(() => planCacheScopes({ mainBranch: ' ', env: {} })).toThrow(
      expect.objectContaining({ code: 'OPTIONS_INVALID', hint: expect.stringContaining('--mainBranch') }),
    );
  });
});
