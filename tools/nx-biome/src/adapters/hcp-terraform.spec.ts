import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HcpTerraformDouble, startHcpTerraformDouble } from '../../../../test/support/hcp-terraform-api';
import { createHcpTerraformClient, HcpTerraformPort, readHcpToken, retryDelayMs } from './hcp-terraform';

/** The client against a local server that speaks the documented API (test/support/hcp-terraform-api.ts). */

let api: HcpTerraformDouble;
let client: HcpTerraformPort;
const waits: number[] = [];
const logged: string[] = [];

beforeAll(async () => {
  api = await startHcpTerraformDouble('geo');
  // The real sleep, with the delay the server asked for recorded: 429 handling is exercised end to end.
  client = createHcpTerraformClient({
    hostname: api.hostname,
    token: api.token,
    sleep: (ms) => (waits.push(ms), new Promise((r) => setTimeout(r, ms))),
    log: (l) => logged.push(l),
  });
});
afterAll(() => api.stop());
afterEach(() => {
  waits.length = 0;
  logged.length = 0;
});

describe('HCP Terraform client', () => {
  it('creates a project and a workspace in it, finds them again, and a taken name answers with the existing workspace', async () => {
    expect(await client.findProject('geo', 'geo-dev')).toBeUndefined();
    const project = await client.createProject('geo', 'geo-dev');
    expect(await client.findProject('geo', 'geo-dev')).toEqual(project);
    expect(await client.findWorkspace('geo', 'geo-dev-amy')).toBeUndefined();
    const ws = await client.createWorkspace('geo', {
      name: 'geo-dev-amy',
      projectId: project.id,
      description: 'x',
      autoApply: false,
      workingDirectory: 'infra/stacks/biome',
    });
    expect(ws).toMatchObject({
      name: 'geo-dev-amy',
      autoApply: false,
      workingDirectory: 'infra/stacks/biome',
      projectId: project.id,
    });
    const stored = [...api.workspaces.values()].find((w) => w.name === 'geo-dev-amy');
    expect(stored).toMatchObject({ projectId: project.id, executionMode: 'remote', autoApply: false });
    // A second create (another run got there first): 422 "Name has already been taken" → the existing one.
    const again = await client.createWorkspace('geo', {
      name: 'geo-dev-amy',
      projectId: project.id,
      description: 'x',
      autoApply: false,
      workingDirectory: 'infra/stacks/biome',
    });
    expect(again.id).toBe(ws.id);
    expect(
      api.requests.some(
        (r) => r.method === 'POST' && r.path.endsWith('/organizations/geo/workspaces') && r.status === 422,
      ),
    ).toBe(true);
  });

  it('tags land on the workspace as sent; a tag name the API refuses is a clear error', async () => {
    const ws = (await client.findWorkspace('geo', 'geo-dev-amy'))!;
    await client.addWorkspaceTags(ws.id, ['dev', 'biome', 'sandpit']);
    expect(await client.listWorkspaceTags(ws.id)).toEqual(['dev', 'biome', 'sandpit']);
    await expect(client.addWorkspaceTags(ws.id, ['Not A Tag'])).rejects.toMatchObject({
      code: 'HCP_TERRAFORM_FAILED',
      message: expect.stringContaining('422: invalid tag: Not A Tag'),
    });
  });

  it('a variable set is created with its variables and project, and can be applied to a workspace', async () => {
    const project = (await client.findProject('geo', 'geo-dev'))!;
    const ws = (await client.findWorkspace('geo', 'geo-dev-amy'))!;
    const set = await client.createVariableSet('geo', {
      name: 'geo-dev-sandpits',
      description: 'd',
      projectIds: [project.id],
      variables: [
        { key: 'TFC_AWS_PROVIDER_AUTH', value: 'true', category: 'env', hcl: false, sensitive: false, description: '' },
      ],
    });
    expect(await client.findVariableSet('geo', 'geo-dev-sandpits')).toEqual(set);
    await client.applyVariableSetToWorkspace(set.id, ws.id);
    expect(api.varsets.get(set.id)).toMatchObject({
      projectIds: [project.id],
      workspaceIds: [ws.id],
      vars: [expect.objectContaining({ key: 'TFC_AWS_PROVIDER_AUTH', value: 'true', category: 'env' })],
    });
    // The same name again is refused by the API (422), and the client says so with the API's words.
    await expect(
      client.createVariableSet('geo', { name: 'geo-dev-sandpits', description: 'd', projectIds: [], variables: [] }),
    ).rejects.toMatchObject({
      code: 'HCP_TERRAFORM_FAILED',
      message: expect.stringContaining('422: invalid attribute: Name has already been taken'),
    });
    api.varsets.delete(set.id);
  });

  it('reads every page of a collection (page[size]=100, following meta.pagination.next-page)', async () => {
    for (let i = 0; i < 230; i++)
      api.varsets.set(`varset-${i}`, {
        id: `varset-${i}`,
        name: `other-${String(i).padStart(3, '0')}`,
        global: false,
        projectIds: [],
        workspaceIds: [],
        vars: [],
      });
    const before = api.requests.length;
    expect(await client.findVariableSet('geo', 'other-229')).toEqual({ id: 'varset-229', name: 'other-229' });
    const pages = api.requests.slice(before).filter((r) => r.path.includes('/organizations/geo/varsets'));
    expect(pages.map((r) => r.path.match(/page\[number\]=(\d+)/)?.[1])).toEqual(['1', '2', '3']);
    expect(pages.every((r) => r.path.includes('page[size]=100'))).toBe(true);
    expect(await client.findVariableSet('geo', 'no-such-set')).toBeUndefined();
    for (let i = 0; i < 230; i++) api.varsets.delete(`varset-${i}`);
  });

  it('waits out 429 as Retry-After says, then succeeds; gives up with a clear error after too many', async () => {
    api.throttle(2, 1);
    expect(await client.findWorkspace('geo', 'geo-dev-amy')).toMatchObject({ name: 'geo-dev-amy' });
    expect(waits).toEqual([1000, 1000]);
    expect(logged[0]).toMatch(
      /rate limit \(429\) on GET \/organizations\/geo\/workspaces\/geo-dev-amy: retrying in 1\.0 s/,
    );
    const impatient = createHcpTerraformClient({
      hostname: api.hostname,
      token: api.token,
      sleep: async () => undefined,
      maxRetries: 1,
    });
    api.throttle(2, 1);
    await expect(impatient.findWorkspace('geo', 'geo-dev-amy')).rejects.toMatchObject({
      code: 'HCP_TERRAFORM_FAILED',
      message: expect.stringContaining('answered 429'),
    });
  });

  it('404 is "absent" for a workspace lookup, an error naming the fix for an unknown organization; a bad token is 401 and the token is never in the message', async () => {
    expect(await client.findWorkspace('geo', 'geo-dev-nobody')).toBeUndefined();
    await expect(client.createProject('other-org', 'x')).rejects.toMatchObject({
      code: 'HCP_TERRAFORM_FAILED',
      hint: expect.stringContaining('terraform.cloud.organization'),
    });
    const wrong = createHcpTerraformClient({ hostname: api.hostname, token: 'not-the-token' });
    const err = await wrong.findWorkspace('geo', 'geo-dev-amy').catch((e: Error & { hint?: string }) => e);
    expect(err).toMatchObject({ code: 'HCP_TERRAFORM_FAILED', message: expect.stringContaining('401') });
    expect(`${(err as Error).message}${(err as { hint?: string }).hint}`).not.toContain('not-the-token');
  });

  it("lists a workspace's runs, newest first as the API answers", async () => {
    const ws = (await client.findWorkspace('geo', 'geo-dev-amy'))!;
    api.workspaces.get(ws.id)!.runs = [
      { id: 'run-new', status: 'planned_and_saved' },
      { id: 'run-old', status: 'applied' },
    ];
    expect(await client.listRuns(ws.id, 1)).toEqual([{ id: 'run-new', status: 'planned_and_saved' }]);
    expect(api.requests.at(-1)?.path).toContain('page[size]=1');
  });

  it('safe-delete: 409 while the workspace manages resources (kept), deleted once it manages none', async () => {
    const ws = (await client.findWorkspace('geo', 'geo-dev-amy'))!;
    const stored = api.workspaces.get(ws.id)!;
    stored.resourceCount = 12;
    expect(await client.safeDeleteWorkspace(ws.id)).toBe('not-empty');
    expect(api.workspaces.has(ws.id)).toBe(true);
    stored.resourceCount = 0;
    expect(await client.safeDeleteWorkspace(ws.id)).toBe('deleted');
    expect(api.workspaces.has(ws.id)).toBe(false);
  });

  it('an unreachable host fails with HCP_TERRAFORM_UNREACHABLE naming the host', async () => {
    const closed = createHcpTerraformClient({ hostname: '127.0.0.1:9', token: 't' });
    await expect(closed.findWorkspace('geo', 'x')).rejects.toMatchObject({
      code: 'HCP_TERRAFORM_UNREACHABLE',
      message: expect.stringContaining('127.0.0.1:9'),
    });
  });

  it('every request carries the JSON:API media type and the bearer token', async () => {
    const seen: Array<Record<string, string>> = [];
    const spy = createHcpTerraformClient({
      hostname: api.hostname,
      token: api.token,
      fetch: (url, init) => (seen.push(init?.headers as Record<string, string>), fetch(url, init)),
    });
    await spy.findProject('geo', 'geo-dev');
    expect(seen[0]).toMatchObject({
      'Content-Type': 'application/vnd.api+json',
      Accept: 'application/vnd.api+json',
      Authorization: `Bearer ${api.token}`,
    });
  });
});

