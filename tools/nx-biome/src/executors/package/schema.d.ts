import type { ProjectKind } from '../../core/names';

export interface PackageExecutorSchema {
  kind: ProjectKind;
  buildOutput?: string;
  settings?: Record<string, unknown>;
  allowDirty?: boolean;
  /** Globs, relative to the project root, of untracked or git-ignored source files the artifact may hold. */
  allowUntracked?: string[];
  /** Passed by deploy (which packages first); validated here so that a bad name writes nothing. */
  biome?: string;
  [forwarded: string]: unknown;
}
