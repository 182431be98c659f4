import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFileStore } from '../../tools/nx-biome/src/adapters/store/file-store';
import { openStore } from '../../tools/nx-biome/src/adapters/store/open-store';
import { collectFolder } from '../../tools/nx-biome/src/adapters/archive';
import { buildModel } from '../../tools/nx-biome/src/executors/model-build/executor';
import { createBiomeTree, snapshot } from '../../tools/nx-biome/src/generators/testing';
import serviceGenerator from '../../tools/nx-biome/src/generators/service/generator';
import modelGenerator from '../../tools/nx-biome/src/generators/model/generator';
import workflowGenerator from '../../tools/nx-biome/src/generators/workflow/generator';
import { ledgerObjectsOf } from '../../apps/services/artifact-deployer/src/record-event';
import { createDeployFixture, DeployFixture, FIXTURE_CONFIG } from '../faults/fixture';
import { createFigures } from '../faults/figures';

/*
 * Bad input, one table per surface. Each row: a clear error naming the
 * problem (a stable code), a failing result, and nothing written to the
 * store, the ledger or dist/terraform.
 */

const figures = createFigures('bad-input');
let fx: DeployFixture;
const STORE = () => join(fx.root, '.biome-store');
const env = () => ({ BIOME_STORE: undefined, BIOME_STORE_DEV: undefined });

