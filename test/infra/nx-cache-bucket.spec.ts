import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { INFRA_ROOT, loadTerraformDir, policyStatements, PolicyStatement, TerraformDir } from './hcl';

// The shared Nx cache bucket of the devops stack (infra/stacks/devops/cache.tf):
// who may write main's scope is the whole point of it (cache poisoning).

const text = (v: unknown) => JSON.stringify(v);

describe('the shared Nx cache bucket', () => {
  let devops: TerraformDir;
  let statements: PolicyStatement[];
  const of = (doc: string) => statements.filter((s) => s.document === doc);
  const writes = (s: PolicyStatement) => s.effect === 'Allow' && text(s.actions).includes('s3:PutObject');

  beforeAll(async () => {
    devops = await loadTerraformDir(join(INFRA_ROOT, 'stacks/devops'));
    statements = policyStatements(devops);
  });

  it('is private, encrypted, TLS-only and expires main and branch entries (branches sooner)', () => {
    const r = devops.resources;
    expect(r.aws_s3_bucket_public_access_block.nx_cache).toMatchObject({ block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true });
    expect(text(r.aws_s3_bucket_server_side_encryption_configuration.nx_cache)).toContain('"sse_algorithm":"AES256"');
    expect(text(r.aws_s3_bucket_ownership_controls.nx_cache)).toContain('BucketOwnerEnforced');
    const lifecycle = text(r.aws_s3_bucket_lifecycle_configuration.nx_cache);
    for (const s of ['${local.nx_cache_prefix}/main/', '${local.nx_cache_prefix}/branches/', 'var.nx_cache_main_expiry_days', 'var.nx_cache_branch_expiry_days', 'abort_incomplete_multipart_upload']) expect(lifecycle).toContain(s);
    expect(devops.variables.nx_cache_branch_expiry_days.default).toBeLessThan(devops.variables.nx_cache_main_expiry_days.default as number);
    const tls = of('nx_cache_bucket').find((s) => s.conditions.some((c) => c.variable === 'aws:SecureTransport'));
    expect(tls?.effect).toBe('Deny');
  });

  it('only the release role writes main\'s scope: its policy writes main/ only, the bucket denies everyone else', () => {
    const release = of('nx_cache_release').filter(writes);
    expect(release.length).toBeGreaterThan(0);
    for (const s of release) expect(text(s.resources)).not.toContain('branches/');
    const deny = of('nx_cache_bucket').find((s) => s.effect === 'Deny' && text(s.actions).includes('s3:PutObject'))!;
    expect(text(deny.resources)).toContain('/main/*');
    expect(deny.conditions).toEqual([{ test: 'ArnNotEquals', variable: 'aws:PrincipalArn', values: expect.anything() }]);
    expect(text(deny.conditions[0].values)).toContain('aws_iam_role.gitlab_release.arn');
  });

  it('branch jobs and CodeBuild read main and branch scopes but write branch scopes only; misses are 404 (ListBucket on the scopes)', () => {
    const branch = of('nx_cache_branch');
    const written = branch.filter(writes).flatMap((s) => s.resources.map(text));
    expect(written.length).toBeGreaterThan(0);
    for (const r of written) {
      expect(r).toContain('/branches/*');
      expect(r).not.toContain('/main/');
    }
    expect(text(branch.filter((s) => text(s.actions).includes('s3:GetObject')).map((s) => s.resources))).toContain('/main/*');
    expect(text(branch.find((s) => text(s.actions).includes('s3:ListBucket'))?.conditions)).toContain('s3:prefix');
    const attached = devops.resources.aws_iam_role_policy;
    expect(text(attached.gitlab_sandpit_nx_cache.policy)).toContain('nx_cache_branch');
    expect(text(attached.codebuild_nx_cache.policy)).toContain('nx_cache_branch');
    expect(text(attached.gitlab_release_nx_cache.policy)).toContain('nx_cache_release');
  });

  it('CodeBuild jobs get the cache location, and the stack outputs it for GitLab', () => {
    expect(text(devops.modules.codebuild.environment_variables)).toContain('BIOME_NX_CACHE');
    expect(text(devops.outputs.nx_cache_url.value)).toContain('aws_s3_bucket.nx_cache.bucket');
  });
});
