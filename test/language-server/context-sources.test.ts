// Context from other files (issue 24): chunks, the ring buffer, the selection and its budget,
// the pinning that keeps the text stable while typing, and the exclusions (workspace only,
// files.exclude, .gitignore, size).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CHUNK_LINES, chunkFile, identifiers, MAX_CHUNK_CHARS, similarity } from '../../language-server/src/context-sources/chunks';
import { globToRegExp, MAX_FILE_BYTES, WorkspaceFilter } from '../../language-server/src/context-sources/exclusions';
import { formatExtraContext, selectChunks } from '../../language-server/src/context-sources/select';
import { ContextSources, MAX_FILES, REGION_LINES } from '../../language-server/src/context-sources/sources';

const on = { crossFile: true, crossFileTokens: 256, crossFileChunks: 4 };

function workspace(gitignore = ''): { root: string; uri: (rel: string) => string; filter: WorkspaceFilter } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'di-xf-'));
  if (gitignore) fs.writeFileSync(path.join(root, '.gitignore'), gitignore);
  const filter = new WorkspaceFilter();
  filter.setRoots([pathToFileURL(root).href]);
  return { root, uri: (rel) => pathToFileURL(path.join(root, rel)).href, filter };
}

const helper = 'export function parseWidgetConfig(source, strictMode) {\n  return JSON.parse(source);\n}\n';

test('chunks: whole lines, overlapping by half, long lines cut, blank chunks dropped', () => {
  const lines = Array.from({ length: 40 }, (_, i) => `line${i}`);
  const chunks = chunkFile('a.js', lines.join('\r\n'));
  assert.deepEqual(chunks.map((c) => c.line), [0, 8, 16, 24]);
  assert.equal(chunks[0].text.split('\n').length - 1, CHUNK_LINES);
  assert.ok(chunks.every((c) => c.text.endsWith('\n') && !c.text.includes('\r')));
  assert.ok(chunkFile('min.js', 'x'.repeat(10_000))[0].text.length <= MAX_CHUNK_CHARS);
  assert.deepEqual(chunkFile('blank.js', '\n\n\n'), []);
});

test('similarity: shared identifiers over all, keywords ignored', () => {
  assert.deepEqual([...identifiers('const fooBar = baz(x) + this.qux')].sort(), ['baz', 'fooBar', 'qux']);
  assert.equal(similarity(new Set(['a1', 'b1']), new Set(['a1', 'c1'])), 1 / 3);
  assert.equal(similarity(new Set(), new Set(['a1'])), 0);
});

test('selection: most similar last, within chunks and characters, deduplicated, no overlapping chunks of one file', () => {
  const mk = (p: string, text: string, line = 0, kind: 'file' | 'definition' = 'file') => ({ chunk: { path: p, text, line, kind }, ids: identifiers(text) });
  const query = identifiers('const cfg = parseWidgetConfig(raw, strictMode); renderWidget(cfg)');
  const candidates = [
    mk('a.js', helper), mk('copy.js', helper), mk('b.js', 'function renderWidget(cfg) {}\n'), mk('b.js', 'function renderWidget(cfg) {}\n// more\n', 4),
    mk('c.js', 'unrelated totally different names\n'), mk('d.js', 'export const strictMode = true;\n', 0, 'definition'),
  ];
  const chosen = selectChunks(candidates, query, 4, 10_000);
  assert.deepEqual(chosen.map((c) => c.path), ['a.js', 'b.js', 'd.js'], 'the definition first in rank (last in text), then by similarity; duplicates, overlaps and unrelated out');
  assert.equal(selectChunks(candidates, query, 1, 10_000).length, 1, 'the chunk limit');
  assert.deepEqual(selectChunks(candidates, query, 4, 60).map((c) => c.path), ['d.js'], 'the character budget');
  const text = formatExtraContext(chosen, 'typescript');
  assert.equal(text, `// Path: a.js\n${helper}// Path: b.js\nfunction renderWidget(cfg) {}\n// Path: d.js\nexport const strictMode = true;\n`);
  assert.ok(formatExtraContext(chosen, 'python').startsWith('# Path: a.js\n'));
});

test('sources: other open files only, pinned while the cursor stays in its region, chosen again elsewhere', () => {
  const { uri, filter } = workspace();
  const sources = new ContextSources(filter);
  sources.update(uri('src/config.js'), helper, 1);
  sources.update(uri('src/main.js'), 'const cfg = parseWidgetConfig(raw, strictMode);\n', 1);
  const prefix = 'const cfg = parseWidgetConfig(';
  const first = sources.extraFor(uri('src/main.js'), 10, 'javascript', prefix, '', on);
  assert.ok(first);
  assert.equal(first.text, `// Path: src/config.js\n${helper}`);
  assert.equal(first.chunks, 1);
  assert.ok(!first.text.includes('const cfg'), "the document's own text is not extra context");
  // Typing (the same region, other text around the cursor, another file edited): the same text, so the K/V cache holds.
  sources.update(uri('src/other.js'), 'export function parseWidgetConfigFast(strictMode) {}\n', 1);
  const typed = sources.extraFor(uri('src/main.js'), 10 + REGION_LINES, 'javascript', `${prefix}raw, strict`, '', on);
  assert.equal(typed?.text, first.text);
  // Another region: chosen again (now with the other file too).
  const moved = sources.extraFor(uri('src/main.js'), 11 + REGION_LINES * 2, 'javascript', `${prefix}raw, strictMode`, '', on);
  assert.notEqual(moved?.text, first.text);
  assert.match(moved!.text, /src\/other\.js/);
  // Settings: off, or no budget, gives none.
  assert.equal(sources.extraFor(uri('src/main.js'), 10, 'javascript', prefix, '', { ...on, crossFile: false }), undefined);
  assert.equal(sources.extraFor(uri('src/main.js'), 10, 'javascript', prefix, '', { ...on, crossFileTokens: 0 }), undefined);
  // Nothing similar: none (a lone file gets exactly the context it had without the feature).
  assert.equal(new ContextSources(filter).extraFor(uri('src/main.js'), 0, 'javascript', prefix, '', on), undefined);
});

