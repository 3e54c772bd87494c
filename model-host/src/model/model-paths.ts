// What the host accepts from a model folder before reading anything in it. A model folder may come
// from a workspace setting or a download, so its model.json is not trusted: model.json itself and
// every file it names must resolve (symlinks followed) to a regular file inside the folder, and
// errors never quote a file's contents (JSON.parse's messages do: "Unexpected token 'r', "root:x:0:0"...").
// The token window it declares is capped, so an inflated one cannot make every request huge.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelLoadError } from '../errors';

/** model.json is a few kilobytes; anything much larger is not one. */
const MAX_MANIFEST_BYTES = 1024 * 1024;
/** tokenizer.json is parsed whole in the worker (its JSON text and parsed objects several times its
 *  size): a code BPE vocabulary is a few MB (the default's is 1.5 MB), so 64 MB is ample and a
 *  2 GB file is refused before it is read. */
export const MAX_TOKENIZER_BYTES = 64 * 1024 * 1024;
/** The longest window (bos + prefix + canvas + suffix + eos) the host will plan for, whatever
 *  model.json says: the server's context budgets and canvases stay far below it. */
export const MAX_WINDOW_TOKENS = 4096;

/** The folder's real path (symlinks resolved), or a ModelLoadError saying what is wrong. */
export function realModelFolder(dir: string): string {
  const abs = path.resolve(dir);
  if (!fs.existsSync(abs)) throw new ModelLoadError(`Model folder not found: ${abs}`, abs);
  if (!fs.statSync(abs).isDirectory()) throw new ModelLoadError(`Model path is not a folder: ${abs}`, abs);
  return fs.realpathSync(abs);
}

/**
 * The path of `name` in the model folder `dir`, once it is known to be a regular file whose real
 * path lies inside the folder's real path. `name` comes from model.json (or is 'model.json').
 */
export function fileInsideModel(dir: string, name: unknown, what: string, manifestPath: string): string {
  const abs = path.resolve(dir);
  const realDir = fs.realpathSync(abs);
  if (typeof name !== 'string' || name === '' || path.isAbsolute(name) || name.split(/[\\/]/).includes('..')) {
    throw new ModelLoadError(`${manifestPath} names the ${what} as ${JSON.stringify(name)}: files must be inside the model folder (no absolute paths, no "..")`, manifestPath);
  }
  const file = path.join(abs, name);
  if (!fs.existsSync(file)) throw new ModelLoadError(`The ${what} named in ${manifestPath} is missing: ${file}`, file);
  const real = fs.realpathSync(file);
  const rel = path.relative(realDir, real);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new ModelLoadError(`The ${what} ${file} resolves to a file outside the model folder ${abs}; refusing to read it`, file);
  }
  if (!fs.statSync(real).isFile()) throw new ModelLoadError(`The ${what} ${file} is not a regular file`, file);
  return file;
}

/** Parses JSON; a failure names the file and the position, never the text. */
function parseJsonQuietly(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const at = /position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
    throw new ModelLoadError(`${file} is not valid JSON${at ? ` (error at byte ${at})` : ''}`, file);
  }
}

/** Reads `<dir>/model.json` under the rules above and parses it. */
export function readManifestJson(dir: string): { manifestPath: string; raw: unknown } {
  const abs = path.resolve(dir);
  const manifestPath = path.join(abs, 'model.json');
  if (!fs.existsSync(manifestPath)) {
    throw new ModelLoadError(`Model manifest not found: ${manifestPath} (a model folder holds model.json, model.onnx and tokenizer.json)`, manifestPath);
  }
  fileInsideModel(abs, 'model.json', 'model manifest', manifestPath);
  const size = fs.statSync(manifestPath).size;
  if (size > MAX_MANIFEST_BYTES) throw new ModelLoadError(`${manifestPath} is ${size} bytes; a model manifest is at most ${MAX_MANIFEST_BYTES}`, manifestPath);
  return { manifestPath, raw: parseJsonQuietly(fs.readFileSync(manifestPath, 'utf8'), manifestPath) };
}

/** The window from model.json's max_positions and train_seq_len: the smaller, capped. */
export function cappedWindow(...declared: unknown[]): number {
  const valid = declared.filter((n): n is number => typeof n === 'number' && Number.isInteger(n) && n > 0);
  return Math.min(MAX_WINDOW_TOKENS, ...valid);
}
