// The command-line tool (compiled out/model-host/src/cli.js) on the tiny model.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { modelsDir, repoRoot } from '../helpers/paths';

const cli = path.join(repoRoot, 'out/model-host/src/cli.js');
const tiny = path.join(modelsDir, 'tiny');

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('the CLI fills a hole at a cursor, a selection, or between two files, and prints one JSON object', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'di-cli-'));
  try {
    const file = path.join(dir, 'a.py');
    fs.writeFileSync(file, 'def add(a, b):\r\n    return a + b\r\n');
    const common = ['--model', tiny, '--device', 'cpu', '--threads', '1', '--canvas', '16', '--candidates', '2', '--steps', '8'];
    const r = run([...common, '--file', file, '--line', '1', '--col', '11']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(typeof out.completion, 'string');
    // At a cursor the editor's pipeline: the completion is the first post-processed one, in the file's line ending.
    assert.equal(out.completion, out.completions[0] ?? '');
    assert.equal(out.mode, 'single-line', 'text after the cursor: one line');
    assert.ok(out.completions.every((c: string) => !/(^|[^\r])\n/.test(c)), 'CRLF, as the file');
    assert.equal(out.candidates.length, 2);
    assert.ok(out.candidates[0].confidence >= out.candidates[1].confidence, 'best first');
    assert.ok(out.candidates.every((c: { canvasLength: number }) => c.canvasLength === 16));
    assert.equal(out.model, 'tiny');
    assert.equal(out.provider, 'cpu');
    assert.ok(out.forwards >= 2 && out.timings.totalMs > 0);
    assert.equal(out.prefixTokens > 0 && out.suffixTokens > 0, true);

    const sel = JSON.parse(run([...common, '--file', file, '--line', '1', '--col', '11', '--end-line', '1', '--end-col', '16', '--no-cache']).stdout);
    assert.ok(sel.suffixTokens < out.suffixTokens, 'the selection is not part of the suffix');

    fs.writeFileSync(path.join(dir, 'p.txt'), 'x = [1, 2, 3]\ny = ');
    fs.writeFileSync(path.join(dir, 's.txt'), '\nprint(y)\n');
    const files = run([...common, '--prefix-file', path.join(dir, 'p.txt'), '--suffix-file', path.join(dir, 's.txt')]);
    assert.equal(files.status, 0, files.stderr);
    const raw = JSON.parse(files.stdout);
    assert.equal(raw.candidates.length, 2);
    assert.equal(raw.completion, raw.candidates[0].text, "two files: the model's text as it wrote it");
    // One candidate unless asked for more.
    const one = run(common.filter((a, i) => a !== '--candidates' && common[i - 1] !== '--candidates').concat(['--file', file, '--line', '1', '--col', '11']));
    assert.equal(one.status, 0, one.stderr);
    assert.equal(JSON.parse(one.stdout).candidates.length, 1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bad arguments exit 2 with usage; a model that cannot load exits 3 with its message', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'di-cli-'));
  try {
    const file = path.join(dir, 'a.py');
    fs.writeFileSync(file, 'x = 1\n');
    for (const args of [
      ['--file', file],
      ['--file', file, '--line', '5', '--col', '0'],
      ['--file', file, '--line', '0', '--col', '9'],
      ['--file', file, '--line', '0', '--col', '0', '--canvas', '8,x'],
      ['--file', file, '--line', '0', '--col', '0', '--canvas', '8,16'],
      ['--file', file, '--line', '0', '--col', '0', '--candidates', '0'],
      ['--file', file, '--line', '0', '--col', '0', '--device', 'tpu'],
      ['--file', file, '--line', '0', '--col', '0', '--frobnicate'],
      [],
    ]) {
      const r = run(['--model', tiny, ...args]);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /usage: diffusion-infill/);
      assert.equal(r.stdout, '');
    }
    const bad = run(['--model', dir, '--file', file, '--line', '0', '--col', '0']);
    assert.equal(bad.status, 3);
    assert.match(bad.stderr, /Model manifest not found: .*model\.json/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
