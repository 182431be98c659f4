import type { ExecutorContext } from '@nx/devkit';
import type { EsBuildExecutorOptions } from '@nx/esbuild/executors';
import { lstat, readlink, realpath } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { assertPackagePolicy, PackageViolation } from '../../core/package-files';

type AssetOptions = Pick<EsBuildExecutorOptions, 'assets' | 'outputPath'> & { includeIgnoredAssetFiles?: boolean };

/**
 * Refuses a build whose asset copy would go through a symlink (a link to
 * `../../../../.git` would copy the repository's metadata into the artifact),
 * before anything is copied. The files are the ones @nx/js's asset copy
 * would take (its own glob, ignore rules and .gitignore handling, run with a
 * callback that copies nothing); every path from the workspace root down to
 * each of them is checked with lstat.
 */
export async function refuseAssetSymlinks(options: AssetOptions, context: ExecutorContext): Promise<void> {
  if (!options.assets || options.assets.length === 0) return;
  const { CopyAssetsHandler } = await import('@nx/js/src/utils/assets/copy-assets-handler');
  const sources: string[] = [];
  const handler = new CopyAssetsHandler({
    projectDir: context.projectsConfigurations!.projects[context.projectName!].root,
    rootDir: context.root,
    outputDir: options.outputPath,
    assets: options.assets,
    includeIgnoredFiles: options.includeIgnoredAssetFiles,
    callback: (events) => {
      for (const e of events) sources.push(e.src);
    },
  });
  await handler.processAllAssetsOnce();
  const root = await realpath(context.root);
  const checked = new Map<string, boolean>();
  const violations = new Map<string, PackageViolation>();
  for (const src of sources) {
    let path = root;
    for (const part of relative(context.root, src).split(sep)) {
      path = join(path, part);
      if (!checked.has(path)) checked.set(path, (await lstat(path).catch(() => undefined))?.isSymbolicLink() ?? false);
      if (!checked.get(path)) continue;
      const rel = relative(root, path).split(sep).join('/');
      if (!violations.has(rel)) {
        const real = await realpath(path).catch(() => undefined);
        const where =
          !real || (real !== root && !real.startsWith(root + sep))
            ? `outside the workspace (${real ?? 'broken link'})`
            : `to ${await readlink(path)}`;
        violations.set(rel, { path: rel, rule: 'symlink', detail: `an asset of the build; it points ${where}` });
      }
      break;
    }
  }
  assertPackagePolicy(`${context.projectName} build assets`, [...violations.values()]);
}
