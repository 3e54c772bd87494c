// The imported files' outlines (context-sources/imports.ts): which siblings a file imports, the
// outline of one, and that the sources put an imported file's names into the extra context even
// when the code around the cursor shares no name with it yet.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { WorkspaceFilter } from '../../language-server/src/context-sources/exclusions';
import { chunkFile } from '../../language-server/src/context-sources/chunks';
import { importBindings, MAX_OUTLINE_CHARS, moduleMatches, modulePath, outlineChunk } from '../../language-server/src/context-sources/imports';
import { ContextSources } from '../../language-server/src/context-sources/sources';

test('imports: relative JS/TS requires and imports bound to module paths; packages left out', () => {
  const text = [
    "const Reply = require('./lib/reply')",
    "const { getGenReqId, reqIdGenFactory } = require('../util/ids.js')",
    "const http = require('node:http')",
    "import Router, { route as r } from './router'",
    "import * as hooks from './hooks/index.js'",
    "import './polyfill'",
  ].join('\n');
  const b = importBindings(text, 'pkg/src/app.js', 'javascript');
  assert.deepEqual(b.get('Reply'), ['pkg/src/lib/reply']);
  assert.deepEqual(b.get('getGenReqId'), ['pkg/util/ids.js']);
  assert.deepEqual(b.get('reqIdGenFactory'), ['pkg/util/ids.js']);
  assert.deepEqual(b.get('Router'), ['pkg/src/router']);
  assert.deepEqual(b.get('r'), ['pkg/src/router']);
  assert.deepEqual(b.get('hooks'), ['pkg/src/hooks/index.js']);
  assert.deepEqual(b.get(''), ['pkg/src/polyfill']);
  assert.equal(b.has('http'), false);
  assert.ok(moduleMatches(modulePath('pkg/util/ids.js'), modulePath('pkg/util/ids.js')));
  assert.ok(moduleMatches(modulePath('pkg/src/hooks/index.ts'), 'pkg/src/hooks/index.js'.replace(/\.js$/, '')));
  assert.ok(!moduleMatches(modulePath('pkg/src/lib/replyer.js'), 'pkg/src/lib/reply'));
});

test('imports: Python relative and absolute modules', () => {
  const text = 'from ._models import Request, Response\nfrom . import _utils\nimport httpx._config as config\n';
  const b = importBindings(text, 'httpx/_client.py', 'python');
  assert.deepEqual(b.get('Request'), ['httpx/_models']);
  assert.deepEqual(b.get('_utils'), ['httpx/_utils']);
  assert.deepEqual(b.get('config'), ['httpx/_config']);
  assert.ok(moduleMatches(modulePath('src/httpx/_config.py'), 'httpx/_config'));
});

test('outline: definition lines in file order, exported first when they do not all fit', () => {
  const text = [
    'const helperTable = {}',
    'function internalOne(a, b) {',
    '  if (a) {',
    '    return b',
    '  }',
    '}',
    'class Store {',
    '  // The value the store starts from, and the',
    '  // one reset() brings back: kept as given,',
    '  // never copied, so callers share it.',
    '  reset(value) {',
    '    this.value = value',
    '  }',
    '}',
    '',
    '// Store and internalOne are all this module has.',
    'module.exports = { internalOne, Store }',
  ].join('\n');
  const o = outlineChunk('lib/store.js', text)!;
  assert.equal(o.kind, 'outline');
  assert.equal(o.text, 'function internalOne(a, b) {\nclass Store {\n  reset(value) {\nmodule.exports = { internalOne, Store }\n');
  const many = Array.from({ length: 200 }, (_, i) => `function local${i}(x) {\n  return x\n}`).join('\n') + '\nexport function wanted(y) {\n  return y\n}\n';
  const big = outlineChunk('big.js', many)!;
  assert.ok(big.text.length <= MAX_OUTLINE_CHARS);
  assert.ok(big.text.includes('export function wanted(y) {'));
  assert.equal(outlineChunk('data.js', '// nothing here\n'), undefined);
  // A file that fits in one chunk is its own outline: the same text as its chunk, given once.
  const short = "function makeWidget(name) {\n  return { name }\n}\nmodule.exports = { makeWidget }\n";
  assert.deepEqual(outlineChunk('w.js', short), { ...chunkFile('w.js', short)[0], kind: 'outline' });
});

test('sources: an imported file\'s names reach the extra context though the cursor\'s code shares none yet', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'di-imp-'));
  const uri = (rel: string) => pathToFileURL(path.join(root, rel)).href;
  const filter = new WorkspaceFilter();
  filter.setRoots([pathToFileURL(root).href]);
  const sources = new ContextSources(filter);
  const migrations = 'async function listCompletedMigrations(tableName, trx) {\n  return trx.from(tableName)\n}\n'
    + 'function listAllMigrations(source, extensions) {\n  return source.getMigrations(extensions)\n}\n'
    + 'module.exports = { listCompletedMigrations, listAllMigrations }\n';
  const unrelated = 'function formatBanner(title) {\n  return `== ${title} ==`\n}\nmodule.exports = { formatBanner }\n';
  sources.update(uri('lib/list.js'), migrations, 1);
  sources.update(uri('lib/banner.js'), unrelated, 1);
  const app = "const list = require('./lib/list')\n\nasync function run(config, knex) {\n  const all = await list.";
  sources.update(uri('app.js'), app, 1);
  const extra = sources.extraFor(uri('app.js'), 3, 'javascript', app, '\n}\n', { crossFile: true, crossFileTokens: 256, crossFileChunks: 4 });
  assert.ok(extra, 'the imported file gives context');
  assert.match(extra.text, /\/\/ Path: lib\/list\.js\n/);
  assert.match(extra.text, /function listAllMigrations\(source, extensions\) \{\n/);
  assert.doesNotMatch(extra.text, /formatBanner/, 'a file not imported and sharing no name stays out');
});
