import { describe, expect, it } from 'vitest';
import {
  assertPackagePolicy,
  contentRule,
  isOmitted,
  looksLikeGitDir,
  parseAllowUntracked,
  pathRule,
  untrackedCandidates,
  untrackedViolations,
} from './package-files';

describe('pathRule: files and folders refused by name', () => {
  it.each([
    ['.git', 'dir', 'git-metadata'],
    ['vendor/.git', 'file', 'git-metadata'],
    ['.ssh', 'dir', 'credential-file'],
    ['home/.aws', 'dir', 'credential-file'],
    ['.gnupg', 'dir', 'credential-file'],
    ['.env', 'file', 'credential-file'],
    ['config/.env.production', 'file', 'credential-file'],
    ['.npmrc', 'file', 'credential-file'],
    ['.netrc', 'file', 'credential-file'],
    ['_netrc', 'file', 'credential-file'],
    ['.pypirc', 'file', 'credential-file'],
    ['.pgpass', 'file', 'credential-file'],
    ['.git-credentials', 'file', 'credential-file'],
    ['id_rsa', 'file', 'credential-file'],
    ['keys/id_dsa', 'file', 'credential-file'],
    ['id_ecdsa', 'file', 'credential-file'],
    ['id_ed25519', 'file', 'credential-file'],
    ['id_ed25519_sk', 'file', 'credential-file'],
    ['tls/server.key', 'file', 'credential-file'],
    ['credentials.json', 'file', 'credential-file'],
    ['.docker/config.json', 'file', 'credential-file'],
    ['home/.kube/config', 'file', 'credential-file'],
    ['terraform.tfstate', 'file', 'credential-file'],
    ['infra/terraform.tfstate.backup', 'file', 'credential-file'],
    ['client.p12', 'file', 'credential-file'],
    ['client.pfx', 'file', 'credential-file'],
    ['app.jks', 'file', 'credential-file'],
    ['putty.ppk', 'file', 'credential-file'],
  ] as const)('%s (%s): %s', (path, type, rule) => {
    expect(pathRule(path, type)).toBe(rule);
  });

  it.each([
    ['main.js', 'file'],
    ['.env.example', 'file'],
    ['.env.sample', 'file'],
    ['id_ed25519.pub', 'file'],
    ['certs/global-bundle.pem', 'file'],
    ['keys', 'dir'],
    ['monkey.js', 'file'],
    ['docker/config.json', 'file'],
    ['config.json', 'file'],
    ['environment.ts', 'file'],
    ['.github', 'dir'],
    ['ssh', 'dir'],
  ] as const)('allows %s (%s)', (path, type) => {
    expect(pathRule(path, type)).toBeUndefined();
  });

  it('leaves out OS junk, nothing else', () => {
    expect(isOmitted('a/.DS_Store')).toBe(true);
    expect(isOmitted('Thumbs.db')).toBe(true);
    expect(isOmitted('DS_Store.js')).toBe(false);
  });

  it('recognises a git directory copied under another name', () => {
    const dir = (name: string) => ({ name, dir: true });
    const file = (name: string) => ({ name, dir: false });
    expect(looksLikeGitDir([file('HEAD'), dir('objects'), dir('refs'), file('config')])).toBe(true);
    expect(looksLikeGitDir([file('HEAD'), dir('objects')])).toBe(false);
    expect(looksLikeGitDir([dir('HEAD'), dir('objects'), dir('refs')])).toBe(false);
  });
});