async function files(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

/**
 * What a refused command must leave as it was: the store's objects and the tfvars. A lease folder's
 * permanent marker (`locks/<scope>/scope.json`, created the first time a biome's lease is taken and
 * never deleted; docs/reliability.md) is no object of the ledger and is left out.
 */
async function written(): Promise<string[]> {
  return [
    ...(await files(STORE())).filter((f) => !/(^|\/)locks\/.*\/scope\.json$/.test(f)),
    ...(await files(join(fx.root, 'dist/terraform'))),
  ];
}

/** Runs `fn`, expects a BiomeError with `code` and a message matching `message`, and that nothing new was written. */
async function expectRefused(fn: () => Promise<unknown>, code: string, message: RegExp) {
  const before = await written();
  const error = await fn().then(
    () => undefined,
    (e) => e,
  );
  figures.add('badInputs', 1);
  expect(error, 'should have failed').toBeDefined();
  expect(error.code, error.message).toBe(code);
  expect(error.message).toMatch(message);
  expect(await written()).toEqual(before);
}

beforeAll(async () => {
  fx = await createDeployFixture([{ name: 'assay-ingest' }, { name: 'grade-predict' }], 'bad-input-');
  await fx.package('assay-ingest');
  await fx.package('grade-predict');
});

afterAll(async () => {
  await figures.write();
  await fx?.cleanup();
});

describe('CLI options: --biome', () => {
  const long = `dev-${'a'.repeat(40)}`;
  it.each([
    ['dev-$(touch pwned)', 'BIOME_NAME_INVALID', /is invalid: use lowercase letters/],
    ['dev-`id`', 'BIOME_NAME_INVALID', /is invalid/],
    ['dev;rm -rf /', 'BIOME_NAME_INVALID', /is invalid/],
    ['dev|cat', 'BIOME_NAME_INVALID', /is invalid/],
    ['dev&&x', 'BIOME_NAME_INVALID', /is invalid/],
    ['../dev', 'BIOME_NAME_INVALID', /is invalid/],
    ['dev/../../etc', 'BIOME_NAME_INVALID', /is invalid/],
    ['dev-..', 'BIOME_NAME_INVALID', /is invalid/],
    ['Dev-Bob', 'BIOME_NAME_INVALID', /"Dev-Bob" is invalid/],
    ['DEV', 'BIOME_NAME_INVALID', /is invalid/],
    ['dev-b\u043eb', 'BIOME_NAME_INVALID', /\\u043e/], // Cyrillic o
    ['\u0501ev', 'BIOME_NAME_INVALID', /\\u0501/], // Cyrillic d
    ['dev-\uff42ob', 'BIOME_NAME_INVALID', /\\uff42/], // fullwidth b
    ['dev-b\u200bob', 'BIOME_NAME_INVALID', /\\u200b/], // zero-width space
    ['dev-bob\n', 'BIOME_NAME_INVALID', /"dev-bob\\n" is invalid/],
    ['dev\nprod', 'BIOME_NAME_INVALID', /"dev\\nprod" is invalid/],
    ['dev-bob\0', 'BIOME_NAME_INVALID', /\\u0000/],
    [' dev', 'BIOME_NAME_INVALID', /is invalid/],
    ['dev--x', 'BIOME_NAME_INVALID', /single hyphens/],
    ['dev-', 'BIOME_NAME_INVALID', /not ending with a hyphen/],
    [long, 'BIOME_NAME_INVALID', /44 characters; the limit is 24/],
    ['', 'OPTIONS_INVALID', /No biome given/],
    ['prod-bob', 'BIOME_SANDPIT_NOT_ALLOWED', /single-tenant/],
    ['qa-bob', 'BIOME_UNKNOWN_ENVIRONMENT', /does not belong to a configured environment/],
  ])('deploy --biome=%j: %s', async (biome, code, message) => {
    await expectRefused(() => fx.deploy('assay-ingest', biome, env()), code, message);
  });

  it.each([
    ['dev-$(touch pwned)', 'BIOME_NAME_INVALID'],
    ['dev/../x', 'BIOME_NAME_INVALID'],
    ['dev-b\u043eb', 'BIOME_NAME_INVALID'],
  ])('infra:deploy and package --biome=%j: %s, no tfvars, no archive', async (biome, code) => {
    await expectRefused(() => fx.render(biome, env()), code, /is invalid/);
    const before = await files(join(fx.root, 'dist/artifacts'));
    const error = await import('../../tools/nx-biome/src/executors/package/executor')
      .then((m) =>
        m.packageProject(
          { kind: 'service', buildOutput: 'dist/apps/services/assay-ingest', biome } as never,
          fx.context('assay-ingest'),
        ),
      )
      .then(
        () => undefined,
        (e) => e,
      );
    expect(error?.code).toBe(code);
    expect(await files(join(fx.root, 'dist/artifacts'))).toEqual(before);
    expect(existsSync(join(fx.root, 'pwned'))).toBe(false);
  });

  it.each([['Assay_Ingest'], ['x-$(touch pwned)'], ['../escape'], ['a\u0430'], ['a\nb']])(
    'a project named %j is refused before packaging',
    async (name) => {
      const ctx = {
        ...fx.context('assay-ingest'),
        projectName: name,
        projectsConfigurations: { version: 2, projects: { [name]: { root: 'apps/services/assay-ingest' } } },
      };
      const { packageProject } = await import('../../tools/nx-biome/src/executors/package/executor');
      const error = await packageProject(
        { kind: 'service', buildOutput: 'dist/apps/services/assay-ingest' },
        ctx as never,
      ).then(
        () => undefined,
        (e) => e,
      );
      figures.add('badInputs', 1);
      expect(error?.code).toBe('PROJECT_NAME_INVALID');
    },
  );
});

describe('workspace config (nx-biome.json)', () => {
  const variants: [string, (c: typeof FIXTURE_CONFIG) => unknown, RegExp][] = [
    [
      'unknown environment in promotionOrder',
      (c) => ({ ...c, promotionOrder: ['dev', 'qa', 'prod'] }),
      /promotionOrder: names unknown environment "qa"/,
    ],
    [
      'bad account id',
      (c) => ({ ...c, environments: { ...c.environments, dev: { ...c.environments.dev, account: '1234' } } }),
      /environments\.dev\.account: must be a 12-digit AWS account id/,
    ],
    [
      'bad region',
      (c) => ({ ...c, environments: { ...c.environments, dev: { ...c.environments.dev, region: 'mars-1' } } }),
      /environments\.dev\.region: must be an AWS region/,
    ],
    ['unknown top-level field', (c) => ({ ...c, deployEverywhere: true }), /deployEverywhere/],
    [
      'unknown environment field',
      (c) => ({ ...c, environments: { ...c.environments, dev: { ...c.environments.dev, secretKey: 'x' } } }),
      /environments\.dev.*secretKey/,
    ],
    [
      'environment name with a path',
      (c) => ({ ...c, environments: { ...c.environments, '../x': c.environments.dev } }),
      /environments/,
    ],
    ['name prefix with shell characters', (c) => ({ ...c, namePrefix: 'geo;id' }), /namePrefix/],
    [
      'bucket that is not a bucket name',
      (c) => ({ ...c, environments: { ...c.environments, dev: { ...c.environments.dev, bucket: 'Bad_Bucket' } } }),
      /environments\.dev\.bucket/,
    ],
    ['no environments', (c) => ({ ...c, environments: {}, promotionOrder: [] }), /CONFIG|environments|promotionOrder/],
    [
      'several problems of different kinds',
      (c) => ({
        ...c,
        promotionOrder: ['dev', 'qa', 'uat'],
        environments: { ...c.environments, dev: { ...c.environments.dev, account: '1234' } },
      }),
      // Schema problems first: one round of fixes shows the rest, all of them at once.
      /environments\.dev\.account: must be a 12-digit AWS account id/,
    ],
    [
      'two unknown environments in promotionOrder, both named at once',
      (c) => ({ ...c, promotionOrder: ['dev', 'qa', 'uat'] }),
      /promotionOrder: names unknown environment "qa"[\s\S]*promotionOrder: names unknown environment "uat"/,
    ],
  ];
  it.each(variants)('%s: CONFIG_INVALID naming it', async (_label, change, message) => {
    const path = join(fx.root, 'nx-biome.json');
    const original = await readFile(path, 'utf8');
    await writeFile(path, JSON.stringify(change(JSON.parse(original))));
    try {
      await expectRefused(() => fx.deploy('assay-ingest', 'dev-bob', env()), 'CONFIG_INVALID', message);
    } finally {
      await writeFile(path, original);
    }
  });

  it('not JSON: CONFIG_INVALID', async () => {
    const path = join(fx.root, 'nx-biome.json');
    const original = await readFile(path, 'utf8');
    await writeFile(path, '{ "namePrefix": "geo", ');
    try {
      await expectRefused(() => fx.deploy('assay-ingest', 'dev-bob', env()), 'CONFIG_INVALID', /not valid JSON/);
    } finally {
      await writeFile(path, original);
    }
  });
});

describe('store URLs (BIOME_STORE)', () => {
  it.each([
    ['http://bucket', /scheme must be s3:\/\/ or file:\/\//],
    ['ftp://x', /scheme/],
    ['S3://bucket', /scheme/],
    ['s3://Bad_Bucket', /not a valid S3 bucket name/],
    ['s3://ab', /not a valid S3 bucket name/],
    ['s3://bucket..x', /not a valid S3 bucket name/],
    ['s3://xn--bucket', /not a valid S3 bucket name/],
    ['s3://ok-bucket/../x', /prefix/],
    ['s3://ok-bucket/a/./b', /prefix/],
    ['s3://ok-bucket/a%2F..', /prefix/],
    ['s3://ok-bucket/$(id)', /prefix/],
    ['s3://ok-bucket/a b', /whitespace/],
    ['s3://ok-bucket\nx', /whitespace|control/],
    ['file://', /path is empty/],
    ['file:///tmp/x\0y', /whitespace|control/],
  ])('%j: STORE_URL_INVALID', async (url, message) => {
    await expectRefused(() => fx.deploy('assay-ingest', 'dev-bob', { BIOME_STORE: url }), 'STORE_URL_INVALID', message);
  });
});

describe('ledger records read back from the store', () => {
  const sha = '0123456789abcdef0123456789abcdef01234567';
  const good = {
    schemaVersion: 1,
    project: 'assay-ingest',
    kind: 'service',
    biome: 'dev-led',
    environment: 'dev',
    artifactKey: `artifacts/assay-ingest/assay-ingest-${sha}.zip`,
    sha256: 'a'.repeat(64),
    size: 1,
    gitSha: sha,
    dirty: false,
    deployedAt: '2026-01-01T00:00:00.000Z',
    deployedBy: 'x',
    settings: {},
  };
  const rows: [string, string, RegExp][] = [
    ['not JSON', '{"schemaVersion": 1, "project": "assay-', /is not valid JSON/],
    ['a JSON array', '[]', /is not a JSON object/],
    ['unknown schema version', JSON.stringify({ ...good, schemaVersion: 2 }), /unknown schemaVersion 2/],
    [
      'artifactKey with ..',
      JSON.stringify({ ...good, artifactKey: 'artifacts/assay-ingest/../../biomes/prod/x.zip' }),
      /points outside artifacts\/assay-ingest\//,
    ],
    [
      'artifactKey of another project',
      JSON.stringify({ ...good, artifactKey: `artifacts/grade-predict/grade-predict-${sha}.zip` }),
      /points outside/,
    ],
    [
      'artifactKey as an s3 URL',
      JSON.stringify({ ...good, artifactKey: `s3://other-bucket/artifacts/assay-ingest/assay-ingest-${sha}.zip` }),
      /points outside/,
    ],
    ['absolute artifactKey', JSON.stringify({ ...good, artifactKey: '/etc/passwd' }), /points outside/],
    ['project name with shell characters', JSON.stringify({ ...good, project: 'a$(id)' }), /invalid project name/],
    ['short git SHA', JSON.stringify({ ...good, gitSha: sha.slice(0, 8) }), /invalid git SHA/],
    [
      'record of another project under this key',
      JSON.stringify({
        ...good,
        project: 'grade-predict',
        artifactKey: `artifacts/grade-predict/grade-predict-${sha}.zip`,
      }),
      /grade-predict/,
    ],
    ['record of another biome under this key', JSON.stringify({ ...good, biome: 'dev-other' }), /dev-other/],
  ];
  it.each(rows)(
    '%s: render fails with LEDGER_RECORD_INVALID and renders nothing; a deploy of the project replaces the record, with a warning',
    async (_label, text, message) => {
      const store = createFileStore(join(STORE(), 'dev'));
      await store.put('biomes/dev-led/ledger/assay-ingest.json', Buffer.from(text));
      try {
        await expectRefused(() => fx.render('dev-led', env()), 'LEDGER_RECORD_INVALID', message);
        // The fix the error names works: the deploy overwrites the bad record (the history keeps every valid one).
        const warnings: string[] = [];
        const warn = console.warn;
        console.warn = (line: string) => warnings.push(line);
        try {
          await fx.deploy('assay-ingest', 'dev-led', env());
        } finally {
          console.warn = warn;
        }
        expect(warnings.join('\n')).toMatch(message);
        expect(warnings.join('\n')).toMatch(/It is replaced by this deploy/);
        expect(
          JSON.parse((await store.get('biomes/dev-led/ledger/assay-ingest.json'))!.toString('utf8')),
        ).toMatchObject({ project: 'assay-ingest', biome: 'dev-led' });
      } finally {
        await store.delete((await store.list('biomes/dev-led/')).map((o) => o.key));
      }
    },
  );
});

describe('artifacts in the store that are not what they claim', () => {
  const manifest = async () =>
    JSON.parse(await readFile(join(fx.root, 'dist/artifacts/grade-predict.manifest.json'), 'utf8'));
  const body = async () => readFile(join(fx.root, 'dist/artifacts', (await manifest()).file));
  const store = () => createFileStore(join(STORE(), 'dev'));
  const key = async () => `artifacts/grade-predict/${(await manifest()).file}`;
  const clear = async () => store().delete([await key(), 'biomes/dev-art/ledger/grade-predict.json']);

  it('same size, one byte flipped, metadata vouching for it: ARTIFACT_CORRUPT, no record', async () => {
    const b = Buffer.from(await body());
    b[100] ^= 0xff;
    await store().put(await key(), b, { metadata: { sha256: (await manifest()).sha256 } });
    try {
      await expectRefused(
        () => fx.deploy('grade-predict', 'dev-art', env()),
        'ARTIFACT_CORRUPT',
        /corrupt or truncated/,
      );
    } finally {
      await clear();
    }
  });

  it('other bytes under the key (another build of the commit): ARTIFACT_CONFLICT, never overwritten, no record', async () => {
    await store().put(await key(), Buffer.from('PK other build'), { metadata: { sha256: 'b'.repeat(64) } });
    try {
      await expectRefused(() => fx.deploy('grade-predict', 'dev-art', env()), 'ARTIFACT_CONFLICT', /never overwritten/);
      expect((await store().get(await key()))!.toString()).toBe('PK other build');
    } finally {
      await clear();
    }
  });

  it('truncated (what an interrupted upload leaves): completed on deploy and recorded only once verified', async () => {
    await store().put(await key(), (await body()).subarray(0, 1000));
    try {
      const result = await fx.deploy('grade-predict', 'dev-art', env());
      figures.add('badInputs', 1);
      expect(result.outcome).toBe('uploaded');
      expect((await store().get(await key()))!.equals(await body())).toBe(true);
    } finally {
      await clear();
    }
  });

  it('the local archive in dist/ altered after packaging: ARTIFACT_CORRUPT before any upload', async () => {
    const path = join(fx.root, 'dist/artifacts', (await manifest()).file);
    const original = await readFile(path);
    await writeFile(path, Buffer.concat([original, Buffer.from('x')]));
    try {
      await expectRefused(
        () => fx.deploy('grade-predict', 'dev-art', env()),
        'ARTIFACT_CORRUPT',
        /does not match its recorded sha256/,
      );
    } finally {
      await writeFile(path, original);
    }
  });
});

describe('project folders with escaping symlinks and secret files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pkg-input-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.each([
    ['a symlink to /etc/passwd', async (d: string) => symlink('/etc/passwd', join(d, 'passwd'))],
    ['a symlink to the parent folder', async (d: string) => symlink('..', join(d, 'up'))],
    ['a symlink into another project', async (d: string) => symlink(join(dir, 'other'), join(d, 'lib'))],
    ['a broken symlink', async (d: string) => symlink(join(d, 'nowhere'), join(d, 'dangling'))],
  ])('%s: PACKAGE_INPUT_INVALID naming it, no archive', async (label, plant) => {
    const d = join(dir, label.replace(/\W+/g, '-'));
    await mkdir(join(d), { recursive: true });
    await mkdir(join(dir, 'other'), { recursive: true });
    await writeFile(join(d, 'index.js'), 'ok');
    await plant(d);
    const error = await collectFolder(d).then(
      () => undefined,
      (e) => e,
    );
    figures.add('badInputs', 1);
    expect(error?.code).toBe('PACKAGE_INPUT_INVALID');
    expect(error.message).toMatch(/points outside the project/);
  });

  it('.env, .env.local, .npmrc, .netrc, .aws/, id_rsa and a private-key .pem are refused, naming each; no archive', async () => {
    const fixture = await createDeployFixture([{ name: 'leaky' }], 'leaky-');
    try {
      const out = join(fixture.root, 'dist/apps/services/leaky');
      const secrets = {
        '.env': 'A=1',
        '.env.local': 'B=2',
        '.npmrc': '//r/:_authToken=x',
        '.netrc': 'machine x',
        id_rsa: 'KEY',
        'server.pem': '-----BEGIN PRIVATE KEY-----\nMIIE',
        'sub/.env': 'C=3',
      };
      await mkdir(join(out, 'sub'), { recursive: true });
      await mkdir(join(out, '.aws'), { recursive: true });
      await writeFile(join(out, '.aws/credentials'), '[default]');
      for (const [name, text] of Object.entries(secrets)) await writeFile(join(out, name), text);
      const error = await fixture.package('leaky').then(
        () => undefined,
        (e) => e,
      );
      figures.add('badInputs', Object.keys(secrets).length + 1);
      expect(error?.code).toBe('PACKAGE_INPUT_INVALID');
      for (const name of [...Object.keys(secrets), '.aws']) expect(error.message).toContain(`"${name}"`);
      expect(await files(join(fixture.root, 'dist/artifacts'))).toEqual([]);
    } finally {
      await fixture.cleanup();
    }
  });

  it('model-build refuses a model folder holding .env or an escaping symlink', async () => {
    for (const plant of [
      (d: string) => writeFile(join(d, '.env'), 'SECRET=1'),
      (d: string) => symlink('/etc', join(d, 'etc')),
    ]) {
      const root = await mkdtemp(join(tmpdir(), 'model-in-'));
      await mkdir(join(root, 'apps/models/m/model'), { recursive: true });
      await writeFile(join(root, 'apps/models/m/model/weights.json'), '{}');
      await plant(join(root, 'apps/models/m/model'));
      const ctx = {
        root,
        projectName: 'm',
        projectsConfigurations: { version: 2, projects: { m: { root: 'apps/models/m' } } },
      };
      const error = await buildModel({ outputPath: 'dist/apps/models/m' } as never, ctx as never).then(
        () => undefined,
        (e) => e,
      );
      figures.add('badInputs', 1);
      expect(error?.code).toBe('PACKAGE_INPUT_INVALID');
      expect(existsSync(join(root, 'dist/apps/models/m'))).toBe(false);
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('generator names', () => {
  it.each([
    ['$(touch pwned)'],
    ['Tailings'],
    ['../escape'],
    ['t\u0430il'],
    ['tail\nings'],
    ['tail--ings'],
    ['x'.repeat(60)],
    [''],
  ])('%j is refused by every generator, writing nothing', async (name) => {
    for (const generator of [serviceGenerator, modelGenerator, workflowGenerator] as ((
      t: unknown,
      o: { name: string },
    ) => Promise<unknown>)[]) {
      const tree = createBiomeTree();
      const before = snapshot(tree);
      const error = await generator(tree, { name }).then(
        () => undefined,
        (e) => e,
      );
      figures.add('badInputs', 1);
      expect(error, name).toBeDefined();
      expect(String(error.message)).toMatch(/PROJECT_NAME_INVALID|AWS_NAME_TOO_LONG|OPTIONS_INVALID/);
      expect(snapshot(tree)).toEqual(before);
    }
  });
});

describe('S3 events reaching the artifact deployer', () => {
  const event = (key: string, eventName = 'ObjectCreated:Put') => ({
    Records: [{ eventName, s3: { bucket: { name: 'b' }, object: { key } } }],
  });
  it.each([
    ['history record', 'biomes/dev-bob/history/assay-ingest/20260101T000000Z-x.json'],
    ['biome.json', 'biomes/dev-bob/biome.json'],
    ['an artifact', 'artifacts/assay-ingest/assay-ingest-x.zip'],
    ['path traversal', 'biomes/dev-bob/ledger/../../prod/ledger/assay-ingest.json'],
    ['encoded traversal', 'biomes/dev-bob/ledger/..%2F..%2Fprod%2Fledger%2Fa.json'],
    ['upper case project', 'biomes/dev-bob/ledger/Assay.json'],
    ['shell characters', 'biomes/dev-bob/ledger/a%24%28id%29.json'],
    ['newline in key', 'biomes/dev-bob/ledger/a%0Ab.json'],
    ['nested deeper', 'biomes/dev-bob/ledger/x/assay-ingest.json'],
  ])('%s is not treated as a ledger record', (_label, key) => {
    figures.add('badInputs', 1);
    expect(ledgerObjectsOf(event(key))).toEqual([]);
  });

  it('a removal event is ignored; a malformed event deploys nothing', () => {
    figures.add('badInputs', 3);
    expect(ledgerObjectsOf(event('biomes/dev-bob/ledger/assay-ingest.json', 'ObjectRemoved:Delete'))).toEqual([]);
    expect(ledgerObjectsOf({ Records: [{ eventName: 'ObjectCreated:Put' }] } as never)).toEqual([]);
    expect(ledgerObjectsOf({} as never)).toEqual([]);
  });
});

void gunzipSync;
void openStore;
