import type { ProjectKind } from '../../core/names';

export interface PackageExecutorSchema {
  kind: ProjectKind;
  buildOutput?: string;
  settings?: Record<string, unknown>;
  allowDirty?: boolean;
  /** Forwarded from deploy; validated here so that a bad name writes nothing. */
  biome?: string;
  [forwarded: string]: unknown;
}
