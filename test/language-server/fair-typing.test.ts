// Fair service across documents (issue 22): several documents typed at once, through the real
// server with the real default model, as an editor drives it: every keystroke is an edit and an
// automatic inline request, and the request before it is cancelled ($/cancelRequest), as VS Code
// does. Every document must get ghost text while it is being typed, not only some of them.
//
// The documents are long enough that each one's context fills the model's window, so that their
// contexts together do not fit the engine's context cache: that is where a document starved.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { CancellationTokenSource } from 'vscode-languageserver-protocol/node';
import { LspServerProcess } from './lsp-harness';
import { modelsDir } from '../helpers/paths';

process.env.DIFFUSION_INFILL_TRACE = '1';

const DOCUMENTS = 5;
/** Per document, between its keystrokes: brisk typing, or slower where one warm request takes
 *  longer (a busy machine): the pace at which one document typed alone is answered. */
const MIN_GAP_MS = 130;
/** What each document's user types: the next function of a file of functions like it. */
const typedLine = (d: number) => `def scale_${d}_40(values, factor=40):\n    total = 0\n`;

function source(d: number): string {
  const fns = Array.from({ length: 40 }, (_, i) => `def scale_${d}_${i}(values, factor=${i}):\n    total = 0\n    for v in values:\n        total += v * factor\n    return total\n`);
  return `${fns.join('\n')}\n`;
}

interface Trace { document: string; latencyMs: number; grow: boolean; context: { computed: number } }

/** The server's [trace] lines of finished model runs. */
function traces(server: LspServerProcess): Trace[] {
  return (server.stderr.match(/\[trace\] \{"kind":"infill".*\}/g) ?? []).map((line) => JSON.parse(line.slice(line.indexOf('{'))) as Trace);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('several documents typed at once', () => {
  let server: LspServerProcess;

  before(async () => {
    server = LspServerProcess.start('stdio');
    // The defaults (debounce 75 ms, time budget 100 ms), as a user has them.
    await server.initialize({ modelPath: path.join(modelsDir, 'default'), device: 'cpu' });
    const ready = await server.waitForStatus((s) => s.state === 'ready' || s.state === 'error', 120_000);
    assert.equal(ready.state, 'ready', ready.message);
  });

  after(async () => {
    await server?.stop();
  });

  test(`each of ${DOCUMENTS} documents gets ghost text while it is typed`, async (t) => {
    // The machine's pace: one document, warm, typed alone (an automatic request after a keystroke).
    const probe = source(9);
    const probeUri = 'file:///fair/probe.py';
    await server.open(probeUri, 'python', probe);
    const end = { line: probe.split('\n').length - 1, character: 0 };
    await server.inline(probeUri, end);
    // Characters the model will not guess, so that each request runs the model.
    for (const [i, ch] of [...'q7zx2'].entries()) {
      await server.change(probeUri, { start: { ...end, character: i }, end: { ...end, character: i } }, ch);
      await server.inline(probeUri, { ...end, character: i + 1 }, { trigger: 'automatic' });
    }
    await server.close(probeUri);
    // The model's time for those requests (the runs that grow a cut-short answer are left out).
    const warm = traces(server).filter((r) => r.document === probeUri && !r.grow && r.context.computed < 10).map((r) => r.latencyMs).sort((a, b) => a - b);
    assert.ok(warm.length > 0, 'the probe reached the model');
    const gap = Math.max(MIN_GAP_MS, Math.round(75 + 2 * warm[Math.floor(warm.length / 2)]));
    t.diagnostic(`one warm request alone: ${warm.map(Math.round).join(', ')} ms in the model; typing one key per ${gap} ms per document`);

    const texts = Array.from({ length: DOCUMENTS }, (_, d) => source(d));
    for (let d = 0; d < DOCUMENTS; d++) await server.open(`file:///fair/${d}.py`, 'python', texts[d]);

    const answered = new Array<number>(DOCUMENTS).fill(0);
    const asked = new Array<number>(DOCUMENTS).fill(0);
    const typeDocument = async (d: number) => {
      const uri = `file:///fair/${d}.py`;
      // Typing starts at the end of the file, the documents a little apart.
      await sleep(d * 40);
      let line = texts[d].split('\n').length - 1;
      let character = 0;
      let previous: CancellationTokenSource | undefined;
      const replies: Array<Promise<void>> = [];
      for (const ch of typedLine(d)) {
        previous?.cancel();
        await server.change(uri, { start: { line, character }, end: { line, character } }, ch);
        if (ch === '\n') {
          line++;
          character = 0;
        } else {
          character++;
        }
        const token = new CancellationTokenSource();
        previous = token;
        asked[d]++;
        replies.push(server.inline(uri, { line, character }, { trigger: 'automatic', token }).then(
          // An editor shows only the answer to a request it has not cancelled (the next keystroke cancels it).
          (items) => { if (!token.token.isCancellationRequested && items.length > 0 && String(items[0].insertText).length > 0) answered[d]++; },
          () => undefined,
        ));
        await sleep(gap);
      }
      previous?.cancel();
      await Promise.all(replies);
    };
    await Promise.all(Array.from({ length: DOCUMENTS }, (_, d) => typeDocument(d)));
    const runs = traces(server).filter((r) => r.document !== probeUri).length;
    t.diagnostic(`answered while typing, per document: ${JSON.stringify(answered)} of ${JSON.stringify(asked)}; model runs finished ${runs}`);
    for (let d = 0; d < DOCUMENTS; d++) assert.ok(answered[d] > 0, `document ${d} got no ghost text while typed: ${JSON.stringify(answered)}`);
  });
});
