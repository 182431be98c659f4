import { parseWorkspaceConfig, WorkspaceConfig } from './config';

/** A workspace config for tests: dev (multi-tenant), staging and prod. */
export function testConfig(overrides: Record<string, unknown> = {}): WorkspaceConfig {
  return parseWorkspaceConfig({
    namePrefix: 'geo',
    promotionOrder: ['dev', 'staging', 'prod'],
    environments: {
      dev: { account: '111111111111', region: 'ap-southeast-2', multiTenant: true },
      staging: { account: '222222222222', region: 'ap-southeast-2' },
      prod: { account: '333333333333', region: 'ap-southeast-2' },
    },
    ...overrides,
  });
}
