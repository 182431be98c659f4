import { randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A local HTTP server on 127.0.0.1 speaking the part of the HCP Terraform
 * API v2 the plugin uses, as documented: JSON:API documents with
 * `application/vnd.api+json`, bearer tokens (401 without a valid one, 415 for
 * another content type), `page[number]`/`page[size]` pagination with
 * `meta.pagination` and `links`, 404 for an unknown organization or
 * workspace, 422 for a taken name or a refused tag, 409 from
 * safe-delete while a workspace manages resources, and 429 with Retry-After
 * and X-RateLimit-* headers when told to throttle.
 */

export interface DoubleWorkspace {
  id: string;
  name: string;
  projectId: string;
  autoApply: boolean;
  executionMode: string;
  workingDirectory: string | null;
  description: string;
  tags: string[];
  resourceCount: number;
  runs: Array<{ id: string; status: string }>;
}

export interface DoubleVar {
  id: string;
  key: string;
  value: string;
  category: string;
  hcl: boolean;
  sensitive: boolean;
  description: string;
}

export interface DoubleVarset {
  id: string;
  name: string;
  global: boolean;
  projectIds: string[];
  workspaceIds: string[];
  vars: DoubleVar[];
}

export interface HcpTerraformDouble {
  /** host:port, as terraform.cloud.hostname. */
  hostname: string;
  token: string;
  organization: string;
  projects: Map<string, { id: string; name: string }>;
  workspaces: Map<string, DoubleWorkspace>;
  varsets: Map<string, DoubleVarset>;
  /** Every request: method, path with query, status answered. */
  requests: Array<{ method: string; path: string; status: number }>;
  /** The next `count` requests are answered 429 with Retry-After `seconds`. */
  throttle(count: number, seconds: number): void;
  stop(): Promise<void>;
}

const JSON_API = 'application/vnd.api+json';

const id = (prefix: string) => `${prefix}-${randomBytes(8).toString('hex').slice(0, 16)}`;

/** Starts the double with one organization, its "Default Project", and a token. */
export async function startHcpTerraformDouble(organization = 'geo'): Promise<HcpTerraformDouble> {
  const token = `test.atlasv1.${randomBytes(12).toString('hex')}`;
  const projects = new Map<string, { id: string; name: string }>();
  const defaultProject = { id: id('prj'), name: 'Default Project' };
  projects.set(defaultProject.id, defaultProject);
  const workspaces = new Map<string, DoubleWorkspace>();
  const varsets = new Map<string, DoubleVarset>();
  const requests: HcpTerraformDouble['requests'] = [];
  let throttled = { count: 0, seconds: 0 };

  const wsResource = (w: DoubleWorkspace) => ({
    id: w.id,
    type: 'workspaces',
    attributes: {
      name: w.name,
      'auto-apply': w.autoApply,
      'execution-mode': w.executionMode,
      'working-directory': w.workingDirectory,
      description: w.description,
      'resource-count': w.resourceCount,
      'tag-names': w.tags,
    },
    relationships: {
      project: { data: { id: w.projectId, type: 'projects' } },
      organization: { data: { id: organization, type: 'organizations' } },
    },
    links: { self: `/api/v2/organizations/${organization}/workspaces/${w.name}` },
  });

  function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { ...(body === undefined ? {} : { 'Content-Type': JSON_API }), ...headers });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  }
  const error = (res: ServerResponse, status: number, title: string, detail?: string) =>
    send(res, status, { errors: [{ status: String(status), title, ...(detail ? { detail } : {}) }] });

  /** One page of a collection, with the documented meta and links. */
  function page(res: ServerResponse, url: URL, items: unknown[]): void {
    const size = Math.min(Math.max(Number(url.searchParams.get('page[size]') ?? 20), 1), 100);
    const number = Math.max(Number(url.searchParams.get('page[number]') ?? 1), 1);
    const totalPages = Math.max(Math.ceil(items.length / size), 1);
    const link = (n: number) => `${url.pathname}?page%5Bnumber%5D=${n}&page%5Bsize%5D=${size}`;
    send(res, 200, {
      data: items.slice((number - 1) * size, number * size),
      links: {
        self: link(number),
        first: link(1),
        prev: number > 1 ? link(number - 1) : null,
        next: number < totalPages ? link(number + 1) : null,
        last: link(totalPages),
      },
      meta: {
        pagination: {
          'current-page': number,
          'page-size': size,
          'prev-page': number > 1 ? number - 1 : null,
          'next-page': number < totalPages ? number + 1 : null,
          'total-pages': totalPages,
          'total-count': items.length,
        },
      },
    });
  }

  async function readBody(req: IncomingMessage): Promise<{ data?: unknown } | undefined> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text ? JSON.parse(text) : undefined;
  }

  const findWs = (wsId: string) => workspaces.get(wsId);
  const wsByName = (name: string) => [...workspaces.values()].find((w) => w.name === name);

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double');
    const method = req.method ?? 'GET';
    if (throttled.count > 0) {
      throttled.count--;
      return send(
        res,
        429,
        { errors: [{ status: '429', title: 'Too many requests' }] },
        {
          'Retry-After': String(throttled.seconds),
          'X-RateLimit-Limit': '30',
          'X-RateLimit-Remaining': '0',
          'X-RateLimit-Reset': String(throttled.seconds),
        },
      );
    }
    if (req.headers.authorization !== `Bearer ${token}`) return error(res, 401, 'unauthorized');
    if (['POST', 'PATCH'].includes(method) && req.headers['content-type'] !== JSON_API)
      return error(res, 415, 'unsupported media type', `Content-Type must be ${JSON_API}`);
    const body = ['POST', 'PATCH'].includes(method) ? await readBody(req) : undefined;
    const p = url.pathname.replace(/^\/api\/v2/, '');
    let m: RegExpMatchArray | null;

    if ((m = p.match(/^\/organizations\/([^/]+)\/(.+)$/))) {
      if (decodeURIComponent(m[1]) !== organization) return error(res, 404, 'not found');
      const rest = m[2];
      if (rest === 'projects' && method === 'GET') {
        const names = url.searchParams.get('filter[names]')?.split(',');
        const all = [...projects.values()].filter((x) => !names || names.includes(x.name));
        return page(
          res,
          url,
          all.map((x) => ({ id: x.id, type: 'projects', attributes: { name: x.name } })),
        );
      }
      if (rest === 'projects' && method === 'POST') {
        const name = String((body?.data as { attributes?: { name?: string } })?.attributes?.name ?? '');
        if ([...projects.values()].some((x) => x.name === name))
          return error(res, 422, 'invalid attribute', 'Name has already been taken');
        const project = { id: id('prj'), name };
        projects.set(project.id, project);
        return send(res, 201, { data: { id: project.id, type: 'projects', attributes: { name } } });
      }
      if (rest === 'workspaces' && method === 'GET') return page(res, url, [...workspaces.values()].map(wsResource));
      if (rest === 'workspaces' && method === 'POST') {
        const data = body?.data as {
          type?: string;
          attributes?: Record<string, unknown>;
          relationships?: { project?: { data?: { id: string } } };
        };
        if (data?.type !== 'workspaces') return error(res, 422, 'invalid type', 'data.type must be workspaces');
        const name = String(data.attributes?.name ?? '');
        if (!/^[A-Za-z0-9_-]{1,90}$/.test(name)) return error(res, 422, 'invalid attribute', 'Name is invalid');
        if (wsByName(name)) return error(res, 422, 'invalid attribute', 'Name has already been taken');
        const projectId = data.relationships?.project?.data?.id ?? defaultProject.id;
        if (!projects.has(projectId)) return error(res, 404, 'not found', 'project not found');
        const w: DoubleWorkspace = {
          id: id('ws'),
          name,
          projectId,
          autoApply: data.attributes?.['auto-apply'] === true,
          executionMode: String(data.attributes?.['execution-mode'] ?? 'remote'),
          workingDirectory: (data.attributes?.['working-directory'] as string | undefined) ?? null,
          description: String(data.attributes?.description ?? ''),
          tags: [],
          resourceCount: 0,
          runs: [],
        };
        workspaces.set(w.id, w);
        return send(res, 201, { data: wsResource(w) });
      }
      if ((m = rest.match(/^workspaces\/([^/]+)$/))) {
        const w = wsByName(decodeURIComponent(m[1]));
        if (!w) return error(res, 404, 'not found');
        if (method === 'GET') return send(res, 200, { data: wsResource(w) });
        if (method === 'DELETE') {
          workspaces.delete(w.id);
          return send(res, 204);
        }
      }
      if (rest === 'varsets' && method === 'GET')
        return page(
          res,
          url,
          [...varsets.values()].map((v) => ({
            id: v.id,
            type: 'varsets',
            attributes: { name: v.name, global: v.global, 'var-count': v.vars.length },
          })),
        );
      if (rest === 'varsets' && method === 'POST') {
        const data = body?.data as {
          attributes?: { name?: string; global?: boolean };
          relationships?: {
            projects?: { data?: Array<{ id: string }> };
            workspaces?: { data?: Array<{ id: string }> };
            vars?: { data?: Array<{ attributes: Omit<DoubleVar, 'id'> }> };
          };
        };
        const name = String(data?.attributes?.name ?? '');
        if ([...varsets.values()].some((v) => v.name === name))
          return error(res, 422, 'invalid attribute', 'Name has already been taken');
        const v: DoubleVarset = {
          id: id('varset'),
          name,
          global: !!data?.attributes?.global,
          projectIds: (data?.relationships?.projects?.data ?? []).map((x) => x.id),
          workspaceIds: (data?.relationships?.workspaces?.data ?? []).map((x) => x.id),
          vars: (data?.relationships?.vars?.data ?? []).map((x) => ({ id: id('var'), ...x.attributes })),
        };
        varsets.set(v.id, v);
        return send(res, 201, { data: { id: v.id, type: 'varsets', attributes: { name, global: v.global } } });
      }
      return error(res, 404, 'not found');
    }
    if ((m = p.match(/^\/workspaces\/([^/]+)\/(.+)$/))) {
      const w = findWs(m[1]);
      if (!w) return error(res, 404, 'not found');
      const rest = m[2];
      if (rest === 'relationships/tags' && method === 'GET')
        return page(
          res,
          url,
          w.tags.map((name) => ({ id: `tag-${name}`, type: 'tags', attributes: { name, 'instance-count': 1 } })),
        );
      if (rest === 'relationships/tags' && method === 'POST') {
        for (const t of (body?.data as Array<{ type: string; attributes: { name: string } }>) ?? []) {
          if (t.type !== 'tags' || !/^[a-z0-9:_-]{1,255}$/.test(t.attributes.name))
            return error(res, 422, 'invalid tag', t.attributes?.name);
          if (!w.tags.includes(t.attributes.name)) w.tags.push(t.attributes.name);
        }
        return send(res, 204);
      }
      if (rest === 'runs' && method === 'GET')
        return page(
          res,
          url,
          w.runs.map((r) => ({ id: r.id, type: 'runs', attributes: { status: r.status } })),
        );
      if (rest === 'actions/safe-delete' && method === 'POST') {
        if (w.resourceCount > 0) return error(res, 409, 'conflict', 'Workspace is currently managing resources');
        workspaces.delete(w.id);
        return send(res, 204);
      }
      return error(res, 404, 'not found');
    }
    if ((m = p.match(/^\/varsets\/([^/]+)\/relationships\/workspaces$/)) && method === 'POST') {
      const v = varsets.get(m[1]);
      if (!v) return error(res, 404, 'not found');
      for (const x of (body?.data as Array<{ id: string }>) ?? [])
        if (!v.workspaceIds.includes(x.id)) v.workspaceIds.push(x.id);
      return send(res, 204);
    }
    return error(res, 404, 'not found');
  }

  const server = createServer((req, res) => {
    const status = () => res.statusCode;
    res.on('finish', () =>
      requests.push({ method: req.method ?? 'GET', path: decodeURIComponent(req.url ?? ''), status: status() }),
    );
    route(req, res).catch((e) => error(res, 500, 'internal error', String(e)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    hostname: `127.0.0.1:${port}`,
    token,
    organization,
    projects,
    workspaces,
    varsets,
    requests,
    throttle(count, seconds) {
      throttled = { count, seconds };
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
