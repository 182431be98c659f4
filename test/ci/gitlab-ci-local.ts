import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WORKSPACE_ROOT } from '../support/workspace';

/** gitlab-ci-local's CLI entry point (the version pinned in package.json). */
export const GCL_ENTRY = join(
  WORKSPACE_ROOT,
  'node_modules/gitlab-ci-local',
  JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'node_modules/gitlab-ci-local/package.json'), 'utf8')).bin,
);
