import { readNxJson, TargetConfiguration, Tree, updateNxJson } from '@nx/devkit';
import picomatch from 'picomatch';
import {
  DetectedProject,
  InferredTargetsOptions,
  NormalizedInferredTargetsOptions,
  normalizeInferredTargetsOptions,
  isPluginEntry,
  planInferredTargets,
  PLUGIN_NAME,
} from '../core/inferred-targets';

/** The plugin's package name, as nx.json registers it. */
export { PLUGIN_NAME };

/** The plugin's entry in nx.json, in object form. */
export interface InferencePluginEntry {
  plugin: string;
  options?: InferredTargetsOptions;
  include?: string[];
  exclude?: string[];
}

/** The plugin's entry of nx.json in object form (a bare `"@geo/nx-biome"` reads as no options), if registered. */
export function readInferencePlugin(tree: Tree): InferencePluginEntry | undefined {
  const entry = (readNxJson(tree)?.plugins ?? []).find(isPluginEntry);
  if (entry === undefined) return undefined;
  return typeof entry === 'string' ? { plugin: entry } : (entry as InferencePluginEntry);
}

/**
 * Registers the plugin in nx.json with its target names written out (object
 * form), or turns a bare string entry into that form; an entry that already
 * has options is left as it is. Returns the entry.
 */
export function ensureInferencePlugin(tree: Tree): InferencePluginEntry {
  const nxJson = readNxJson(tree) ?? {};
  const plugins = [...(nxJson.plugins ?? [])];
  const at = plugins.findIndex(isPluginEntry);
  const current = at >= 0 ? plugins[at] : undefined;
  if (current !== undefined && typeof current !== 'string' && current.options !== undefined)
    return current as InferencePluginEntry;
  const defaults = normalizeInferredTargetsOptions(undefined);
  const entry: InferencePluginEntry = {
    ...(typeof current === 'object' ? (current as InferencePluginEntry) : {}),
    plugin: PLUGIN_NAME,
    options: {
      buildTargetName: defaults.buildTargetName,
      packageTargetName: defaults.packageTargetName,
      deployTargetName: defaults.deployTargetName,
    },
  };
  if (at >= 0) plugins[at] = entry;
  else plugins.push(entry);
  updateNxJson(tree, { ...nxJson, plugins });
  return entry;
}

/** Whether the plugin infers targets for a project root (registered, and the root not filtered out by include/exclude). */
export function infersTargetsFor(entry: InferencePluginEntry | undefined, root: string): boolean {
  if (!entry) return false;
  const probe = `${root}/project.json`;
  if (entry.include?.length && !picomatch.isMatch(probe, entry.include, { dot: true })) return false;
  return !(entry.exclude?.length && picomatch.isMatch(probe, entry.exclude, { dot: true }));
}

/** Adds a root to the plugin's exclude list (its project.json keeps its targets spelled out). */
export function excludeFromInference(tree: Tree, root: string): void {
  const nxJson = readNxJson(tree) ?? {};
  const plugins = (nxJson.plugins ?? []).map((p) => {
    if (typeof p === 'string' || p.plugin !== PLUGIN_NAME) return p;
    const exclude = [...new Set([...(p.exclude ?? []), `${root}/**`])];
    return { ...p, exclude };
  });
  updateNxJson(tree, { ...nxJson, plugins });
}

/** Normalized plugin options of an entry. */
export function optionsOf(entry: InferencePluginEntry | undefined): NormalizedInferredTargetsOptions {
  return normalizeInferredTargetsOptions(entry?.options);
}

/** The targets the plugin infers for a project, as a project.json would spell them out (no metadata). */
export function explicitTargets(
  project: DetectedProject,
  options: NormalizedInferredTargetsOptions,
): Record<string, TargetConfiguration> {
  return Object.fromEntries(
    Object.entries(planInferredTargets(project, options)).map(([name, target]) => {
      const { metadata: _metadata, ...rest } = target;
      return [name, rest];
    }),
  );
}
