// The names the context sources send beside the extra context (context-sources/names.ts): what a
// file defines, which imports bind a whole module, and what the sources give for a cursor.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { WorkspaceFilter } from '../../language-server/src/context-sources/exclusions';
import { importBindings } from '../../language-server/src/context-sources/imports';
import { definedNames } from '../../language-server/src/context-sources/names';
import { ContextSources } from '../../language-server/src/context-sources/sources';

test('definedNames: functions, classes, constants, methods, members and export lists; no locals, no keywords', () => {
  const js = [
    "'use strict'",
    'const kReplyHeaders = Symbol("headers")',
    'async function buildErrorHandler (parent, fn) {',
    '  const local = parent || fn',
    '  if (local) {',
    '    return local',
    '  }',
    '}',
    'class Reply {',
    '  serialize (payload) {',
    '    for (const x of payload) {',
    '    }',
    '  }',
    '}',
    'const helpers = {',
    '  getSchemaSerializer: function (ctx) {},',
    '  wrapHandler: (h) => h,',
    '}',
    'exports.hookRunner = hookRunner',
    'module.exports = { Reply, buildErrorHandler, kReplyHeaders: kReplyHeaders }',
    'export { a as renamedThing, other }',
  ].join('\n');
  assert.deepEqual(definedNames(js), ['kReplyHeaders', 'buildErrorHandler', 'Reply', 'serialize', 'helpers', 'getSchemaSerializer', 'wrapHandler',
    'hookRunner', 'renamedThing', 'other']);
  const py = 'MAX_REDIRECTS = 20\n\nclass Client:\n    def send(self, request):\n        timeout = 5\n\nasync def aclose_all(clients):\n    pass\n';
  assert.deepEqual(definedNames(py), ['MAX_REDIRECTS', 'Client', 'send', 'aclose_all']);
});

test('importBindings: the names bound to a whole module', () => {
  const modules = new Set<string>();
  importBindings([
    "const reply = require('./reply')",
    "const { a, b } = require('./ab')",
    "import hooks, { runHooks } from './hooks'",
    "import * as util from './util'",
    "import { only } from './only'",
    "const http = require('node:http')",
  ].join('\n'), 'lib/app.js', 'javascript', modules);
  assert.deepEqual([...modules].sort(), ['hooks', 'reply', 'util']);
  const py = new Set<string>();
  importBindings('from . import _utils\nfrom ._models import Request\nimport httpx._config as config\n', 'httpx/_client.py', 'python', py);
  assert.deepEqual([...py].sort(), ['_utils', 'config']);
});

test('sources: the names a cursor gets are its file\'s imports and the chunks\' definitions; members per imported module', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'di-names-'));
  const uri = (rel: string) => pathToFileURL(path.join(root, rel)).href;
  const filter = new WorkspaceFilter();
  filter.setRoots([pathToFileURL(root).href]);
  const sources = new ContextSources(filter);
  const reply = 'function serializePayload (p) {\n  return JSON.stringify(p)\n}\nfunction sendReply (res, body) {\n  res.end(body)\n}\n'
    + 'module.exports = { serializePayload, sendReply }\n';
  const app = "const reply = require('./reply')\nconst { hookRunner } = require('./hooks')\n\nfunction handle (res, body) {\n  reply.\n}\n";
  sources.update(uri('lib/reply.js'), reply, 1);
  sources.update(uri('lib/app.js'), app, 1);
  const at = app.indexOf('reply.\n') + 'reply.'.length;
  const extra = sources.extraFor(uri('lib/app.js'), 4, 'javascript', app.slice(0, at), app.slice(at), { crossFile: true, crossFileTokens: 256, crossFileChunks: 4 });
  assert.ok(extra);
  assert.deepEqual(extra.names.slice(0, 2), ['reply', 'hookRunner'], 'the imports first');
  assert.ok(extra.names.includes('sendReply'), 'the chunk\'s definitions');
  assert.deepEqual(extra.members, { reply: ['serializePayload', 'sendReply'] }, 'hooks.js is not open: no members for it');
  assert.equal(sources.extraFor(uri('lib/app.js'), 4, 'javascript', app.slice(0, at), app.slice(at), { crossFile: false, crossFileTokens: 256, crossFileChunks: 4 }),
    undefined, 'off: nothing');
});

test('sources, Python: names from the workspace\'s modules only, not the standard library\'s or a package\'s', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'di-names-py-'));
  const uri = (rel: string) => pathToFileURL(path.join(root, rel)).href;
  // On disk and never opened: a top-level module, a package beside the importer, a src/ layout one.
  for (const [rel, text] of [['helpers.py', 'def slugify(s):\n    pass\n'], ['app/store/__init__.py', 'class Store:\n    pass\n'],
    ['src/billing.py', 'def invoice(x):\n    pass\n']]) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
  const filter = new WorkspaceFilter();
  filter.setRoots([pathToFileURL(root).href]);
  const sources = new ContextSources(filter);
  // Open only: the models module of the importer's package.
  sources.update(uri('app/models.py'), 'class User:\n    pass\n', 1);
  const main = [
    'import re', 'import os.path', 'from collections import Counter, OrderedDict', 'import numpy as np',
    'from helpers import slugify', 'from .models import User', 'import store', 'from billing import invoice', '', 'def run():', '    ', '',
  ].join('\n');
  sources.update(uri('app/main.py'), main, 1);
  const at = main.indexOf('    \n') + 4;
  const extra = sources.extraFor(uri('app/main.py'), 10, 'python', main.slice(0, at), main.slice(at), { crossFile: true, crossFileTokens: 0, crossFileChunks: 0 });
  assert.deepEqual(extra?.names.sort(), ['User', 'invoice', 'slugify', 'store']);
  fs.rmSync(root, { recursive: true, force: true });
});
