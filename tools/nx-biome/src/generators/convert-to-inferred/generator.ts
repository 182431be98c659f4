import {
  getProjects,
  logger,
  readNxJson,
  TargetConfiguration,
  Tree,
  updateNxJson,
  updateProjectConfiguration,
} from '@nx/devkit';
import { isDeepStrictEqual } from 'node:util';
import { BiomeError, formatBiomeError, isBiomeError } from '../../core/errors';
import { DetectedProject, detectProjects, NormalizedInferredTargetsOptions } from '../../core/inferred-targets';
import { runGenerator } from '../project';
import {
  ensureInferencePlugin,
  excludeFromInference,
  explicitTargets,
  infersTargetsFor,
  optionsOf,
  readInferencePlugin,
} from '../inference';
import type { ConvertToInferredGeneratorSchema } from './schema';

/** What the conversion did to one project. */
export interface Conversion {
  project: string;
  outcome: 'converted' | 'unchanged' | 'kept-explicit';
  why?: string;
}

/**
 * `nx g @geo/nx-biome:convert-to-inferred`: moves a workspace whose
 * project.json files spell out build, package and deploy over to the
 * plugin's inferred targets. Each option equal to the inferred one is
 * removed; anything else (settings, an override) stays, and Nx merges it
 * over the inferred target, so `nx show project` prints the same targets
 * after as before. A project the plugin would infer differently (another
 * build executor, a missing deploy target) is excluded from inference in
 * nx.json and keeps its targets. Idempotent: a second run changes nothing.
 */
export async function convertProjectsToInferred(
  tree: Tree,
  options: ConvertToInferredGeneratorSchema = {},
): Promise<Conversion[]> {
  return runGenerator(() => {
    // An entry with options is one this generator (or a generator) wrote: its projects are already inferred,
    // so a target missing from their project.json is inferred, not absent. A bare string entry predates inference.
    const before = readInferencePlugin(tree);
    const alreadyInferring = before?.options !== undefined;
    const projects = getProjects(tree);
    if (options.project !== undefined && !projects.has(options.project)) {
      throw new BiomeError(
        'OPTIONS_INVALID',
        `--project=${options.project}: no project of that name.`,
        'Leave --project out to convert every project, or name one from nx show projects.',
      );
    }
    const entry = ensureInferencePlugin(tree);
    const pluginOptions = optionsOf(entry);
    updateDeployTargetDefault(tree, pluginOptions);
    const results: Conversion[] = [];
    for (const [name, project] of [...projects].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (options.project !== undefined && name !== options.project) continue;
      if (!infersTargetsFor(readInferencePlugin(tree), project.root)) continue;
      let detected: DetectedProject | undefined;
      try {
        detected = detectProjects(filesOf(tree, project.root), () => true)[0];
      } catch (e) {
        if (!isBiomeError(e)) throw e;
        excludeFromInference(tree, project.root);
        results.push({ project: name, outcome: 'kept-explicit', why: formatBiomeError(e) });
        continue;
      }
      if (!detected) continue;
      const inferred = explicitTargets(detected, pluginOptions);
      const targets = { ...(project.targets ?? {}) };
      const blocker = Object.entries(inferred)
        .map(([target, want]) => {
          const have = targets[target];
          if (!have) return alreadyInferring ? undefined : `it has no ${target} target, which the plugin would add`;
          if (have.executor !== undefined && have.executor !== want.executor)
            return `its ${target} target runs ${have.executor}, not ${want.executor}`;
          // Nx's merge cannot take an option away: one the plugin adds that the project never had would change its build.
          const added =
            have.executor === undefined
              ? []
              : Object.keys(want.options ?? {}).filter((k) => !Object.hasOwn(have.options ?? {}, k));
          if (added.length > 0)
            return `its ${target} target has no ${added.join(', ')} option${added.length > 1 ? 's' : ''}, which the plugin would add`;
          return undefined;
        })
        .find(Boolean);
      if (blocker) {
        excludeFromInference(tree, project.root);
        results.push({ project: name, outcome: 'kept-explicit', why: blocker });
        continue;
      }
      let changed = false;
      for (const [target, want] of Object.entries(inferred)) {
        if (!targets[target]) continue;
        const rest = withoutInferred(targets[target], want);
        changed ||= !isDeepStrictEqual(rest, targets[target]);
        if (Object.keys(rest).length === 0) delete targets[target];
        else targets[target] = rest;
      }
      if (changed) updateProjectConfiguration(tree, name, { ...project, targets });
      results.push({ project: name, outcome: changed ? 'converted' : 'unchanged' });
    }
    for (const r of results)
      logger.info(`${r.project}: ${r.outcome}${r.why ? ` (${r.why}; excluded from inference in nx.json)` : ''}`);
    return results;
  });
}

/** The generator as Nx runs it (Nx would call a returned value as a callback: the results are logged instead). */
export default async function convertToInferredGenerator(
  tree: Tree,
  options: ConvertToInferredGeneratorSchema = {},
): Promise<void> {
  await convertProjectsToInferred(tree, options);
}

/**
 * `deploy` used to depend on `package` (params forwarded) and now packages
 * itself, depending on `build`. nx.json's targetDefaults win over inferred
 * targets, so the old default, left as it was, would still run a package
 * task before every deploy (correct, one process more): it is rewritten. Any
 * other deploy default is the workspace's own and stays.
 */
function updateDeployTargetDefault(tree: Tree, options: NormalizedInferredTargetsOptions): void {
  const nxJson = readNxJson(tree);
  const deploy = nxJson?.targetDefaults?.[options.deployTargetName];
  const old = [{ target: options.packageTargetName, params: 'forward' }];
  // An array of filtered entries is a shape the plugin never wrote: the workspace's own.
  if (!nxJson || !deploy || Array.isArray(deploy) || !isDeepStrictEqual(deploy.dependsOn, old)) return;
  nxJson.targetDefaults![options.deployTargetName] = { ...deploy, dependsOn: [options.buildTargetName] };
  updateNxJson(tree, nxJson);
  logger.info(
    `nx.json: targetDefaults.${options.deployTargetName} now depends on ${options.buildTargetName} (deploy packages the project itself).`,
  );
}

/** The files the plugin looks at under a project root, as workspace paths. */
function filesOf(tree: Tree, root: string): string[] {
  const files: string[] = [];
  if (tree.exists(`${root}/src/main.ts`)) files.push(`${root}/src/main.ts`);
  for (const f of tree.children(root))
    if (f.endsWith('.asl.json') && tree.isFile(`${root}/${f}`)) files.push(`${root}/${f}`);
  if (tree.exists(`${root}/model`) && !tree.isFile(`${root}/model`))
    for (const f of tree.children(`${root}/model`)) files.push(`${root}/model/${f}`);
  return files;
}

/** A target with every field and option equal to the inferred one removed (empty when it adds nothing). */
function withoutInferred(have: TargetConfiguration, want: TargetConfiguration): TargetConfiguration {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(have)) {
    if (key === 'options' || key === 'configurations') continue;
    if (!isDeepStrictEqual(value, (want as Record<string, unknown>)[key])) out[key] = value;
  }
  const options = Object.fromEntries(
    Object.entries(have.options ?? {}).filter(([k, v]) => !isDeepStrictEqual(v, want.options?.[k])),
  );
  if (Object.keys(options).length > 0) out.options = options;
  if (have.configurations && Object.keys(have.configurations).length > 0) out.configurations = have.configurations;
  return out as TargetConfiguration;
}
