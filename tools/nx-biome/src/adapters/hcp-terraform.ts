import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BiomeError } from '../core/errors';
import { apiOrigin, HcpVariable, tokenVariableName } from '../core/hcp-terraform';

/**
 * A small typed client of the HCP Terraform / Terraform Enterprise API v2
 * (JSON:API over HTTPS, `Authorization: Bearer <token>`), listing only the
 * calls the plugin makes. It retries 429 after Retry-After (or
 * X-RateLimit-Reset), follows pagination, and never prints the token.
 */

/** The JSON:API media type every request and response uses. */
export const JSON_API = 'application/vnd.api+json';

export interface HcpProject {
  id: string;
  name: string;
}

export interface HcpWorkspace {
  id: string;
  name: string;
  autoApply: boolean;
  workingDirectory: string | null;
  projectId?: string;
  resourceCount?: number;
}

export interface HcpVariableSet {
  id: string;
  name: string;
}

export interface HcpRun {
  id: string;
  status: string;
}

/** The calls the plugin makes, and nothing else. */
export interface HcpTerraformPort {
  readonly hostname: string;
  findProject(organization: string, name: string): Promise<HcpProject | undefined>;
  createProject(organization: string, name: string): Promise<HcpProject>;
  findWorkspace(organization: string, name: string): Promise<HcpWorkspace | undefined>;
  /** Creates a workspace; a name already taken (422/409) is answered with the existing workspace. */
  createWorkspace(
    organization: string,
    input: { name: string; projectId?: string; description: string; autoApply: boolean; workingDirectory: string },
  ): Promise<HcpWorkspace>;
  addWorkspaceTags(workspaceId: string, tags: string[]): Promise<void>;
  listWorkspaceTags(workspaceId: string): Promise<string[]>;
  findVariableSet(organization: string, name: string): Promise<HcpVariableSet | undefined>;
  createVariableSet(
    organization: string,
    input: { name: string; description: string; projectIds: string[]; variables: HcpVariable[] },
  ): Promise<HcpVariableSet>;
  applyVariableSetToWorkspace(variableSetId: string, workspaceId: string): Promise<void>;
  listRuns(workspaceId: string, limit: number): Promise<HcpRun[]>;
  /** Deletes a workspace only if it manages no resources: false (409) when it still does. */
  safeDeleteWorkspace(workspaceId: string): Promise<'deleted' | 'not-empty'>;
}

interface Resource {
  id: string;
  type: string;
  attributes: Record<string, unknown>;
  relationships?: Record<string, { data?: { id: string; type: string } | Array<{ id: string; type: string }> | null }>;
}

interface Document {
  data?: Resource | Resource[];
  meta?: { pagination?: { 'current-page': number; 'next-page': number | null; 'total-pages': number } };
  errors?: Array<{ status?: string; title?: string; detail?: string }>;
}

export interface HcpClientOptions {
  hostname: string;
  token: string;
  fetch?: typeof fetch;
  /** Waits between retries (tests record the delays); the real one sleeps. */
  sleep?: (ms: number) => Promise<void>;
  /** How many 429 answers in a row are waited out before giving up. */
  maxRetries?: number;
  log?: (line: string) => void;
}

const MAX_PAGE_SIZE = 100;
const MAX_RETRY_WAIT_MS = 60_000;

