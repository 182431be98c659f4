import { describe, expect, it } from 'vitest';
import { cacheEntryKey, encodeRefSegment, isCacheHash, planCacheScopes } from './build-cache';

describe('build cache scopes', () => {
  it('the default branch reads and writes main only', () => {
    expect(planCacheScopes({ mainBranch: 'main', env: { CI_COMMIT_REF_NAME: 'main' } })).toEqual({ write: 'main', read: ['main'] });
    expect(planCacheScopes({ mainBranch: 'trunk', env: { CODEBUILD_WEBHOOK_HEAD_REF: 'refs/heads/trunk' } })).toEqual({ write: 'main', read: ['main'] });
  });

  it('a merge request writes its source branch scope and reads it, then main', () => {
    const env = { CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'feature/x', CI_COMMIT_REF_NAME: 'refs/merge-requests/7/head' };
    expect(planCacheScopes({ mainBranch: 'main', env })).toEqual({ write: 'branches/feature~2fx', read: ['branches/feature~2fx', 'main'] });
  });

  it('CodeBuild source versions and explicit refs count; no ref at all is never main', () => {
    expect(planCacheScopes({ mainBranch: 'main', env: { CODEBUILD_SOURCE_VERSION: 'refs/heads/dev-bob' } }).write).toBe('branches/dev-bob');
    expect(planCacheScopes({ mainBranch: 'main', env: { CODEBUILD_SOURCE_VERSION: '0123abcd' } }).write).toBe('branches/local');
    expect(planCacheScopes({ ref: 'main', mainBranch: 'main', env: { CI_COMMIT_REF_NAME: 'other' } }).write).toBe('main');
    expect(planCacheScopes({ mainBranch: 'main', env: {} })).toEqual({ write: 'branches/local', read: ['branches/local', 'main'] });
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
    expect(() => planCacheScopes({ mainBranch: ' ', env: {} })).toThrow(expect.objectContaining({ code: 'OPTIONS_INVALID', hint: expect.stringContaining('--mainBranch') }));
  });
});
