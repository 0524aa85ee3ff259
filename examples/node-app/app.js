// SPDX-License-Identifier: Apache-2.0
// The example application: a small Express service. It parses its arguments with yargs-parser,
// routes with Express (which compiles routes with path-to-regexp) and checks versions with semver.
// formidable is installed but never loaded, so its vulnerable code cannot run.
const express = require('express');
const semver = require('semver');
const parseArgs = require('yargs-parser');

function main(argv) {
  const options = parseArgs(argv);
  const app = express();
  app.get('/compat/:version', (req, res) => {
    res.json({ compatible: semver.satisfies(req.params.version, options.range ?? '^7.0.0') });
  });
  return app.listen(options.port ?? 3000, '127.0.0.1');
}

if (require.main === module) main(process.argv.slice(2));
module.exports = { main };
