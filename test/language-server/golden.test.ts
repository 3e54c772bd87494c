// Runs every golden file in test/golden/ through the server's own path for ghost text, minus the
// model: document + cursor → context windows → span policy → the handler's candidate ranking
// (post-processing) → the handler's reply items (line endings converted back).
// The file format is described in test/golden/README.md.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { rankCandidates, requestAt } from '../../language-server/src/complete-at';
import { toItems } from '../../language-server/src/inline-completion';
import { toLf } from '../../language-server/src/line-endings';
import { defaultSettings } from '../../language-server/src/settings';

const repoRoot = path.resolve(__dirname, '../../..');
const goldenDir = path.join(repoRoot, 'test', 'golden');
const defaults = defaultSettings(repoRoot);
const CURSOR = '║';

interface GoldenCase {
  name: string;
  options: Map<string, string>;
  document: string;
  raw: string;
  expected: string | null;
}

function unescape(s: string): string {
  return s.replace(/␀/g, '\0').replace(/␠/g, ' ').replace(/⇥/g, '\t').replace(/␍/g, '\r');
}

function parseGolden(name: string, source: string): GoldenCase {
  const sections = new Map<string, string[]>();
  const options = new Map<string, string>();
  let current: string[] | undefined;
  for (const line of source.split('\n')) {
    const header = /^@@ (\w+)(?::\s*(.*))?$/.exec(line);
    if (header) {
      if (header[1] === 'options') {
        for (const pair of (header[2] ?? '').split(/\s+/).filter(Boolean)) {
          const [key, value = 'true'] = pair.split('=');
          options.set(key, value);
        }
        current = undefined;
      } else {
        current = [];
        sections.set(header[1], current);
      }
    } else if (current) {
      current.push(line);
    } else if (!line.startsWith('#') && line.trim() !== '') {
      throw new Error(`${name}: text outside a section: ${line}`);
    }
  }
  const section = (key: string): string => {
    const lines = sections.get(key);
    if (!lines) throw new Error(`${name}: missing @@ ${key}`);
    // The file's final line break belongs to the file, not to the last section.
    if (lines.length > 0 && lines[lines.length - 1] === '' && key === [...sections.keys()].pop()) lines.pop();
    return unescape(lines.join('\n'));
  };
  const crlf = options.get('eol') === 'crlf';
  const withEol = (s: string): string => (crlf ? s.replace(/\n/g, '\r\n') : s);
  const expected = section('expected');
  return {
    name,
    options,
    document: withEol(section('document')),
    raw: section('raw'),
    expected: expected === '(none)' ? null : withEol(expected),
  };
}

/** The LSP position of a UTF-16 offset, computed without the code under test. */
function positionOf(text: string, offset: number): { line: number; character: number } {
  let line = 0;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, character: offset - lineStart };
}

function runPipeline(c: GoldenCase): { result: string | null; mode?: string; prefix?: string; suffix?: string } {
  const cursor = c.document.indexOf(CURSOR);
  assert.notEqual(cursor, -1, `${c.name}: no cursor marker`);
  assert.equal(c.document.indexOf(CURSOR, cursor + 1), -1, `${c.name}: more than one cursor marker`);
  const text = c.document.slice(0, cursor) + c.document.slice(cursor + CURSOR.length);
  const document = TextDocument.create('file:///golden', 'plaintext', 1, text);
  const offset = document.offsetAt(positionOf(text, cursor));
  assert.equal(offset, cursor, `${c.name}: cursor offset`);
  const settings = {
    ...defaults,
    maxPrefixTokens: Number(c.options.get('prefix-tokens') ?? defaults.maxPrefixTokens),
    maxSuffixTokens: Number(c.options.get('suffix-tokens') ?? defaults.maxSuffixTokens),
  };
  const at = requestAt(text, offset, settings);
  if (!at) return { result: null };
  const { context, plan } = at;
  const raw = { text: c.raw, confidence: -1, canvasLength: 8, tokens: 1, steps: 1, truncated: false };
  const items = toItems(rankCandidates([raw], context, plan), document, context, document.positionAt(offset));
  const insertText = items[0]?.insertText;
  return { result: typeof insertText === 'string' ? insertText : null, mode: plan.mode, prefix: context.prefix, suffix: context.suffix };
}

const files = fs.readdirSync(goldenDir).filter((f) => f.endsWith('.txt')).sort();

test('golden files exist', () => {
  assert.ok(files.length >= 10, `only ${files.length} golden files`);
});

for (const file of files) {
  test(`golden: ${file}`, () => {
    const c = parseGolden(file, fs.readFileSync(path.join(goldenDir, file), 'utf8'));
    const { result, mode, prefix, suffix } = runPipeline(c);
    assert.equal(result, c.expected);
    const expectedMode = c.options.get('mode');
    if (expectedMode) assert.equal(mode, expectedMode, 'span mode');
    // With the default budgets these small documents fit whole: the windows are exactly
    // the text around the cursor, line endings normalized to LF.
    if (prefix !== undefined && suffix !== undefined && !c.options.has('prefix-tokens')) {
      assert.equal(prefix + CURSOR + suffix, toLf(c.document), 'windows cover the document');
    }
  });
}
