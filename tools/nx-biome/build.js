#!/usr/bin/env node
// Compiles the plugin's TypeScript (src/) to CommonJS in dist/, one file per module, so that Nx, its batch
// workers and the nx-biome bin load JavaScript instead of compiling TypeScript at every start. Plain
// JavaScript on purpose: it is what runs before anything is compiled (npm's `prepare`, the first Nx run).
//
//   node tools/nx-biome/build.js           build if src/ changed since the last build (what `npm ci` runs)
//   node tools/nx-biome/build.js --force   build whatever the stamp says
//
// A stale dist/ must never run: every entry (index.js, bin/nx-biome.js) calls ensureBuilt() first. The stamp
// records a hash of every source file's content; a cheap fingerprint (path, size, mtime) answers the common
// case without reading the files, and a fingerprint miss falls back to the content hash, so a copy of the
// workspace (new mtimes, same bytes) is not rebuilt but an edited file always is.
'use strict';
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = __dirname;
const SRC = path.join(ROOT, 'src');
const DIST = path.join(ROOT, 'dist');
const STAMP = path.join(DIST, '.build-stamp.json');
const LOCK = path.join(ROOT, '.dist.lock');
/** What else decides the output: this file (the build settings) and the esbuild that runs it. */
const BUILD_INPUTS = [__filename, require.resolve('esbuild/package.json')];

/** Source files: TypeScript modules (not specs) and generator templates (copied as they are). */
function listSources(dir = SRC, out = []) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) listSources(file, out);
    else if (
      isTemplate(file) ||
      (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') && !entry.name.endsWith('.d.ts'))
    )
      out.push(file);
  }
  return out.sort();
}

const isTemplate = (file) => file.split(path.sep).includes('files');

function fingerprintOf(files) {
  const hash = createHash('sha1');
  for (const file of [...files, ...BUILD_INPUTS]) {
    const stat = fs.statSync(file);
    hash.update(`${path.relative(ROOT, file)}\0${stat.size}\0${stat.mtimeMs}\n`);
  }
  return hash.digest('hex');
}

function contentHashOf(files) {
  const hash = createHash('sha256');
  for (const file of [...files, ...BUILD_INPUTS]) {
    // Relative to the plugin for its own files, so a copy of the workspace elsewhere hashes the same.
    hash.update(`${file.startsWith(ROOT) ? path.relative(ROOT, file) : path.basename(path.dirname(file))}\0`);
    hash.update(fs.readFileSync(file));
  }
  return hash.digest('hex');
}

function readStamp() {
  try {
    return JSON.parse(fs.readFileSync(STAMP, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Compiles src/ into a fresh folder and swaps it in, so no reader sees half a build. */
function build(files, content, fingerprint) {
  const esbuild = require('esbuild');
  const tmp = `${DIST}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  esbuild.buildSync({
    entryPoints: files.filter((f) => !isTemplate(f)),
    outdir: tmp,
    outbase: SRC,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    // import() stays lazy but becomes require(): native import() of an extensionless path fails in CommonJS.
    supported: { 'dynamic-import': false },
    logLevel: 'error',
  });
  for (const file of files.filter(isTemplate)) {
    const to = path.join(tmp, path.relative(SRC, file));
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(file, to);
  }
  fs.writeFileSync(path.join(tmp, '.build-stamp.json'), `${JSON.stringify({ content, fingerprint })}\n`);
  const old = `${DIST}.old-${process.pid}`;
  if (fs.existsSync(DIST)) fs.renameSync(DIST, old);
  fs.renameSync(tmp, DIST);
  fs.rmSync(old, { recursive: true, force: true });
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs `fn` holding a lock folder; a lock older than two minutes belongs to a killed build and is taken over. */
function withLock(fn) {
  for (let waited = 0; ; waited += 50) {
    try {
      fs.mkdirSync(LOCK);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      try {
        if (Date.now() - fs.statSync(LOCK).mtimeMs > 120_000) fs.rmSync(LOCK, { recursive: true, force: true });
      } catch {
        // gone already: try again
      }
      if (waited > 300_000)
        throw new Error(`nx-biome: ${LOCK} has been held for 5 minutes; remove it if no build is running.`, {
          cause: e,
        });
      sleep(50);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
}

/**
 * Makes dist/ match src/: nothing to do when the stamp matches, else compiles (about half a second).
 * Returns what happened, for the command line and the tests.
 * @param {{ force?: boolean }} [options]
 * @returns {'fresh' | 'built'}
 */
function ensureBuilt(options = {}) {
  const files = listSources();
  const fingerprint = fingerprintOf(files);
  const stamp = readStamp();
  if (!options.force && stamp?.fingerprint === fingerprint) return 'fresh';
  const content = contentHashOf(files);
  if (!options.force && stamp?.content === content) {
    try {
      fs.writeFileSync(STAMP, `${JSON.stringify({ content, fingerprint })}\n`);
    } catch {
      // read-only checkout: the content check answers next time too
    }
    return 'fresh';
  }
  return withLock(() => {
    if (!options.force && readStamp()?.content === content) return 'fresh';
    build(files, content, fingerprint);
    return 'built';
  });
}

module.exports = { ensureBuilt, DIST };

if (require.main === module) {
  const started = process.hrtime.bigint();
  const outcome = ensureBuilt({ force: process.argv.includes('--force') });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(
    outcome === 'built' ? `nx-biome: compiled src/ to dist/ in ${ms.toFixed(0)} ms` : 'nx-biome: dist/ is up to date',
  );
}