describe('retry delay', () => {
  it('prefers Retry-After (seconds or a date), then X-RateLimit-Reset, then doubles; never above a minute', () => {
    expect(retryDelayMs(new Headers({ 'retry-after': '3' }), 0)).toBe(3000);
    expect(retryDelayMs(new Headers({ 'retry-after': new Date(10_000).toUTCString() }), 0, 5000)).toBe(5000);
    expect(retryDelayMs(new Headers({ 'x-ratelimit-reset': '0.5' }), 0)).toBe(500);
    expect(retryDelayMs(new Headers(), 2)).toBe(4000);
    expect(retryDelayMs(new Headers({ 'retry-after': '3600' }), 0)).toBe(60_000);
  });
});

describe('the API token', () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'tf-home-'));
  });
  afterAll(() => rm(home, { recursive: true, force: true }));

  it('comes from TF_TOKEN_<host> (dots as _, hyphens as __) before the credentials file', async () => {
    await mkdir(join(home, '.terraform.d'), { recursive: true });
    await writeFile(
      join(home, '.terraform.d/credentials.tfrc.json'),
      JSON.stringify({
        credentials: { 'tfe.example-corp.com': { token: 'from-file' }, '127.0.0.1:8443': { token: 'loopback-file' } },
      }),
    );
    expect(await readHcpToken('tfe.example-corp.com', { HOME: home, TF_TOKEN_tfe_example__corp_com: 'from-env' })).toBe(
      'from-env',
    );
    expect(await readHcpToken('tfe.example-corp.com', { HOME: home })).toBe('from-file');
    expect(await readHcpToken('127.0.0.1:8443', { HOME: home })).toBe('loopback-file');
  });

  it('missing: HCP_TERRAFORM_TOKEN_MISSING naming the variable, the file and terraform login', async () => {
    const err = await readHcpToken('app.terraform.io', { HOME: home }).catch((e) => e);
    expect(err).toMatchObject({
      code: 'HCP_TERRAFORM_TOKEN_MISSING',
      message: expect.stringContaining('TF_TOKEN_app_terraform_io'),
      hint: expect.stringContaining('terraform login app.terraform.io'),
    });
    expect(err.message).toContain(join(home, '.terraform.d/credentials.tfrc.json'));
  });
});
