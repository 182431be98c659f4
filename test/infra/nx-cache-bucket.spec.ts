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
    expect(r.aws_s3_bucket_public_access_block.nx_cache).toMatchObject({
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(text(r.aws_s3_bucket_server_side_encryption_configuration.nx_cache)).toContain('"sse_algorithm":"AES256"');
    expect(text(r.aws_s3_bucket_ownership_controls.nx_cache)).toContain('BucketOwnerEnforced');
    const lifecycle = text(r.aws_s3_bucket_lifecycle_configuration.nx_cache);
    for (const s of [
      '${local.nx_cache_prefix}/main/',
      '${local.nx_cache_prefix}/branches/',
      'var.nx_cache_main_expiry_days',
      'var.nx_cache_branch_expiry_days',
      'abort_incomplete_multipart_upload',
    ])
      expect(lifecycle).toContain(s);
    expect(devops.variables.nx_cache_branch_expiry_days.default).toBeLessThan(
      devops.variables.nx_cache_main_expiry_days.default as number,
    );
    const tls = of('nx_cache_bucket').find((s) => s.conditions.some((c) => c.variable === 'aws:SecureTransport'));
    expect(tls?.effect).toBe('Deny');
  });

  // What each principal may write is simulated on the rendered documents (iam-simulate.spec.ts); here, the shape of the code.
  it("main's builders write main's scope only, and the bucket denies everyone else, any replacement and any delete", () => {
    const release = of('nx_cache_release').filter(writes);
    expect(release.length).toBeGreaterThan(0);
    for (const s of release) expect(text(s.resources)).not.toContain('branches/');
    const bucket = of('nx_cache_bucket').filter((s) => s.effect === 'Deny');
    const mainDeny = bucket.find((s) => text(s.resources).includes('/main/*'))!;
    expect(mainDeny.conditions).toEqual([
      { test: 'ArnNotEquals', variable: 'aws:PrincipalArn', values: expect.anything() },
    ]);
    expect(text(mainDeny.conditions[0].values)).toContain('local.nx_cache_main_writers');
    const writers = text(devops.locals.find((l) => 'nx_cache_main_writers' in l));
    expect(writers).toContain('job.trust == \\"main\\"');
    expect(writers).toContain('aws_iam_role.gitlab_release.arn');
    expect(text(bucket.find((s) => s.conditions.some((c) => c.variable === 's3:if-none-match'))?.actions)).toContain(
      's3:PutObject',
    );
    expect(text(bucket.map((s) => s.actions))).toContain('s3:DeleteObject');
  });

  it("a branch job writes only the folder of its token's sub; sandpit CodeBuild projects write nothing; misses are 404 (ListBucket on the scopes)", () => {
    const branch = of('nx_cache_branch');
    const written = branch.filter(writes).flatMap((s) => s.resources.map(text));
    expect(written.length).toBeGreaterThan(0);
    for (const r of written) expect(r).toContain('/branches/&{${local.gitlab_host}:sub}/~/*');
    expect(text(branch.find((s) => text(s.actions).includes('s3:ListBucket'))?.conditions)).toContain('s3:prefix');
    expect(of('nx_cache_read_main').filter(writes)).toEqual([]);
    const attached = devops.resources.aws_iam_role_policy;
    expect(text(attached.gitlab_sandpit_nx_cache.policy)).toContain('nx_cache_branch');
    expect(text(attached.codebuild_nx_cache.policy)).toContain('nx_cache_read_main');
    expect(text(attached.codebuild_nx_cache.policy)).toContain('nx_cache_release');
  });

  it('CodeBuild jobs get the cache location, and the stack outputs it for GitLab', () => {
    expect(text(devops.modules.codebuild.environment_variables)).toContain('BIOME_NX_CACHE');
    expect(text(devops.outputs.nx_cache_url.value)).toContain('aws_s3_bucket.nx_cache.bucket');
  });
});