test('sources: the ring keeps the most recent files; the budget bounds the text', () => {
  const { uri, filter } = workspace();
  const sources = new ContextSources(filter);
  for (let i = 0; i < MAX_FILES + 3; i++) sources.update(uri(`f${i}.js`), `export function shared${i}() {}\n`, 1);
  assert.equal(sources.paths.length, MAX_FILES);
  assert.equal(sources.paths[0], 'f3.js', 'the oldest went first');
  sources.update(uri('f3.js'), 'export function shared3() {}\n', 2);
  assert.equal(sources.paths.at(-1), 'f3.js', 'an edit makes a file the most recent');
  const big = Array.from({ length: 200 }, (_, i) => `parseWidgetConfig(x${i});`).join('\n');
  sources.update(uri('big.js'), big, 1);
  const extra = sources.extraFor(uri('main.js'), 0, 'javascript', 'parseWidgetConfig(', '', { ...on, crossFileTokens: 200, crossFileChunks: 16 });
  assert.ok(extra && extra.chunks >= 1 && extra.text.length <= 200 * 3, `within the budget's characters (${extra?.text.length})`);
});

test('sources: definitions from the client come first, once per region they re-choose, excluded files never count', () => {
  const { uri, filter } = workspace('secret/\n');
  const sources = new ContextSources(filter);
  sources.update(uri('a.js'), helper, 1);
  const first = sources.extraFor(uri('main.js'), 5, 'javascript', 'parseWidgetConfig(', '', on);
  sources.setDefinitions(uri('main.js'), [
    { uri: uri('lib/widget.js'), line: 3, text: 'class Widget {\n  render() {}\n}' },
    { uri: uri('secret/keys.js'), line: 0, text: 'const apiKey = "parseWidgetConfig";' },
    { uri: 'https://example.com/x.js', line: 0, text: 'parseWidgetConfig' },
  ]);
  const after = sources.extraFor(uri('main.js'), 5, 'javascript', 'parseWidgetConfig(', '', on);
  assert.notEqual(after?.text, first?.text, 'the first definitions in a region choose again');
  assert.ok(after!.text.endsWith('// Path: lib/widget.js\nclass Widget {\n  render() {}\n}\n'), 'the definition last (nearest the code)');
  assert.ok(!after!.text.includes('apiKey') && !after!.text.includes('example.com'));
  // Later definitions in the same region wait for the next region (typing keeps its cache).
  sources.setDefinitions(uri('main.js'), [{ uri: uri('lib/other.js'), line: 0, text: 'function other() {}' }]);
  assert.equal(sources.extraFor(uri('main.js'), 6, 'javascript', 'parseWidgetConfig(', '', on)?.text, after!.text);
});

test('exclusions: workspace folders only, files.exclude, .gitignore with negation, size limit', () => {
  const { uri, filter, root } = workspace('node_modules\n*.log\n/build/\n!build/keep.js\ndist/**/*.map\n');
  filter.setFilesExclude({ '**/.git': true, '**/*.gen.ts': true, 'off/**': false });
  assert.equal(filter.allowed(uri('src/a.ts'), 10), 'src/a.ts');
  assert.equal(filter.allowed(uri('off/a.ts'), 10), 'off/a.ts', 'a files.exclude glob set to false excludes nothing');
  assert.equal(filter.allowed(uri('src/x.gen.ts'), 10), undefined, 'files.exclude');
  assert.equal(filter.allowed(uri('.git/config'), 10), undefined, 'files.exclude on a folder above');
  assert.equal(filter.allowed(uri('pkg/node_modules/x/index.js'), 10), undefined, '.gitignore name at any depth');
  assert.equal(filter.allowed(uri('logs/run.log'), 10), undefined);
  assert.equal(filter.allowed(uri('build/out.js'), 10), undefined, 'anchored folder');
  assert.equal(filter.allowed(uri('src/build/out.js'), 10), 'src/build/out.js', 'anchored: not deeper');
  assert.equal(filter.allowed(uri('dist/a/b.js.map'), 10), undefined);
  assert.equal(filter.allowed(uri('src/a.ts'), MAX_FILE_BYTES + 1), undefined, 'too large');
  assert.equal(filter.allowed(pathToFileURL(path.join(path.dirname(root), 'elsewhere.ts')).href, 10), undefined, 'outside the workspace');
  assert.equal(filter.allowed('untitled:Untitled-1', 10), undefined, 'not a file');
  assert.ok(globToRegExp('**/*.{js,ts}').test('a/b/c.ts') && !globToRegExp('*.js').test('a/b.js'));
});
