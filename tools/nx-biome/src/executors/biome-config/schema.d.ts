export interface BiomeConfigExecutorSchema {
  biome: string;
  projects?: string | string[];
  set?: string | string[];
  setFromEnv?: string | string[];
  unset?: string | string[];
  list?: boolean;
  json?: boolean;
  dryRun?: boolean;
  [forwarded: string]: unknown;
}
