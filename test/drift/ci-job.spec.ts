import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { WORKSPACE_ROOT } from '../support/workspace';

describe('the scheduled drift job in .gitlab-ci.yml', () => {
  const ci = parse(readFileSync(join(WORKSPACE_ROOT, '.gitlab-ci.yml'), 'utf8'), {
    customTags: [{ tag: '!reference', collection: 'seq', resolve: (v: unknown) => v }],
  });
  const config = JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'nx-biome.json'), 'utf8'));
  const job = ci.drift;

  it('runs on schedules only, for the main biome of every environment, each with its own read-only role', () => {
    expect(job.rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "schedule" && $BIOME_DRIFT_CHECK != "false"' }]);
    expect(job.parallel.matrix.map((m: { BIOME: string }) => m.BIOME)).toEqual(config.promotionOrder);
    for (const m of job.parallel.matrix) expect(m.AWS_ROLE_ARN).toBe(`$CI_ROLE_ARN_DRIFT_${m.BIOME.toUpperCase()}`);
    expect(job.extends).toBe('.biome-job');
  });

  it('waits for deploys to the same biome (same resource group as the jobs that deploy it), so it never reads a half-applied biome', () => {
    expect(job.resource_group).toBe('biome-$BIOME');
    expect(ci['.biome-job'].resource_group).toBe('biome-$CI_ENVIRONMENT_NAME');
    expect(ci['deploy:dev'].environment.name).toBe('dev');
  });

  it('runs the Nx target and keeps the JSON report as an artifact even when the check fails', () => {
    expect(job.script).toEqual([
      'npx nx run infra:biome-drift --biome="$BIOME" --outputFile="dist/drift/$BIOME.json" --output-style=static',
    ]);
    expect(job.artifacts).toMatchObject({ when: 'always', paths: ['dist/drift/'] });
    const targets = JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'infra/project.json'), 'utf8')).targets;
    expect(targets['biome-drift'].executor).toBe('@geo/nx-biome:biome-drift');
  });
});
