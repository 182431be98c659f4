// The plugin entry Nx loads (package.json "main"): compiled JavaScript from dist/, rebuilt first if src/
// changed since the last build, so that a stale build never runs. See build.js.
'use strict';
require('./build').ensureBuilt();
module.exports = require('./dist/index.js');
