import { createHash } from 'node:crypto';
import { parseWorkspaceConfig } from '../../tools/nx-biome/src/core/config';

/** The workspace configuration of the fencing tests: one environment, sandpits allowed. */
export const FENCING_CONFIG = parseWorkspaceConfig({
  namePrefix: 'geo',
  promotionOrder: ['dev'],
  environments: { dev: { account: '111111111111', region: 'ap-southeast-2', multiTenant: true } },
});

/** The bytes and manifest a package step would give for `content` (same content, same artifact). */
export function packagedFor(project: string, content: string) {
  const body = Buffer.from(content.repeat(200));
  const sha256 = createHash('sha256').update(body).digest('hex');
  const gitSha = createHash('sha1').update(content).digest('hex');
  return {
    body,
    manifest: {
      project,
      kind: 'service' as const,
      file: `${project}-${gitSha}.zip`,
      sha256,
      size: body.length,
      gitSha,
      dirty: false,
      dirtyFiles: [],
      settings: { memorySize: 256 },
    },
  };
}
