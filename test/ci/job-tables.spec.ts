import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { WORKSPACE_ROOT } from '../support/workspace';

/** GitLab's reserved top-level keywords: every other key not starting with "." is a job. */
const KEYWORDS = new Set([
  'workflow',
  'stages',
  'variables',
  'default',
  'include',
  'image',
  'services',
  'cache',
  'before_script',
  'after_script',
]);

const jobsOf = (file: string) =>
  Object.keys(
    parse(readFileSync(join(WORKSPACE_ROOT, file), 'utf8'), { logLevel: 'error' }) as Record<string, unknown>,
  ).filter((k) => !k.startsWith('.') && !KEYWORDS.has(k));
/** The pipeline's jobs and those of the child pipeline its deploy:fanout trigger starts. */
const jobs = [...jobsOf('.gitlab-ci.yml'), ...jobsOf('.gitlab/ci/deploy-fanout.yml')];

/** The lines of a markdown section (from its heading to the next heading of the same or a higher level). */
function section(file: string, heading: string): string {
  const text = readFileSync(join(WORKSPACE_ROOT, file), 'utf8');
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`${file} has no "${heading}" section`);
  const level = heading.split(' ')[0];
  const rest = text.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`\\n#{1,${level.length}} `));
  return end < 0 ? rest : rest.slice(0, end);
}

describe('the job tables name every job of .gitlab-ci.yml', () => {
  it('the pipeline has the jobs the tables must show (board and drift among them)', () => {
    expect(jobs).toEqual(
      expect.arrayContaining([
        'lint',
        'test',
        'deploy:mr',
        'reap',
        'drift',
        'board',
        'pages',
        'deploy:fanout',
        'deploy:fanout:shard',
        'deploy:fanout:render',
      ]),
    );
  });

  it.each([
    ['README.md', '## CI/CD'],
    ['docs/pipeline.md', '## Jobs'],
  ])('%s, section %s', (file, heading) => {
    const rows = section(file, heading)
      .split('\n')
      .filter((l) => l.startsWith('|'))
      .join('\n');
    const named = new Set([...rows.matchAll(/`([a-z][a-z:-]*)`/g)].map((m) => m[1]));
    expect(jobs.filter((j) => !named.has(j))).toEqual([]);
  });
});
