// The outlines the training examples show (training/data.py) are the ones the server gives
// (language-server/src/context-sources/imports.ts): the same definition lines of the same files,
// in JavaScript, TypeScript and Python, so that what the model learns to read is what it is given.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CHUNK_LINES } from '../../language-server/src/context-sources/chunks';
import { outlineChunk } from '../../language-server/src/context-sources/imports';
import { repoRoot } from '../helpers/paths';

const files = [
  'language-server/src/context-sources/imports.ts', 'language-server/src/protocol.ts', 'model-host/src/engine.ts',
  'esbuild.mjs', 'training/data.py', 'training/train.py', 'training/export.py',
];

test('training/data.py outlines a file as the server does', () => {
  const script = 'import json, sys\nfrom data import outline\nprint(json.dumps([outline(open(p, encoding="utf-8").read()) for p in sys.argv[1:]]))';
  const fromPython: string[] = JSON.parse(execFileSync(path.join(repoRoot, 'training/.venv/bin/python'), ['-c', script, ...files],
    { cwd: repoRoot, env: { ...process.env, PYTHONPATH: 'training' }, encoding: 'utf8' }));
  for (const [i, file] of files.entries()) {
    const text = fs.readFileSync(path.join(repoRoot, file), 'utf8');
    // A file of one chunk is given as itself (its chunk), not as an outline: only longer files compare.
    assert.ok(text.split('\n').length > CHUNK_LINES, `${file} is longer than a chunk`);
    const server = outlineChunk(file, text)?.text ?? '';
    assert.ok(server.split('\n').length > 3, `${file} has an outline`);
    assert.equal(fromPython[i], server, file);
  }
});
