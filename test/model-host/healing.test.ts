// Token healing of a word the cursor cuts (engine.ts healWord), on the shipped default model.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocalEngine } from '../../model-host/src/engine';
import { ENGINE_SETTINGS } from '../../model-host/src/settings/engine-settings';
import { CodeTokenizer } from '../../model-host/src/model/tokenizer';
import type { InfillRequest } from '../../model-host/src/types';
import { modelsDir } from '../helpers/paths';

const dir = path.join(modelsDir, 'default');
const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
const tok = new CodeTokenizer(JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')), manifest.special_tokens);
const engine = new LocalEngine({ modelDir: dir, provider: 'cpu' });
before(() => engine.load());
after(() => engine.dispose());

const body = 'def total(values):\n    s = 0\n    for v in values:\n        s += v\n    ';
const ask = (typed: string, document?: string): InfillRequest => ({
  prefix: body + typed, suffix: '\n\n\nprint(total([1, 2, 3]))\n', canvasLength: 24, document,
  sampler: { steps: 24, blockLength: 8, temperature: 0, singleLine: true },
  maxPrefixTokens: ENGINE_SETTINGS.maxPrefixTokens.default, maxSuffixTokens: ENGINE_SETTINGS.maxSuffixTokens.default,
});

test('tokensStartingWith: every token whose text starts with the word, and nothing else', () => {
  const ids = tok.tokensStartingWith(' ret');
  assert.ok(ids.length > 3, `${ids.length} tokens`);
  for (const id of ids) assert.ok(tok.decode([id]).startsWith(' ret'), tok.decode([id]));
  assert.ok(ids.includes(tok.encode(' return')[0]) && ids.includes(tok.encode(' ret')[0]));
  assert.ok(!ids.some((id) => tok.isSpecial(id)));
  assert.ok(tok.tokensStartingWith('http').includes(tok.encode('http')[0]));
  assert.deepEqual(tok.tokensStartingWith('qqqzzzqqq'), []);
  assert.throws(() => tok.tokensStartingWith('a.b'), /not a word/);
});

test('a word cut by the cursor is finished from inside it, and typing inside the word reuses the whole context', async () => {
  const cold = await engine.infill(ask('ret'));
  // Healed, the model writes " return" whole; the completion is what follows the typed "ret".
  assert.match(cold.candidates[0].text, /^urn\b/, JSON.stringify(cold.candidates[0].text));
  // The context ends before the word, so it is the same for "r", "re" and "ret".
  const computed: number[] = [];
  for (const typed of ['r', 're', 'ret']) computed.push((await engine.infill(ask(typed, 'typing'))).context.computed);
  assert.ok(computed[0] > 0);
  assert.deepEqual(computed.slice(1), [0, 0], `context tokens computed per keystroke: ${computed}`);
  // A prefix ending in a blank or a symbol is not cut back.
  const afterDot = await engine.infill({ ...ask(''), prefix: 'import os\nos.' });
  assert.equal(afterDot.prefixTokens, tok.encode('import os\nos.').length);
});
