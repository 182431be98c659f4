import type { ExecutorContext } from '@nx/devkit';
import { relative } from 'node:path';
import { packageOptionsOf } from '../../core/deploy-run';
import { BiomeError } from '../../core/errors';
import { parseBiomeName, validateProjectName } from '../../core/names';
import {
  assignmentsFromEnv,
  dataSetBucketName,
  dataSetRows,
  parseAssignments,
  resolveSettings,
  settingsRows,
} from '../../core/settings';
import { renderTable } from '../../core/table';
import { loadWorkspaceConfig } from '../../adapters/workspace';
import { ciJobUrl, Deps, deployerName, realDeps, storeOf } from '../../operations/context';
import { readLedger } from '../../operations/ledger-store';
import { configureBiome, readBiomeSettings } from '../../operations/settings';
import { requireBiomeOption, runExecutor } from '../run';
import type { BiomeConfigExecutorSchema } from './schema';

const asList = (v: unknown): string[] =>
  v === undefined || v === false ? [] : (Array.isArray(v) ? v : [v]).map(String);

/**
 * The services a change applies to (`--projects=a,b`; Nx's own `run` command
 * takes `--project`, so the option is plural): each a project of the
 * workspace whose package target says kind service.
 */
function requireServices(value: unknown, context: ExecutorContext): string[] {
  const names = asList(value)
    .flatMap((v) => v.split(','))
    .map((p) => p.trim())
    .filter(Boolean);
  if (names.length === 0) {
    throw new BiomeError(
      'OPTIONS_INVALID',
      '--set and --unset need --projects.',
      'Name the service(s), e.g. --projects=assay-ingest --set LOG_LEVEL=debug.',
    );
  }
  const projects = context.projectsConfigurations?.projects;
  // The kind its package target (whatever it is called) packages it as.
  const kindOf = (p: string) => packageOptionsOf(projects?.[p]?.targets)?.kind;
  for (const name of names) {
    validateProjectName(name);
    if (projects && kindOf(name) !== 'service') {
      const services = Object.keys(projects)
        .filter((p) => kindOf(p) === 'service')
        .sort();
      throw new BiomeError(
        'OPTIONS_INVALID',
        `--projects: ${name} is ${projects[name] ? `a ${kindOf(name) ?? 'project without a package target'}` : 'not a project of this workspace'}; settings are environment variables of a service.`,
        `Use one of: ${services.join(', ')}.`,
      );
    }
  }
  return [...new Set(names)];
}

/**
 * Lists or changes a biome's settings layer. A change is checked (names,
 * secrets, references), written to the store with new records for the
 * projects it changes, and the biome's tfvars are rendered again: the
 * artifacts stay as they are and nothing is built.
 */