describe('contentRule: credentials by content', () => {
  it.each([
    ['-----BEGIN RSA PRIVATE KEY-----\nMIIE', 'private-key'],
    ['-----BEGIN PRIVATE KEY-----', 'private-key'],
    ['-----BEGIN EC PRIVATE KEY-----', 'private-key'],
    ['-----BEGIN OPENSSH PRIVATE KEY-----', 'private-key'],
    ['-----BEGIN ENCRYPTED PRIVATE KEY-----', 'private-key'],
    ['-----BEGIN PGP PRIVATE KEY BLOCK-----', 'private-key'],
    ['{"id":"AKIAZ3MQW7XKJ2ABCDEF"}', 'aws-access-key-id'],
    ['AccessKeyId=ASIAZ3MQW7XKJ2ABCDEF\n', 'aws-access-key-id'],
    ['aws_secret_access_key = Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy', 'aws-secret-access-key'],
    ['AWS_SECRET_ACCESS_KEY="Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy"', 'aws-secret-access-key'],
    ['{"SecretAccessKey": "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy"}', 'aws-secret-access-key'],
  ])('%j: %s', (text, rule) => {
    expect(contentRule(Buffer.from(text))).toBe(rule);
  });

  it.each([
    ['-----BEGIN CERTIFICATE-----\nMIIE'],
    ['-----BEGIN PUBLIC KEY-----'],
    ['const id = process.env.AWS_ACCESS_KEY_ID, s = process.env.AWS_SECRET_ACCESS_KEY;'],
    ['docs: AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
    ['aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
    ['base64 blob xAKIAZ3MQW7XKJ2ABCDEFy inside other text'],
    ['AKIA too short'],
  ])('allows %j', (text) => {
    expect(contentRule(Buffer.from(text))).toBeUndefined();
  });

  it('finds a key in the middle of a large binary file', () => {
    const body = Buffer.concat([
      Buffer.alloc(3_000_000, 7),
      Buffer.from('\n-----BEGIN DSA PRIVATE KEY-----\n'),
      Buffer.alloc(1000, 1),
    ]);
    expect(contentRule(body)).toBe('private-key');
  });
});

describe('untracked sources', () => {
  const files = [
    { path: 'index.js', size: 10 },
    { path: 'assets/notes.log', size: 22 },
    { path: 'weights/w.bin', size: 5 },
  ];
  const untracked = [
    { path: 'apps/services/svc/assets/notes.log', size: 22 },
    { path: 'apps/services/svc/assets/other.log', size: 22 },
    { path: 'apps/services/svc/weights/w.bin', size: 5 },
    { path: 'apps/services/svc/index.js', size: 11 },
  ];

  it('pairs files with untracked sources of the same name and size', () => {
    expect(untrackedCandidates(files, untracked)).toEqual([
      { path: 'assets/notes.log', source: 'apps/services/svc/assets/notes.log' },
      { path: 'weights/w.bin', source: 'apps/services/svc/weights/w.bin' },
    ]);
  });

  it.each([
    [[], ['assets/notes.log', 'weights/w.bin']],
    [['weights/**'], ['assets/notes.log']],
    [['**/*.log', 'weights/*'], []],
    [['apps/services/svc/weights/**'], ['assets/notes.log', 'weights/w.bin']],
    [['assets/notes.txt'], ['assets/notes.log', 'weights/w.bin']],
  ])('allowUntracked %j refuses %j', (allow, refused) => {
    const copies = untrackedCandidates(files, untracked);
    const violations = untrackedViolations(copies, 'apps/services/svc', allow);
    expect(violations.map((v) => v.path)).toEqual(refused);
    for (const v of violations)
      expect(v).toMatchObject({
        rule: 'untracked-source',
        detail: expect.stringContaining(`apps/services/svc/${v.path}`),
      });
  });

  it('a source outside the project root is never opted in', () => {
    expect(
      untrackedViolations([{ path: 'x.log', source: 'libs/shared/x.log' }], 'apps/services/svc', ['**']),
    ).toHaveLength(1);
  });

  it.each([[['model/weights/**']], [undefined]])('accepts allowUntracked %j', (value) => {
    expect(parseAllowUntracked(value, 'p')).toEqual(value ?? []);
  });

  it.each([['model/**'], [['']], [['/etc/**']], [['../other/**']], [[1]]])('rejects allowUntracked %j', (value) => {
    expect(() => parseAllowUntracked(value, 'p')).toThrow(expect.objectContaining({ code: 'OPTIONS_INVALID' }));
  });
});

describe('assertPackagePolicy', () => {
  it('passes with no violation', () => {
    expect(() => assertPackagePolicy('dist/x', [])).not.toThrow();
  });

  it('names every file, its rule and the fix of each rule involved', () => {
    let error: { code?: string; message?: string; hint?: string } = {};
    try {
      assertPackagePolicy('dist/x', [
        { path: 'z/id_rsa', rule: 'credential-file' },
        { path: 'link', rule: 'symlink', detail: 'points outside the project (/repo/.git)' },
      ]);
    } catch (e) {
      error = e as typeof error;
    }
    expect(error.code).toBe('PACKAGE_INPUT_INVALID');
    expect(error.message).toBe(
      'dist/x: 2 files must not be packaged:\n' +
        '  - "link" [symlink]: points outside the project (/repo/.git); symlinks are never packaged or followed (a link can pull in .git, secrets or itself)\n' +
        '  - "z/id_rsa" [credential-file]: a credential or local-state file by its name',
    );
    expect(error.hint).toMatch(
      /^\[symlink\] Replace the symlink[\s\S]*\n {2}\[credential-file\] Remove it from the project/,
    );
  });
});
