// A model folder is not trusted: model.json and the files it names must stay inside it, errors
// never quote what they read, the declared window is capped; and the CLI reads regular files only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadManifest } from '../../model-host/src/model/manifest';
import { cappedWindow, MAX_WINDOW_TOKENS } from '../../model-host/src/model/model-paths';
import { repoRoot, tinyModel } from '../helpers/paths';

const SECRET = 'TOP-SECRET-CONTENTS 12345';

function copyTiny(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'di-paths-'));
  for (const f of fs.readdirSync(tinyModel)) fs.copyFileSync(path.join(tinyModel, f), path.join(dir, f));
  return dir;
}

function loadError(dir: string): Error {
  try {
    loadManifest(dir);
  } catch (error) {
    return error as Error;
  }
  throw new Error('loadManifest accepted the folder');
}

test('model.json symlinked to a file outside the folder is refused, its contents never quoted', () => {
  const dir = copyTiny();
  const outside = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'di-outside-')), 'secret.txt');
  fs.writeFileSync(outside, SECRET);
  fs.rmSync(path.join(dir, 'model.json'));
  fs.symlinkSync(outside, path.join(dir, 'model.json'));
  const error = loadError(dir);
  assert.equal(error.name, 'ModelLoadError');
  assert.match(error.message, /outside the model folder/);
  assert.doesNotMatch(error.message, /SECRET/);
});

test('files entries with ../ or absolute paths are refused before anything is read', () => {
  for (const name of ['../secret.txt', '/etc/passwd', 'sub/../../x']) {
    const dir = copyTiny();
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    manifest.files.tokenizer = name;
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(manifest));
    const error = loadError(dir);
    assert.equal(error.name, 'ModelLoadError');
    assert.match(error.message, /must be inside the model folder/);
  }
});

test('a model.json that is not JSON is reported by position, never by its text', () => {
  const dir = copyTiny();
  fs.writeFileSync(path.join(dir, 'model.json'), `${SECRET} and more`);
  const error = loadError(dir);
  assert.match(error.message, /model\.json is not valid JSON/);
  assert.doesNotMatch(error.message, /SECRET/);
});

test('the window declared in model.json is capped', () => {
  assert.equal(cappedWindow(65_536, 65_536), MAX_WINDOW_TOKENS);
  assert.equal(cappedWindow(1024, 256), 256);
  assert.equal(cappedWindow(1024, 'x', -3, 2.5), 1024);
});

test('the CLI refuses --file /dev/zero and FIFOs at once, and files over its size limit', () => {
  const cli = path.join(repoRoot, 'out/model-host/src/cli.js');
  const fifo = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'di-cli-')), 'fifo');
  spawnSync('mkfifo', [fifo]);
  for (const file of ['/dev/zero', fifo]) {
    const r = spawnSync(process.execPath, [cli, '--file', file, '--line', '0', '--col', '0'], { timeout: 10_000, encoding: 'utf8' });
    assert.equal(r.status, 2, `${file}: ${r.stderr}`);
    assert.match(r.stderr, /not a regular file/);
  }
  const big = path.join(path.dirname(fifo), 'big.py');
  fs.writeFileSync(big, '');
  fs.truncateSync(big, 17 * 1024 * 1024);
  const r = spawnSync(process.execPath, [cli, '--file', big, '--line', '0', '--col', '0'], { timeout: 10_000, encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /over the limit/);
});
