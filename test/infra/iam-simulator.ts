import { runSimulation, type Simulation, type SimulationIdentityPolicy } from '@cloud-copilot/iam-simulate';
import { StateInstance } from './iam-render';

/**
 * Questions to the IAM simulator (@cloud-copilot/iam-simulate) about the
 * documents Terraform rendered (iam-render.ts): a principal is a role of the
 * state with its inline and attached policies and its permissions boundary;
 * a resource brings its resource policy (bucket policy, trust policy).
 * Identity policies, boundaries, explicit denies, NotAction, conditions and
 * cross-account resource policies are then judged as AWS judges them.
 */

export type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';
type Policy = { Version?: string; Statement: unknown[] };

/** Who asks: a role of the state, or a role a branch could mint (any inline policy, under a boundary). */
export interface Principal {
  arn: string;
  account: string;
  identity: SimulationIdentityPolicy[];
  boundary?: Policy;
  /** Tags of the role (aws:PrincipalTag/...). */
  tags?: Record<string, string>;
}

const parse = (text: unknown): Policy => JSON.parse(String(text)) as Policy;
const accountOfArn = (arn: string) => arn.split(':')[4];

/** Everything that allows anything: what a role minted with any inline policy may hold before its boundary. */
export const ALLOW_EVERYTHING: Policy = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
};

export class RenderedIam {
  constructor(readonly state: StateInstance[]) {}

  private all(type: string): StateInstance[] {
    return this.state.filter((i) => i.mode === 'managed' && i.type === type);
  }

  /** The rendered instance of a role by name (and account, when two accounts hold the name). */
  roleInstance(name: string, account?: string): StateInstance {
    const found = this.all('aws_iam_role').filter(
      (r) => r.values.name === name && (!account || accountOfArn(String(r.values.arn)) === account),
    );
    if (found.length !== 1)
      throw new Error(`${found.length} roles named ${name}${account ? ` in ${account}` : ''} in the rendered state`);
    return found[0];
  }

  /** A managed policy by ARN. */
  policy(arn: string): Policy {
    const p = this.all('aws_iam_policy').find((i) => i.values.arn === arn);
    if (!p) throw new Error(`no managed policy ${arn} in the rendered state`);
    return parse(p.values.policy);
  }

  /** A role as a principal: its inline policies, attached managed policies of the state, its boundary. */
  role(name: string, account?: string): Principal {
    const role = this.roleInstance(name, account);
    const arn = String(role.values.arn);
    const own = (i: StateInstance) =>
      i.account === accountOfArn(arn) && (i.values.role === name || i.values.role === role.values.id);
    const inline = this.all('aws_iam_role_policy')
      .filter(own)
      .map((p) => ({ name: String(p.values.name), policy: parse(p.values.policy) }));
    const attached = this.all('aws_iam_role_policy_attachment')
      .filter(own)
      .map((a) => ({ name: String(a.values.policy_arn), policy: this.policy(String(a.values.policy_arn)) }));
    const boundaryArn = role.values.permissions_boundary ? String(role.values.permissions_boundary) : undefined;
    return {
      arn,
      account: accountOfArn(arn),
      identity: [...inline, ...attached],
      boundary: boundaryArn ? this.policy(boundaryArn) : undefined,
    };
  }

  /** A role a sandpit could create: any inline policy, bounded by `boundaryArn`, with the given tags. */
  mintedRole(name: string, account: string, boundaryArn: string, tags: Record<string, string> = {}): Principal {
    return {
      arn: `arn:aws:iam::${account}:role/${name}`,
      account,
      identity: [{ name: 'anything', policy: ALLOW_EVERYTHING }],
      boundary: this.policy(boundaryArn),
      tags,
    };
  }

  /** The bucket policy of a bucket, if it has one. */
  bucketPolicy(bucket: string): Policy | undefined {
    const p = this.all('aws_s3_bucket_policy').find((i) => i.values.bucket === bucket);
    return p ? parse(p.values.policy) : undefined;
  }

  /** The trust policy of a role. */
  trust(name: string, account?: string): Policy {
    return parse(this.roleInstance(name, account).values.assume_role_policy);
  }

