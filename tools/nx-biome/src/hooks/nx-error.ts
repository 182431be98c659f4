import { formatBiomeError, isBiomeError } from '../core/errors';

/** A BiomeError as Nx prints a hook's error: the plugin's message and fix, no stack. */
export function asNxError(e: unknown): unknown {
  if (!isBiomeError(e)) return e;
  const error = new Error(formatBiomeError(e));
  error.stack = `✖ ${formatBiomeError(e)}`;
  return error;
}

/**
 * True when this module runs inside the Nx command's own process (plugin
 * isolation off: NX_ISOLATE_PLUGINS=false), false inside an isolated plugin
 * worker, whose own argv is the worker's.
 */
export function runsInNxProcess(argv: readonly string[] = process.argv): boolean {
  return !/plugin-worker/.test(argv[1] ?? '');
}