/** A client bound to one host and token. */
export function createHcpTerraformClient(options: HcpClientOptions): HcpTerraformPort {
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const maxRetries = options.maxRetries ?? 5;
  const base = `${apiOrigin(options.hostname)}/api/v2`;

  async function request(
    method: string,
    path: string,
    body?: unknown,
    accept: number[] = [],
  ): Promise<{ status: number; doc: Document }> {
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await doFetch(`${base}${path}`, {
          method,
          headers: { Authorization: `Bearer ${options.token}`, 'Content-Type': JSON_API, Accept: JSON_API },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (e) {
        throw new BiomeError(
          'HCP_TERRAFORM_UNREACHABLE',
          `HCP Terraform at ${options.hostname} did not answer ${method} ${path}: ${(e as Error).message}.`,
          'Check terraform.cloud.hostname in nx-biome.json and the network; nothing was changed by this call.',
        );
      }
      const text = await res.text();
      const doc = text ? (parseDocument(text) ?? {}) : {};
      if (res.status === 429 && attempt < maxRetries) {
        const waitMs = retryDelayMs(res.headers, attempt);
        options.log?.(
          `HCP Terraform rate limit (429) on ${method} ${path}: retrying in ${(waitMs / 1000).toFixed(1)} s`,
        );
        await sleep(waitMs);
        continue;
      }
      if ((res.status >= 200 && res.status < 300) || accept.includes(res.status)) return { status: res.status, doc };
      throw apiError(options.hostname, method, path, res.status, doc);
    }
  }

  /** Every page of a collection (page[size]=100, following meta.pagination.next-page). */
  async function listAll(path: string): Promise<Resource[]> {
    const out: Resource[] = [];
    const sep = path.includes('?') ? '&' : '?';
    for (let page: number | null = 1; page;) {
      const { doc } = await request('GET', `${path}${sep}page%5Bnumber%5D=${page}&page%5Bsize%5D=${MAX_PAGE_SIZE}`);
      out.push(...asList(doc.data));
      page = doc.meta?.pagination?.['next-page'] ?? null;
    }
    return out;
  }

  const org = (o: string) => `/organizations/${encodeURIComponent(o)}`;

  const client: HcpTerraformPort = {
    hostname: options.hostname,
    async findProject(organization, name) {
      const all = await listAll(`${org(organization)}/projects?filter%5Bnames%5D=${encodeURIComponent(name)}`);
      const found = all.find((p) => p.attributes.name === name);
      return found && { id: found.id, name };
    },
    async createProject(organization, name) {
      const { doc } = await request('POST', `${org(organization)}/projects`, {
        data: { type: 'projects', attributes: { name } },
      });
      return { id: one(doc).id, name };
    },
    async findWorkspace(organization, name) {
      const { status, doc } = await request(
        'GET',
        `${org(organization)}/workspaces/${encodeURIComponent(name)}`,
        undefined,
        [404],
      );
      return status === 404 ? undefined : toWorkspace(one(doc));
    },
    async createWorkspace(organization, input) {
      const body = {
        data: {
          type: 'workspaces',
          attributes: {
            name: input.name,
            description: input.description,
            'auto-apply': input.autoApply,
            'execution-mode': 'remote',
            'working-directory': input.workingDirectory,
          },
          ...(input.projectId
            ? { relationships: { project: { data: { type: 'projects', id: input.projectId } } } }
            : {}),
        },
      };
      const { status, doc } = await request('POST', `${org(organization)}/workspaces`, body, [409, 422]);
      if (status === 201 || status === 200) return toWorkspace(one(doc));
      // Created meanwhile by another run: the name is taken, so the workspace exists.
      const existing = await client.findWorkspace(organization, input.name);
      if (!existing) throw apiError(options.hostname, 'POST', `${org(organization)}/workspaces`, status, doc);
      return existing;
    },
    async addWorkspaceTags(workspaceId, tags) {
      await request('POST', `/workspaces/${workspaceId}/relationships/tags`, {
        data: tags.map((name) => ({ type: 'tags', attributes: { name } })),
      });
    },
    async listWorkspaceTags(workspaceId) {
      return (await listAll(`/workspaces/${workspaceId}/relationships/tags`)).map((t) => String(t.attributes.name));
    },
    async findVariableSet(organization, name) {
      const found = (await listAll(`${org(organization)}/varsets`)).find((v) => v.attributes.name === name);
      return found && { id: found.id, name };
    },
    async createVariableSet(organization, input) {
      const body = {
        data: {
          type: 'varsets',
          attributes: { name: input.name, description: input.description, global: false },
          relationships: {
            projects: { data: input.projectIds.map((id) => ({ type: 'projects', id })) },
            vars: { data: input.variables.map((v) => ({ type: 'vars', attributes: v })) },
          },
        },
      };
      const { doc } = await request('POST', `${org(organization)}/varsets`, body);
      return { id: one(doc).id, name: input.name };
    },
    async applyVariableSetToWorkspace(variableSetId, workspaceId) {
      await request('POST', `/varsets/${variableSetId}/relationships/workspaces`, {
        data: [{ type: 'workspaces', id: workspaceId }],
      });
    },
    async listRuns(workspaceId, limit) {
      const { doc } = await request(
        'GET',
        `/workspaces/${workspaceId}/runs?page%5Bsize%5D=${Math.min(limit, MAX_PAGE_SIZE)}`,
      );
      return asList(doc.data).map((r) => ({ id: r.id, status: String(r.attributes.status) }));
    },
    async safeDeleteWorkspace(workspaceId) {
      const { status } = await request('POST', `/workspaces/${workspaceId}/actions/safe-delete`, undefined, [409]);
      return status === 409 ? 'not-empty' : 'deleted';
    },
  };
  return client;
}

/** How long to wait after a 429: Retry-After (seconds or an HTTP date), else X-RateLimit-Reset (seconds), else doubling from 1 s. */
export function retryDelayMs(headers: Headers, attempt: number, now = Date.now()): number {
  const retryAfter = headers.get('retry-after');
  let ms: number | undefined;
  if (retryAfter) {
    const seconds = Number(retryAfter);
    ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(retryAfter) - now;
  }
  const reset = headers.get('x-ratelimit-reset');
  if ((ms === undefined || !Number.isFinite(ms)) && reset && Number.isFinite(Number(reset))) ms = Number(reset) * 1000;
  if (ms === undefined || !Number.isFinite(ms)) ms = 1000 * 2 ** attempt;
  return Math.min(Math.max(ms, 0), MAX_RETRY_WAIT_MS);
}

function parseDocument(text: string): Document | undefined {
  try {
    return JSON.parse(text) as Document;
  } catch {
    return undefined;
  }
}

function asList(data: Document['data']): Resource[] {
  return data === undefined ? [] : Array.isArray(data) ? data : [data];
}

function one(doc: Document): Resource {
  const [first] = asList(doc.data);
  if (!first) throw new Error('HCP Terraform answered without a resource');
  return first;
}

function toWorkspace(r: Resource): HcpWorkspace {
  const project = r.relationships?.project?.data;
  return {
    id: r.id,
    name: String(r.attributes.name),
    autoApply: r.attributes['auto-apply'] === true,
    workingDirectory: (r.attributes['working-directory'] as string | null | undefined) ?? null,
    ...(project && !Array.isArray(project) ? { projectId: project.id } : {}),
    ...(typeof r.attributes['resource-count'] === 'number' ? { resourceCount: r.attributes['resource-count'] } : {}),
  };
}

function apiError(hostname: string, method: string, path: string, status: number, doc: Document): BiomeError {
  const detail =
    (doc.errors ?? []).map((e) => [e.title, e.detail].filter(Boolean).join(': ')).join('; ') || 'no error detail';
  const hint =
    status === 401
      ? `The token for ${hostname} is missing or expired: run terraform login ${hostname}, or set ${tokenVariableName(hostname) ?? 'the credentials file entry'}.`
      : status === 404
        ? "The organization or resource does not exist, or the token may not see it (HCP Terraform answers 404 for both): check terraform.cloud.organization and the team's permissions."
        : status === 429
          ? 'HCP Terraform kept rate-limiting the calls; run the command again in a minute.'
          : 'Read the detail above; nothing after this call was attempted.';
  return new BiomeError('HCP_TERRAFORM_FAILED', `HCP Terraform ${method} ${path} answered ${status}: ${detail}.`, hint);
}

/**
 * The API token for a host, as Terraform finds it: `TF_TOKEN_<host>` first,
 * then the CLI credentials file (`terraform login` writes
 * ~/.terraform.d/credentials.tfrc.json). The token is returned, never logged.
 */
export async function readHcpToken(hostname: string, env: Record<string, string | undefined>): Promise<string> {
  const variable = tokenVariableName(hostname);
  const fromEnv = variable ? env[variable]?.trim() : undefined;
  if (fromEnv) return fromEnv;
  const file = join(env.HOME || homedir(), '.terraform.d', 'credentials.tfrc.json');
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text !== undefined) {
    let parsed: { credentials?: Record<string, { token?: unknown }> };
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new BiomeError(
        'HCP_TERRAFORM_TOKEN_MISSING',
        `${file} is not valid JSON.`,
        `Run terraform login ${hostname} again, or set ${variable ?? 'a token in that file'}.`,
      );
    }
    const token = parsed.credentials?.[hostname]?.token;
    if (typeof token === 'string' && token.trim()) return token.trim();
  }
  throw new BiomeError(
    'HCP_TERRAFORM_TOKEN_MISSING',
    `No API token for ${hostname}: neither ${variable ?? `TF_TOKEN_<host> (a host with a port has none)`} nor ${file} holds one.`,
    `Run terraform login ${hostname}${variable ? `, or set ${variable} (in CI: a masked, protected variable)` : ''}. A team or user token that may manage workspaces is needed.`,
  );
}