  /**
   * Whether `principal` may call `action` on `resource`. S3 object and bucket
   * ARNs bring their bucket's policy and account (the account is the bucket
   * name's last segment, as every bucket here is named); role ARNs with
   * sts:AssumeRole bring the role's trust policy.
   */
  async decide(
    principal: Principal,
    action: string,
    resource: string,
    context: Record<string, string | string[]> = {},
    options: { oidcSub?: string } = {},
  ): Promise<Decision> {
    let resourcePolicy: Policy | undefined;
    let resourceAccount = principal.account;
    const s3 = /^arn:aws:s3:::([^/]+)/.exec(resource);
    if (s3) {
      resourcePolicy = this.bucketPolicy(s3[1]);
      resourceAccount = /-(\d{12})$/.exec(s3[1])?.[1] ?? principal.account;
    } else if (/^arn:aws:iam::\d{12}:role\//.test(resource) && action.startsWith('sts:AssumeRole')) {
      const [, account, name] = /^arn:aws:iam::(\d{12}):role\/(.+)$/.exec(resource)!;
      resourcePolicy = this.state.some((i) => i.type === 'aws_iam_role' && i.values.arn === resource)
        ? this.trust(name, account)
        : undefined;
      resourceAccount = account;
    } else if (/^arn:aws:kms:[^:]*:\d{12}:key\//.test(resource)) {
      // A key's own policy decides; keys no stack here creates have AWS's default one (the account's IAM decides).
      resourceAccount = accountOfArn(resource);
      const key = this.all('aws_kms_key').find((k) => k.values.arn === resource);
      resourcePolicy = key
        ? parse(key.values.policy)
        : {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'Enable IAM User Permissions',
                Effect: 'Allow',
                Principal: { AWS: `arn:aws:iam::${resourceAccount}:root` },
                Action: 'kms:*',
                Resource: '*',
              },
            ],
          };
    } else if (/^arn:aws:[^:]+:[^:]*:\d{12}:/.test(resource)) {
      resourceAccount = accountOfArn(resource);
    }
    const tags = Object.fromEntries(Object.entries(principal.tags ?? {}).map(([k, v]) => [`aws:PrincipalTag/${k}`, v]));
    let identity = principal.identity;
    const claims: Record<string, string> = {};
    if (options.oidcSub !== undefined) {
      // The token's sub as a policy variable (${gitlab.com:sub}): see OIDC_SUB_STAND_IN.
      identity = identity.map((p) => ({
        ...p,
        policy: JSON.parse(JSON.stringify(p.policy).split('${gitlab.com:sub}').join(`\${${OIDC_SUB_STAND_IN}}`)),
      }));
      claims[OIDC_SUB_STAND_IN] = options.oidcSub;
    }
    const simulation: Simulation = {
      request: {
        principal: principal.arn,
        action,
        resource: { resource, accountId: resourceAccount },
        contextVariables: {
          'aws:PrincipalArn': principal.arn,
          'aws:PrincipalAccount': principal.account,
          'aws:SecureTransport': 'true',
          ...tags,
          ...claims,
          ...context,
        },
      },
      identityPolicies: identity,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy,
      permissionBoundaryPolicies: principal.boundary ? [{ name: 'boundary', policy: principal.boundary }] : undefined,
    };
    return simulate(simulation);
  }

  /**
   * Whether a GitLab job whose ID token carries `claims` (gitlab.com:sub,
   * :aud, :ref_protected) may assume a role with web identity.
   */
  async assumeWithWebIdentity(roleName: string, account: string, claims: Record<string, string>): Promise<Decision> {
    const provider = this.state.find(
      (i) =>
        i.type === 'aws_iam_openid_connect_provider' &&
        accountOfArn(String(i.values.arn)) === account &&
        String(i.values.url).includes('gitlab'),
    );
    if (!provider) throw new Error(`no OIDC provider in ${account}`);
    const roleArn = `arn:aws:iam::${account}:role/${roleName}`;
    const standIn = (text: string) =>
      Object.entries(CLAIM_STAND_INS).reduce((t, [from, to]) => t.split(`"${from}"`).join(`"${to}"`), text);
    const context = JSON.parse(standIn(JSON.stringify(claims))) as Record<string, string>;
    return simulate({
      request: {
        principal: String(provider.values.arn),
        action: 'sts:AssumeRoleWithWebIdentity',
        resource: { resource: roleArn, accountId: account },
        contextVariables: context,
      },
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: JSON.parse(standIn(JSON.stringify(this.trust(roleName, account)))),
    });
  }
}

/**
 * IAM evaluates the `sub` and `aud` claims of any OIDC provider (and GitLab's
 * ref_protected), but the simulator's action data lists `sub`/`aud` only for
 * a few named issuers and drops other keys from the request. For the question
 * to reach the simulator intact, gitlab.com's sub and aud are renamed, in the
 * trust policy and the claims alike, to the keys it knows for
 * AssumeRoleWithWebIdentity with the same meaning (a string claim of the
 * token); gitlab.com:ref_protected is known as it is.
 */
const CLAIM_STAND_INS: Record<string, string> = {
  'gitlab.com:sub': 'accounts.google.com:sub',
  'gitlab.com:aud': 'accounts.google.com:aud',
};
/** The same for the policy variable ${gitlab.com:sub} in an S3 resource: a global key stands in for it. */
const OIDC_SUB_STAND_IN = 'aws:PrincipalTag/gitlab-oidc-sub';

async function simulate(simulation: Simulation): Promise<Decision> {
  const r = await runSimulation(simulation, {});
  if (r.resultType === 'error')
    throw new Error(
      `simulation of ${simulation.request.action} on ${simulation.request.resource.resource} by ${String(simulation.request.principal)} is invalid: ${JSON.stringify(r.errors)}`,
    );
  return r.overallResult as Decision;
}