export async function biomeConfigWith(
  options: BiomeConfigExecutorSchema,
  context: ExecutorContext,
  deps?: Deps,
): Promise<void> {
  const config = await loadWorkspaceConfig(context.root);
  const biome = parseBiomeName(requireBiomeOption(options.biome), config);
  const d = deps ?? realDeps(context.root, config);
  const store = storeOf(d, biome);
  const fromArgv = parseAssignments(asList(options.set));
  const set = {
    ...fromArgv,
    ...assignmentsFromEnv(
      asList(options.setFromEnv)
        .flatMap((v) => v.split(','))
        .map((k) => k.trim())
        .filter(Boolean),
      d.env,
      fromArgv,
    ),
  };
  // A value given through --setFromEnv was kept off the command line: the log says where it came from instead.
  const shown = (key: string, value: string) =>
    Object.hasOwn(set, key) && !Object.hasOwn(fromArgv, key) ? `<from $${key}>` : value;
  const unset = asList(options.unset);
  const dryRun = !!options.dryRun;
  const tag = dryRun ? '[dry-run] ' : '';

  if (Object.keys(set).length === 0 && unset.length === 0 && asList(options.set).length === 0) {
    const only = asList(options.projects)
      .flatMap((v) => v.split(','))
      .map((p) => p.trim())
      .filter(Boolean);
    only.forEach(validateProjectName);
    const wanted = (p: string) => only.length === 0 || only.includes(p);
    const [records, biomeSettings] = await Promise.all([
      readLedger(store, biome.name),
      readBiomeSettings(store, config, biome),
    ]);
    const entries = records
      .filter((r) => wanted(r.project))
      .map((r) => ({
        project: r.project,
        resolved: resolveSettings({
          config,
          biome,
          project: r.project,
          kind: r.kind,
          settings: r.settings,
          biomeSettings,
        }),
      }));
    if (options.json) {
      d.log(
        JSON.stringify(
          {
            biome: biome.name,
            layer: biomeSettings?.projects ?? {},
            projects: Object.fromEntries(entries.map((e) => [e.project, e.resolved])),
          },
          null,
          2,
        ),
      );
      return;
    }
    d.log(
      `settings of ${biome.name} (project defaults → environment ${biome.environment.name} → biome ${biome.name}; the last one wins):`,
    );
    const rows = settingsRows(entries);
    d.log(rows.length ? renderTable(['project', 'variable', 'value', 'from'], rows) : '(no settings)');
    const sets = dataSetRows(entries, dataSetBucketName(config, biome.environment));
    if (sets.length) d.log(`data sets read (read-only):\n${renderTable(['project', 'data set', 'location'], sets)}`);
    const undeployed = Object.keys(biomeSettings?.projects ?? {}).filter(
      (p) => !records.some((r) => r.project === p) && wanted(p),
    );
    for (const p of undeployed)
      d.log(
        `${p}: ${Object.keys(biomeSettings!.projects[p]).join(', ')} set in ${biome.name}, applied at its first deploy there`,
      );
    return;
  }

  const projects = requireServices(options.projects, context);
  const result = await configureBiome({
    store,
    config,
    biome,
    change: { projects, set, unset },
    workspaceRoot: context.root,
    now: d.now(),
    by: await deployerName(d),
    ciJobUrl: ciJobUrl(d.env),
    dryRun,
  }).catch((e: unknown) => {
    // A secret typed on the command line is in the job log already: Nx prints its command line before any task runs.
    if (
      e instanceof BiomeError &&
      e.code === 'SETTING_LOOKS_SECRET' &&
      Object.keys(fromArgv).some((k) => e.message.includes(JSON.stringify(k)))
    ) {
      throw new BiomeError(
        e.code,
        `${e.message} It was given on the command line, which Nx prints (in a CI job log too): treat it as exposed and rotate it.`,
        `${e.hint} To keep any value off the command line, pass --setFromEnv=KEY and put the value in the environment variable KEY.`,
      );
    }
    throw e;
  });
  const missing = new Set(result.notSet.map((n) => `${n.project} ${n.key}`));
  for (const n of result.notSet) d.log(`${tag}${n.key} is not set in ${biome.name} for ${n.project}: nothing to unset`);
  for (const project of projects) {
    for (const [key, value] of Object.entries(set))
      d.log(`${tag}${biome.name} ${project}: ${key}=${shown(key, value)}`);
    for (const key of unset.filter((k) => !missing.has(`${project} ${k}`)))
      d.log(`${tag}${biome.name} ${project}: unset ${key}`);
  }
  for (const u of result.updates) {
    const before = u.before?.environment ?? {};
    const after = u.record.resolvedSettings!.environment;
    const diff = [...new Set([...Object.keys(before), ...Object.keys(after)])]
      .filter((k) => before[k] !== after[k])
      .sort()
      .map((k) => (k in after ? `${k}=${shown(k, after[k])}` : `-${k}`));
    d.log(
      `${tag}${u.project} in ${biome.name}: new record, same artifact ${u.record.artifactKey}${diff.length ? ` (${diff.join(', ')})` : ''}`,
    );
  }
  const file = relative(context.root, result.tfvarsPath);
  if (dryRun)
    d.log(
      `[dry-run] would write ${biome.name}'s settings, ${result.updates.length} record(s) and render ${file}; nothing was written.`,
    );
  else if (!result.changed && result.updates.length === 0) d.log(`${biome.name}: settings unchanged; rendered ${file}`);
  else
    d.log(
      `${biome.name}: settings saved, ${result.updates.length} record(s) updated; rendered ${file}. Run nx run infra:deploy --biome=${biome.name} --apply to put them live.`,
    );
  for (const w of result.warnings) d.log(`warning: ${w}`);
}

export default async function biomeConfigExecutor(
  options: BiomeConfigExecutorSchema,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  return runExecutor('biome-config', () => biomeConfigWith(options, context));
}
