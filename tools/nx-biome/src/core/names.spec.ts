import { describe, expect, it } from 'vitest';
import { BiomeError } from './errors';
import {
  awsNamesFor,
  checkAwsNameBudget,
  maxProjectNameLength,
  parseBiomeName,
  parseResourceName,
  ProjectKind,
  resourceName,
  validateProjectName,
} from './names';
import { testConfig } from './test-config';

const config = testConfig();

function errorOf(fn: () => unknown): BiomeError {
  try {
    fn();
  } catch (e) {
    if (e instanceof BiomeError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('parseBiomeName', () => {
  it.each([
    ['dev', 'dev', false],
    ['dev-bob', 'dev', true],
    ['dev-mr-142', 'dev', true],
    ['staging', 'staging', false],
    ['prod', 'prod', false],
  ])('accepts %s (environment %s, sandpit %s)', (name, env, sandpit) => {
    const ref = parseBiomeName(name, config);
    expect(ref.environment.name).toBe(env);
    expect(ref.sandpit).toBe(sandpit);
  });

  it.each([
    ['Dev_Bob', 'BIOME_NAME_INVALID', /lowercase letters a-z, digits and single hyphens/],
    ['../x', 'BIOME_NAME_INVALID', /"\.\.\/x" is invalid/],
    ['dev-$(id)', 'BIOME_NAME_INVALID', /"dev-\$\(id\)" is invalid/],
    ['dev--x', 'BIOME_NAME_INVALID', /"dev--x" is invalid/],
    ['dev-', 'BIOME_NAME_INVALID', /is invalid/],
    ['', 'BIOME_NAME_INVALID', /empty/],
    ['dev-bob\n', 'BIOME_NAME_INVALID', /"dev-bob\\n" is invalid/],
    ['dev-b\u043eb', 'BIOME_NAME_INVALID', /\\u043e/],
    ['dev bob', 'BIOME_NAME_INVALID', /is invalid/],
    ['prod-bob', 'BIOME_SANDPIT_NOT_ALLOWED', /"prod" is single-tenant/],
    ['staging-x', 'BIOME_SANDPIT_NOT_ALLOWED', /single-tenant/],
    ['qa-bob', 'BIOME_UNKNOWN_ENVIRONMENT', /does not belong to a configured environment/],
    ['devbob', 'BIOME_UNKNOWN_ENVIRONMENT', /does not belong/],
    ['dev-a-very-long-sandpit-name-here', 'BIOME_NAME_INVALID', /limit is 24/],
  ])('rejects %j with %s', (name, code, message) => {
    const e = errorOf(() => parseBiomeName(name, config));
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
    expect(e.hint).toBeTruthy();
  });
});

describe('AWS name budget', () => {
  it('names every resource over its limit, with its length and the limit', () => {
    const long = testConfig({ maxBiomeLength: 40 });
    const biome = parseBiomeName('dev-a-rather-long-sandpit-name-x', long);
    const e = errorOf(() =>
      checkAwsNameBudget(long, biome, [{ name: 'assay-ingest-and-validate-lab', kind: 'service' }]),
    );
    expect(e.code).toBe('AWS_NAME_TOO_LONG');
    expect(e.message).toContain(
      'Lambda function (assay-ingest-and-validate-lab) "geo-dev-a-rather-long-sandpit-name-x--assay-ingest-and-validate-lab" is 67 characters (AWS limit 64)',
    );
    expect(e.message).toContain('IAM role');
  });

  it('the data bucket name counts too (S3: 63)', () => {
    const long = testConfig({ maxBiomeLength: 48 });
    const biome = parseBiomeName('dev-abcdefghij-abcdefghij-abcdefghij-abcde', long);
    expect(errorOf(() => checkAwsNameBudget(long, biome, [])).message).toMatch(
      /S3 bucket \(biome data\) "geo-dev-abcdefghij-abcdefghij-abcdefghij-abcde-data-111111111111" is 64 characters \(AWS limit 63\)/,
    );
  });

  it('passes for normal names and gives generators a project budget', () => {
    expect(() =>
      checkAwsNameBudget(config, parseBiomeName('dev-bob', config), [{ name: 'grade-predict', kind: 'service' }]),
    ).not.toThrow();
    expect(maxProjectNameLength(config)).toBe(34);
  });

  it('validates project names with the same rule', () => {
    expect(() => validateProjectName('assay-ingest')).not.toThrow();
    expect(errorOf(() => validateProjectName('Assay_Ingest')).code).toBe('PROJECT_NAME_INVALID');
    expect(errorOf(() => validateProjectName('$(touch pwned)')).message).toMatch(/is invalid/);
  });
});

describe('AWS names are unambiguous: no two (biome, project) pairs share a name', () => {
  const wide = testConfig({ maxBiomeLength: 48 });
  // Every biome and project made of one to three of these words: the words
  // join with hyphens in every way, so every split of a name is generated.
  const words = ['dev', 'assay', 'ingest', 'a', 'b2', 'mr', 'scheduler', 'data'];
  const joins = (max: number): string[] => {
    let level = words.map((w) => [w]);
    const all = [...level];
    for (let n = 2; n <= max; n++) {
      level = level.flatMap((ws) => words.map((w) => [...ws, w]));
      all.push(...level);
    }
    return all.map((ws) => ws.join('-'));
  };
  const biomes = ['dev', ...joins(2).map((s) => `dev-${s}`)];
  const projects = joins(3);
  const kinds: ProjectKind[] = ['service', 'workflow', 'model'];

  it('the reported collision: biome dev + assay-ingest and sandpit dev-assay + ingest', () => {
    expect(resourceName(config, 'dev', 'assay-ingest')).not.toBe(resourceName(config, 'dev-assay', 'ingest'));
    expect(resourceName(config, 'dev', 'assay-ingest')).toBe('geo-dev--assay-ingest');
    expect(resourceName(config, 'dev-assay', 'ingest')).toBe('geo-dev-assay--ingest');
  });

  it(`every name the biome stack builds, over ${biomes.length} biomes x ${projects.length} projects x 3 kinds, has one owner in its AWS namespace`, () => {
    // namespace -> name -> owner ("biome" for biome-level names, "biome project" otherwise)
    const owners = new Map<string, Map<string, string>>();
    let checked = 0;
    for (const b of biomes) {
      const biome = parseBiomeName(b, wide);
      for (const [i, p] of projects.entries()) {
        for (const n of awsNamesFor(wide, biome, [{ name: p, kind: kinds[i % 3] }])) {
          const owner = n.scope === 'biome' ? b : `${b} ${p}`;
          const names = owners.get(n.namespace) ?? new Map<string, string>();
          owners.set(n.namespace, names);
          const previous = names.get(n.name);
          if (previous !== undefined && previous !== owner)
            throw new Error(`${n.namespace} name "${n.name}" belongs to both "${previous}" and "${owner}"`);
          names.set(n.name, owner);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(100_000);
    expect([...owners.keys()].sort()).toEqual([
      'iam-role',
      'lambda',
      'logs',
      'postgres',
      's3-bucket',
      's3-key',
      'sagemaker-target',
      'states',
    ]);
  });

  it('a resource name parses back to its one (biome, project) pair', () => {
    for (const b of biomes) {
      for (const p of projects)
        expect(parseResourceName(config, resourceName(config, b, p))).toEqual({ biome: b, project: p });
    }
    expect(parseResourceName(config, 'geo-dev-assay-ingest')).toBeUndefined();
    expect(parseResourceName(config, 'other-dev--x')).toBeUndefined();
    expect(parseResourceName(config, 'geo-dev--x--y')).toBeUndefined();
  });

  it("the generators' project budget is exactly what the tightest per-project limit allows", () => {
    const longest = parseBiomeName(`dev-${'b'.repeat(config.maxBiomeLength - 4)}`, config);
    const max = maxProjectNameLength(config);
    expect(() => checkAwsNameBudget(config, longest, [{ name: 'p'.repeat(max), kind: 'service' }])).not.toThrow();
    expect(() => checkAwsNameBudget(config, longest, [{ name: 'p'.repeat(max + 1), kind: 'service' }])).toThrow(
      /Lambda function/,
    );
  });
});
