import type { ExecutorContext } from '@nx/devkit';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKSPACE_ROOT } from '../support/workspace';
import { WorkspaceConfig } from '../../tools/nx-biome/src/core/config';
import { loadWorkspaceConfig } from '../../tools/nx-biome/src/adapters/workspace';
import { Deps, realDeps } from '../../tools/nx-biome/src/operations/context';
import { biomeBoardWith } from '../../tools/nx-biome/src/executors/biome-board/executor';
import { parseColumnData } from '../../tools/nx-biome/src/core/board-html';
import { chromiumOrSkip, withChromium } from './browser';
import { plantBiomes } from './fixture';

const NOW = new Date('2026-11-30T12:00:00.000Z');
const DAY = 86_400_000;
const SANDPITS = [
  'amy',
  'bob',
  'carol',
  'dan',
  'erin',
  'fay',
  'gus',
  'hal',
  'ivy',
  'jon',
  'kim',
  'lea',
  'max',
  'ned',
  'oli',
  'pam',
];
const PROJECTS = [
  'assay-qc',
  'batch-export',
  'collar-import',
  'core-audit',
  'drill-import',
  'geo-tiles',
  'grade-report',
  'hole-survey',
  'lab-sync',
  'ore-grade',
  'pit-planner',
  'plant-feed',
  'sample-tracker',
  'shift-report',
  'survey-merge',
  'user-admin',
];
const FOREIGN = 'f'.repeat(40);

/**
 * A real clone with commits touching the projects' folders, and stores
 * (embedded, one folder per environment) holding dev, 16 sandpits, staging
 * and prod, as deploys, promotions and rollbacks leave them.
 */
async function makeWorkspace(): Promise<{ root: string; commits: Record<string, string>; config: WorkspaceConfig }> {
  const root = await mkdtemp(join(tmpdir(), 'board-'));
  await copyFile(join(WORKSPACE_ROOT, 'nx-biome.json'), join(root, 'nx-biome.json'));
  let date = '';
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, GIT_COMMITTER_DATE: date, GIT_AUTHOR_DATE: date },
    }).trim();
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'amy@example.com');
  git('config', 'user.name', 'Amy');
  const commits: Record<string, string> = {};
  const commit = async (name: string, folder: string, subject: string, hoursAgo: number) => {
    date = new Date(NOW.getTime() - hoursAgo * 3_600_000).toISOString();
    await mkdir(join(root, folder), { recursive: true });
    await writeFile(join(root, folder, 'main.ts'), `// ${subject}\n`);
    git('add', '-A');
    git('commit', '-q', '-m', subject);
    commits[name] = git('rev-parse', 'HEAD');
  };
  await commit('base', 'apps/services/assay-ingest', 'assay-ingest: first cut', 45 * 24);
  await commit('fix', 'apps/services/assay-ingest', 'assay-ingest: retry on throttling', 6 * 24);
  // Between the two commits dev and dev-bob run, but outside assay-ingest's folder.
  await commit('other', 'apps/services/grade-model', 'grade-model: unrelated change', 5 * 24);
  await commit('feature', 'apps/services/assay-ingest', 'assay-ingest: accept <csv> & "tsv" files', 3);
  const subjects = [
    'tighten input validation',
    'faster cold start',
    'log request ids',
    'retry S3 reads',
    'new column mapping',
    'bump zod',
  ];
  for (const [i, subject] of subjects.entries())
    await commit(`filler${i}`, 'apps/services/shared', `shared: ${subject}`, (40 - i * 7) * 24 + 2);
  return { root, commits, config: await loadWorkspaceConfig(root) };
}

