/**
 * How a workflow definition names a service of its biome: `${service:<project>}`.
 * Kept apart from tfvars rendering so that the project-graph hook, which runs
 * on every Nx command, loads nothing else.
 */
export const SERVICE_REFERENCE = /\$\{service:([a-z][a-z0-9]*(?:-[a-z0-9]+)*)\}/g;

/** Project names a workflow definition refers to, sorted, once each. */
export function referencedServices(template: string): string[] {
  return [...new Set([...template.matchAll(SERVICE_REFERENCE)].map((m) => m[1]))].sort();
}
