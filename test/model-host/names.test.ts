// The names' copy bias (model-host/src/decoding/names.ts) on the shipped tokenizer, and through the
// real engine and model: the tokens it favours, and that it changes a completion only toward a name.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NameBias } from '../../model-host/src/decoding/names';
import { LocalEngine } from '../../model-host/src/engine';
import { CodeTokenizer } from '../../model-host/src/model/tokenizer';
import type { InfillRequest } from '../../model-host/src/types';
import { modelsDir } from '../helpers/paths';

const model = path.join(modelsDir, 'default');
const manifest = JSON.parse(fs.readFileSync(path.join(model, 'model.json'), 'utf8'));
const tok = new CodeTokenizer(JSON.parse(fs.readFileSync(path.join(model, 'tokenizer.json'), 'utf8')), manifest.special_tokens);
const texts = (ids: Int32Array) => [...ids].map((id) => tok.tokenText(id)).sort();

test('at a word boundary the first token of the name\'s own spelling is favoured, with or without its space', () => {
  const bias = new NameBias(['getGenReqId', 'if', 'x1'], 3, tok);
  assert.equal(bias.size, 1, 'names under three characters are left out');
  const start = [...bias.tokensAfter('const id = (')].sort();
  assert.deepEqual(start, [...new Set([tok.encode('getGenReqId')[0], tok.encode(' getGenReqId')[0]])].sort());
  assert.ok(texts(bias.tokensAfter('const id = (')).every((t) => 'getGenReqId'.startsWith(t.trimStart()) && t.trimStart() !== ''));
  // Off the tokenizer's boundaries (the model wrote its own pieces), any piece that goes on with the name counts.
  const odd = texts(bias.tokensAfter('const id = getGe'));
  assert.ok(odd.length > 0 && odd.every((t) => 'nReqId'.startsWith(t)), odd.join('|'));
});

test('inside a word only what continues a name counts, and nothing once the word is no name\'s start', () => {
  const bias = new NameBias(['getGenReqId', 'getSchemaSerializer'], 3, tok);
  const inside = texts(bias.tokensAfter('const id = getGen'));
  assert.ok(inside.length > 0 && inside.every((t) => 'ReqId'.startsWith(t)), inside.join('|'));
  assert.ok(!inside.some((t) => t.startsWith(' ')), 'no space inside a word');
  assert.equal(bias.tokensAfter('const id = getOther').length, 0);
  assert.equal(bias.tokensAfter('x = getGenReqId').length, 0, 'a whole name is not extended');
});

test('apply adds the bonus to a copy of the row where the model would write a word, and leaves its logits alone', () => {
  const bias = new NameBias(['serializeQuery'], 2.5, tok);
  const vocab = manifest.vocab_size;
  const logits = new Float32Array(2 * vocab).fill(1);
  const word = tok.wordPieceId(' value')!;
  logits[vocab + word] = 2;
  const row = bias.apply(logits, vocab, vocab, 'return ');
  assert.ok(row);
  const favoured = bias.tokensAfter('return ');
  for (const id of favoured) assert.equal(row[id], 3.5);
  assert.equal(row.filter((v) => v === 1).length, vocab - favoured.length - 1);
  assert.ok(logits.every((v, i) => v === (i === vocab + word ? 2 : 1)));
  assert.equal(bias.apply(logits, vocab, vocab, 'return zzz'), undefined, 'no name starts with zzz');
  // Where the model's best is a keyword or punctuation, the names add nothing.
  for (const best of [' return', ' if', '(']) {
    const keyword = new Float32Array(vocab).fill(1);
    keyword[tok.encode(best)[0]] = 2;
    assert.equal(bias.apply(keyword, 0, vocab, 'x = '), undefined, best);
  }
  // Inside a word already started as a name, it goes on whatever the model would write.
  const punct = new Float32Array(vocab).fill(1);
  punct[tok.encode('(')[0]] = 2;
  assert.ok(bias.apply(punct, 0, vocab, 'x = serialize'));
});

test('through the model: names bring a sibling\'s function and a module\'s member; without names nothing changes', async () => {
  const engine = new LocalEngine({ modelDir: model, provider: 'cpu' });
  await engine.load();
  try {
    const ask = async (prefix: string, suffix: string, extra: Partial<InfillRequest> = {}, nameBias = 8) => (await engine.infill({
      prefix, suffix, canvasLength: 16, sampler: { steps: 16, blockLength: 8, temperature: 0, singleLine: true, nameBias },
      maxPrefixTokens: 320, maxSuffixTokens: 64, reuseContext: false, ...extra })).candidates[0].text;
    // Names the code around the cursor never spells: only the names can bring them.
    const prefix = "'use strict'\n\nfunction retryDelay (res) {\n  if (!";
    const suffix = ') {\n    return 0\n  }\n  return 1000\n}\n';
    const plain = await ask(prefix, suffix, {}, 0);
    assert.equal(await ask(prefix, suffix), plain, 'a bias without names changes nothing');
    assert.ok(!/hasRetryAfterHeader|parseRetryAfter/.test(plain));
    const named = await ask(prefix, suffix, { names: ['hasRetryAfterHeader', 'parseRetryAfter'] });
    assert.match(named, /^(hasRetryAfterHeader|parseRetryAfter)\b/, `with the names: ${JSON.stringify(named)} (without: ${JSON.stringify(plain)})`);
    // Where the model writes no word (an object literal here), the names change nothing.
    const literal = ["'use strict'\n\nfunction renderAll (items) {\n  const registry = ", '\n  return items.map((item) => registry.render(item))\n}\n'] as const;
    assert.equal(await ask(...literal, { names: ['createWidgetRegistry'] }), await ask(...literal, {}, 0));

    const memberPrefix = "const reply = require('./reply')\n\nfunction handle (res, payload) {\n  const body = reply.";
    const memberSuffix = '\n  res.end(body)\n}\n';
    const members = { reply: ['serializePayload', 'sendReply'] };
    assert.ok(!/^(serializePayload|sendReply)/.test(await ask(memberPrefix, memberSuffix, {}, 0)));
    assert.match(await ask(memberPrefix, memberSuffix, { members }), /^(serializePayload|sendReply)\(/);
  } finally {
    await engine.dispose();
  }
});