describe('biome board: a static site rendered from a store with many biomes', () => {
  let root: string;
  let commits: Record<string, string>;
  let deps: Deps;
  let lines: string[];
  let pages: string[];
  const context = () =>
    ({
      root,
      cwd: root,
      projectName: 'infra',
      isVerbose: false,
      projectsConfigurations: {
        version: 2,
        projects: {
          'assay-ingest': { root: 'apps/services/assay-ingest' },
          'grade-model': { root: 'apps/services/grade-model' },
        },
      },
    }) as unknown as ExecutorContext;
  const read = (page: string) => readFile(join(root, 'dist/biome-board', page), 'utf8');

  beforeAll(async () => {
    const ws = await makeWorkspace();
    root = ws.root;
    commits = ws.commits;
    deps = { ...realDeps(root, ws.config, {}), now: () => NOW, log: (l) => lines.push(l) };
    const at = (daysAgo: number) => new Date(NOW.getTime() - daysAgo * DAY);
    // Most cells run one of six commits this clone has; some a commit it lacks (fetched elsewhere).
    const filler = (biomeIndex: number) =>
      Object.fromEntries(
        PROJECTS.map((p, i) => [
          p,
          [
            {
              sha:
                (i + biomeIndex) % 5 === 0
                  ? FOREIGN
                  : commits[`filler${(i * 3 + (biomeIndex > 2 ? 2 : biomeIndex)) % 6}`],
              by: biomeIndex > 2 ? SANDPITS[biomeIndex - 3] : 'ci',
              at: at((i * 7 + biomeIndex) % 60),
            },
          ],
        ]),
      );
    await plantBiomes({
      config: ws.config,
      storeFor: (env) => deps.storeFor(env),
      biomes: [
        {
          name: 'prod',
          owner: 'platform',
          deployments: {
            'assay-ingest': [
              { sha: commits.base, by: 'release-bot', at: at(40), origin: { action: 'promote', from: 'staging' } },
            ],
            ...filler(0),
          },
        },
        {
          name: 'staging',
          owner: 'platform',
          deployments: {
            'assay-ingest': [
              { sha: commits.base, by: 'release-bot', at: at(41), origin: { action: 'promote', from: 'dev' } },
              { sha: commits.fix, by: 'release-bot', at: at(3), origin: { action: 'promote', from: 'dev' } },
            ],
            ...filler(1),
          },
        },
        {
          name: 'dev',
          owner: 'platform',
          deployments: {
            'assay-ingest': [
              { sha: commits.base, by: 'ci', at: at(45) },
              { sha: commits.fix, by: 'ci', at: at(4) },
              { sha: commits.feature, by: 'ci', at: at(2) },
              { sha: commits.fix, by: 'amy', at: at(1), origin: { action: 'rollback' } },
            ],
            'grade-model': [{ sha: commits.other, by: 'ci', at: at(5) }],
            ...filler(2),
          },
        },
        ...SANDPITS.map((who, i) => ({
          name: `dev-${who}`,
          owner: who,
          asleep: who === 'carol',
          expires: who === 'dan' ? '2026-11-29T00:00:00.000Z' : '2026-12-03T00:00:00.000Z',
          deployments: {
            'assay-ingest': [{ sha: who === 'bob' ? commits.feature : commits.base, by: who, at: at(i % 5) }],
            ...filler(i + 3),
          },
        })),
      ],
    });
    lines = [];
    ({ pages } = await biomeBoardWith({}, context(), deps));
  }, 300_000);

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('writes an index, a page per biome and the diff pages, and says so', async () => {
    expect(pages).toContain('index.html');
    for (const b of ['dev', 'staging', 'prod', ...SANDPITS.map((s) => `dev-${s}`)])
      expect(pages).toContain(`biomes/${b}.html`);
    expect(pages).toContain('diff/dev..dev-bob.html');
    expect(pages).toContain('diff/staging..dev.html');
    expect(pages).toContain('diff/prod..staging.html');
    for (const b of ['dev', 'staging', 'prod', ...SANDPITS.map((s) => `dev-${s}`)])
      expect(pages).toContain(`data/${b}.js`);
    expect(lines.join('\n')).toMatch(/19 biome\(s\) × 18 project\(s\), \d+ page\(s\) → dist\/biome-board\/index\.html/);
    // Progress while reading, per store.
    expect(lines.join('\n')).toMatch(/reading 17 biome\(s\) of dev from file:\/\//);
  });

  it('the index holds no cell: the main biomes load their column files, no sandpit column is in the page', async () => {
    const index = await read('index.html');
    const scripts = [...index.matchAll(/<script src="([^"]+)">/g)].map((m) => m[1]);
    expect(scripts).toEqual(['data/dev.js', 'data/staging.js', 'data/prod.js']);
    // bob's commit is only in bob's column file (and his pages), not in the index.
    expect(index).not.toContain(commits.feature.slice(0, 8));
    expect(await read('data/dev-bob.js')).toContain(commits.feature);
    expect(index).not.toMatch(/<td class="c/);
  });

  it('is self-contained: no script, style or image from elsewhere, only relative links', async () => {
    for (const page of ['index.html', 'biomes/dev.html', 'diff/dev..dev-bob.html']) {
      const html = await read(page);
      expect(html).not.toMatch(/<(link|img)[^>]+(src|href)=/i);
      // The only scripts loaded are the board's own column files.
      for (const m of html.matchAll(/<script[^>]+src="([^"]*)"/gi)) expect(m[1]).toMatch(/^data\/[a-z0-9-]+\.js$/);
      expect(html).not.toMatch(/(href|src)="(https?:)?\/\//i);
    }
  });

  it('escapes what comes from commits and the store', async () => {
    const html = await read('biomes/dev-bob.html');
    expect(html).toContain('accept &lt;csv&gt; &amp; &quot;tsv&quot; files');
    expect(html).not.toContain('<csv>');
  });

  it('a biome page shows owner, expiry and its history: deploys, promotions and rollbacks', async () => {
    const dev = await read('biomes/dev.html');
    expect(dev).toContain('rollback');
    expect(dev).toContain(commits.feature.slice(0, 8));
    const staging = await read('biomes/staging.html');
    expect(staging).toContain('promote from dev');
    const dan = await read('biomes/dev-dan.html');
    expect(dan).toMatch(/owner <b>dan<\/b>.*expires 2026-11-29 00:00Z <span class="tag expired">expired<\/span>/);
    expect(await read('biomes/dev-carol.html')).toContain('<span class="tag asleep">asleep</span>');
  });

  it('the diff page lists the commits between two biomes from git, only those touching the project', async () => {
    const html = await read('diff/dev..dev-bob.html');
    const row = html.split('\n').find((l) => l.includes('data-project="assay-ingest"'))!;
    expect(row).toContain('dev-bob has 1 commit(s) dev lacks');
    expect(row).toContain('assay-ingest: accept &lt;csv&gt;');
    expect(row).not.toContain('grade-model: unrelated change');
    const foreign = html.split('\n').find((l) => l.includes('data-status="differs"') && l.includes('lacks ffffffff'));
    expect(foreign).toBeDefined();
  });

  it('--environment=dev shows only dev biomes, still marking what staging and prod run', async () => {
    lines = [];
    const { pages: devPages } = await biomeBoardWith({ environment: 'dev', out: 'dist/board-dev' }, context(), deps);
    expect(devPages).not.toContain('biomes/prod.html');
    expect(devPages).toContain('biomes/dev-amy.html');
    const html = await readFile(join(root, 'dist/board-dev/index.html'), 'utf8');
    expect(html).not.toContain('data-biome="staging"');
    const amy = parseColumnData(await readFile(join(root, 'dist/board-dev/data/dev-amy.js'), 'utf8'));
    expect(amy.cells['assay-ingest'][6]).toBe('prod');
  });

  it('a second build reuses what the first read, and still shows what was deployed or changed since', async () => {
    const cacheDir = join(root, 'node_modules/.cache/nx-biome/board');
    lines = [];
    await biomeBoardWith({ out: 'dist/board-warm' }, context(), deps);
    expect(lines.join('\n')).toMatch(/read 0 object\(s\) from the store\(s\), \d+ unchanged since the last build/);
    expect(await read('data/dev-erin.js')).toEqual(
      await readFile(join(root, 'dist/board-warm/data/dev-erin.js'), 'utf8'),
    );
    // A deploy to dev-erin and a new expiry of dev-fay (biome.json of the same size) since the last build.
    await plantBiomes({
      config: await loadWorkspaceConfig(root),
      storeFor: (env) => deps.storeFor(env),
      biomes: [
        {
          name: 'dev-erin',
          owner: 'erin',
          deployments: {
            'assay-ingest': [{ sha: commits.feature, by: 'erin', at: new Date(NOW.getTime() - 3_600_000) }],
          },
        },
      ],
    });
    const store = deps.storeFor('dev');
    const fay = JSON.parse((await store.get('biomes/dev-fay/biome.json'))!.toString('utf8'));
    expect(fay.expires).toBe('2026-12-03T00:00:00.000Z');
    await store.put(
      'biomes/dev-fay/biome.json',
      Buffer.from(JSON.stringify({ ...fay, expires: '2026-12-09T00:00:00.000Z' }, null, 2) + '\n'),
    );
    lines = [];
    await biomeBoardWith({ out: 'dist/board-warm' }, context(), deps);
    const log = lines.join('\n');
    const [, readCount] = /read (\d+) object\(s\)/.exec(log)!;
    // erin's ledger (2 projects on the folder store, no ledger index there), biome.json and the new history record; fay's biome.json.
    expect(Number(readCount)).toBeLessThan(40);
    const erin = parseColumnData(await readFile(join(root, 'dist/board-warm/data/dev-erin.js'), 'utf8'));
    expect(erin.commits[erin.cells['assay-ingest'][0]][0]).toBe(commits.feature);
    const erinPage = await readFile(join(root, 'dist/board-warm/biomes/dev-erin.html'), 'utf8');
    expect(erinPage).toContain(`<code>${commits.feature.slice(0, 8)}</code> assay-ingest: accept`);
    expect(await readFile(join(root, 'dist/board-warm/biomes/dev-fay.html'), 'utf8')).toContain(
      'expires 2026-12-09 00:00Z',
    );
    // Another --historyLimit is not answered from the cache of the last one.
    await biomeBoardWith({ out: 'dist/board-short', historyLimit: 1 }, context(), deps);
    expect(await readFile(join(root, 'dist/board-short/biomes/dev.html'), 'utf8')).toMatch(
      /The newest 1 of \d+ records/,
    );
    // --cache=false reads everything and shows the same.
    lines = [];
    await biomeBoardWith({ out: 'dist/board-cold', cache: false }, context(), deps);
    expect(lines.join('\n')).not.toContain('unchanged since');
    for (const page of ['data/dev-erin.js', 'biomes/dev-fay.html', 'data/dev.js'])
      expect(await readFile(join(root, 'dist/board-cold', page), 'utf8')).toEqual(
        await readFile(join(root, 'dist/board-warm', page), 'utf8'),
      );
    expect((await stat(cacheDir)).isDirectory()).toBe(true);
  });

  it('refuses bad options before writing anything', async () => {
    const fail = (options: Record<string, unknown>) =>
      biomeBoardWith(options, context(), deps).then(
        () => undefined,
        (e) => e,
      );
    expect(await fail({ cache: 'yes', out: 'dist/never' })).toMatchObject({
      code: 'OPTIONS_INVALID',
      message: expect.stringContaining('--cache must be true or false'),
    });
    expect(await fail({ historyLimit: 0, out: 'dist/never' })).toMatchObject({
      code: 'OPTIONS_INVALID',
      message: expect.stringContaining('--historyLimit must be a whole number'),
    });
    expect(await fail({ out: '.' })).toMatchObject({
      code: 'OPTIONS_INVALID',
      message: expect.stringContaining('--out names the workspace root'),
    });
    expect(await fail({ environment: 'qa', out: 'dist/never' })).toMatchObject({ code: 'BIOME_UNKNOWN_ENVIRONMENT' });
    await expect(stat(join(root, 'dist/never'))).rejects.toThrow();
  });

  it('in headless Chromium: main columns at once, a sandpit column when picked (from file://), biome and diff pages', async (ctx) => {
    if (!chromiumOrSkip(() => ctx.skip())) return;
    await withChromium(async (page, problems) => {
      const index = pathToFileURL(join(root, 'dist/biome-board/index.html')).href;
      await page.goto(index);
      const heads = () =>
        page.locator('#matrix thead th[data-biome]').evaluateAll((ths) => ths.map((t) => t.getAttribute('data-biome')));
      const cellOf = async (project: string, biome: string) => {
        const column = (await heads()).indexOf(biome) + 1;
        expect(column).toBeGreaterThan(0);
        return page.locator(`#matrix tbody tr[data-project="${project}"] td`).nth(column);
      };

      // On opening: the main biomes' columns, loaded from their files; no sandpit.
      await expect.poll(heads).toEqual(['dev', 'staging', 'prod']);
      const staging = await cellOf('assay-ingest', 'staging');
      expect(await staging.innerText()).toContain(commits.fix.slice(0, 8));
      expect(await staging.innerText()).toContain('assay-ingest: retry on throttling');

      // Picking dev-bob adds his column: bob's commit and subject (escaped as text, not parsed as HTML).
      await page.selectOption('#add-biome', 'dev-bob');
      await page.click('#add-column');
      await expect.poll(heads).toEqual(['dev', 'staging', 'prod', 'dev-bob']);
      const bob = await cellOf('assay-ingest', 'dev-bob');
      expect(await bob.innerText()).toContain(commits.feature.slice(0, 8));
      expect(await bob.innerText()).toContain('assay-ingest: accept <csv> & "tsv" files');
      expect(await page.locator('#matrix csv').count()).toBe(0);
      expect(page.url()).toMatch(/#show=dev-bob$/);
      expect(await page.locator('#add-biome option[value="dev-bob"]').isDisabled()).toBe(true);

      // The "show" link of the biome table: dev-amy runs prod's bytes of assay-ingest, marked "prod".
      await page.click('#biomes tr[data-biome="dev-amy"] a.show');
      await expect.poll(heads).toEqual(['dev', 'staging', 'prod', 'dev-bob', 'dev-amy']);
      expect(await (await cellOf('assay-ingest', 'dev-amy')).locator('.same').allTextContents()).toEqual(['prod']);
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: join(WORKSPACE_ROOT, 'dist/test-artifacts/board.png') });
      if (process.env.BOARD_README_SCREENSHOT)
        await page.screenshot({ path: join(WORKSPACE_ROOT, 'docs/img/biome-board.png') });

      // The filter hides other projects, in every column.
      await page.fill('#filter', 'ingest');
      expect(await page.locator('#matrix tbody tr:visible').count()).toBe(1);
      await page.fill('#filter', '');

      // Removing a column; the address keeps the picked ones, so a link opens the same matrix.
      await page.click('#matrix thead th[data-biome="dev-bob"] button.remove');
      await expect.poll(heads).toEqual(['dev', 'staging', 'prod', 'dev-amy']);
      expect(await page.locator('#add-biome option[value="dev-bob"]').isDisabled()).toBe(false);
      expect(await page.locator('#matrix tbody tr[data-project="assay-ingest"] td').count()).toBe(5);
      await page.goto('about:blank');
      await page.goto(`${index}#show=dev-carol,dev-bob,../../etc/passwd`);
      await expect.poll(heads).toEqual(['dev', 'staging', 'prod', 'dev-carol', 'dev-bob']);
      expect(await page.locator('#matrix thead th[data-biome="dev-carol"] .tag.asleep').count()).toBe(1);

      // A biome page, from its column head.
      await page.click('#matrix thead th[data-biome="dev-bob"] a');
      await page.waitForURL(/biomes\/dev-bob\.html$/);
      expect(await page.locator('table.ledger tr[data-project="assay-ingest"]').innerText()).toContain(
        commits.feature.slice(0, 8),
      );
      await page.goBack();

      // The diff view, through the compare form.
      await page.selectOption('#pair', 'diff/dev..dev-bob.html');
      await page.click('#compare button');
      await page.waitForURL(/diff\/dev\.\.dev-bob\.html$/);
      const row = page.locator('#diff tr[data-project="assay-ingest"]');
      expect(await row.innerText()).toContain('dev-bob has 1 commit(s) dev lacks');
      expect(await row.innerText()).toContain(
        `${commits.feature.slice(0, 8)} assay-ingest: accept <csv> & "tsv" files`,
      );
      await page.screenshot({ path: join(WORKSPACE_ROOT, 'dist/test-artifacts/board-diff.png') });
      expect(problems).toEqual([]);
    });
    expect((await stat(join(WORKSPACE_ROOT, 'dist/test-artifacts/board.png'))).size).toBeGreaterThan(1000);
  });

  it('in headless Chromium: a missing column file is reported on the page, not a silent empty column', async (ctx) => {
    if (!chromiumOrSkip(() => ctx.skip())) return;
    await rm(join(root, 'dist/board-warm/data/dev-gus.js'));
    await withChromium(async (page, problems) => {
      await page.goto(pathToFileURL(join(root, 'dist/board-warm/index.html')).href);
      await page.selectOption('#add-biome', 'dev-gus');
      await page.click('#add-column');
      await expect.poll(() => page.locator('#status').innerText()).toContain('could not load data/dev-gus.js');
      expect(await page.locator('#matrix thead th[data-biome="dev-gus"]').count()).toBe(0);
      // Chromium reports the failed file:// load itself; nothing else went wrong.
      expect(problems.filter((p) => !p.includes('dev-gus.js') && !p.includes('ERR_FILE_NOT_FOUND'))).toEqual([]);
    });
  });
});
