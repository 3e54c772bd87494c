// The tokenizer wrapper against the Python side's ids (models/tiny/tokenizer-fixture.json).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CodeTokenizer } from '../../model-host/src/model/tokenizer';
import { modelsDir, repoRoot } from '../helpers/paths';

const tiny = path.join(modelsDir, 'tiny');
const manifest = JSON.parse(fs.readFileSync(path.join(tiny, 'model.json'), 'utf8'));
const tok = new CodeTokenizer(JSON.parse(fs.readFileSync(path.join(tiny, 'tokenizer.json'), 'utf8')), manifest.special_tokens);
const specialIds = Object.values(manifest.special_tokens) as number[];

test('ids equal the Python tokenizer\'s and decode back exactly', () => {
  const fixture: { text: string; ids: number[] }[] = JSON.parse(fs.readFileSync(path.join(tiny, 'tokenizer-fixture.json'), 'utf8'));
  assert.ok(fixture.length >= 3, 'the fixture has cases');
  for (const { text, ids } of fixture) {
    assert.deepEqual(tok.encode(text), ids, JSON.stringify(text));
    assert.equal(tok.decode(ids), text, JSON.stringify(text));
  }
});

test('literal special-token strings in user text stay text', () => {
  for (const text of ['<|mask|>', 'x = "<|mask|>"', 'a<|pad|><|suffix|><|prefix|><|endoftext|>b', '<|<|mask|>|>', '<|mask|', 'mask|>', '\r\n\t<|endoftext|>  π 🎉']) {
    const ids = tok.encode(text);
    assert.ok(!ids.some((id) => specialIds.includes(id)), `no special ids in ${JSON.stringify(text)}: ${ids}`);
    assert.equal(tok.decode(ids), text);
  }
});

test('decode drops special ids and takes an empty list', () => {
  assert.equal(tok.decode([]), '');
  assert.equal(tok.decode(specialIds), '');
  const ids = tok.encode('return x');
  const { suffix, prefix, pad, mask, eos } = manifest.special_tokens;
  assert.equal(tok.decode([suffix, prefix, ...ids, mask, pad, pad, eos]), 'return x');
});

test('the head and tail of a long text tokenize as the same slice of the whole', () => {
  const source = fs.readFileSync(path.join(repoRoot, 'model-host/src/decoding/sampler.ts'), 'utf8');
  for (const text of [source.repeat(3), source.replace(/\n/g, '\r\n').repeat(2), 'x'.repeat(5000), '\n\n\n'.repeat(2000)]) {
    const all = tok.encode(text);
    for (const max of [0, 1, 50, 400]) {
      assert.deepEqual(tok.encodeTail(text, max).ids, all.slice(Math.max(0, all.length - max)), `tail ${max}`);
      assert.deepEqual(tok.encodeHead(text, max).ids, all.slice(0, max), `head ${max}`);
    }
  }
});

test('line-break tokens are those whose text starts a new line', () => {
  const breaks = tok.lineBreakTokens(manifest.vocab_size);
  assert.ok(breaks.size > 0);
  for (const id of breaks) assert.match(tok.decode([id]), /^[ \t]*[\r\n]/);
  assert.ok(breaks.has(tok.encode('\n')[0]));
  assert.ok(!breaks.has(tok.encode('x')[0]));
  // Tokens with a line break anywhere (single-line completions end at one) include those.
  const newlines = tok.newlineTokens(manifest.vocab_size);
  for (const id of breaks) assert.ok(newlines.has(id));
  for (const id of newlines) assert.match(tok.decode([id]), /[\r\n]/);
  // The same sets as decoding every id (the vocabulary only narrows which ids are decoded).
  let slow = 0;
  for (let id = 0; id < manifest.vocab_size; id++) if (!specialIds.includes(id) && /[\r\n]/.test(tok.decode([id]))) slow++;
  assert.equal(newlines.size, slow);
});
