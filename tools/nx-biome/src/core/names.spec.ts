import { describe, expect, it } from 'vitest';
import { BiomeError } from './errors';
import { checkAwsNameBudget, maxProjectNameLength, parseBiomeName, validateProjectName } from './names';
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
    const e = errorOf(() => checkAwsNameBudget(long, biome, [{ name: 'assay-ingest-and-validate-lab', kind: 'service' }]));
    expect(e.code).toBe('AWS_NAME_TOO_LONG');
    expect(e.message).toContain('Lambda function (assay-ingest-and-validate-lab) "geo-dev-a-rather-long-sandpit-name-x-assay-ingest-and-validate-lab" is 66 characters (AWS limit 64)');
    expect(e.message).toContain('IAM role');
  });

  it('the data bucket name counts too (S3: 63)', () => {
    const long = testConfig({ maxBiomeLength: 48 });
    const biome = parseBiomeName('dev-abcdefghij-abcdefghij-abcdefghij-abcde', long);
    expect(errorOf(() => checkAwsNameBudget(long, biome, [])).message).toMatch(/S3 bucket \(biome data\) "geo-dev-abcdefghij-abcdefghij-abcdefghij-abcde-data-111111111111" is 64 characters \(AWS limit 63\)/);
  });

  it('passes for normal names and gives generators a project budget', () => {
    expect(() => checkAwsNameBudget(config, parseBiomeName('dev-bob', config), [{ name: 'grade-predict', kind: 'service' }])).not.toThrow();
    expect(maxProjectNameLength(config)).toBe(34);
  });

  it('validates project names with the same rule', () => {
    expect(() => validateProjectName('assay-ingest')).not.toThrow();
    expect(errorOf(() => validateProjectName('Assay_Ingest')).code).toBe('PROJECT_NAME_INVALID');
    expect(errorOf(() => validateProjectName('$(touch pwned)')).message).toMatch(/is invalid/);
  });
});
