// model.json: reading it, checking it, and checking the ONNX graph against it. Every problem
// becomes a ModelLoadError whose message names the file and says what is wrong, because the
// language server shows it to the user as is (see models/CONTRACT.md for the format).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelLoadError } from '../errors';
import { cappedWindow, fileInsideModel, MAX_TOKENIZER_BYTES, readManifestJson, realModelFolder } from './model-paths';

const MANIFEST_FORMAT = 'diffusion-infill-model/2';
/** Models of this format (bidirectional, prefix-canvas-suffix layout) are no longer run. */
const RETIRED_FORMATS = ['diffusion-infill-model/1'];

/** The sentinel ids of the infill layout (CONTRACT.md): no bos; eos is never generated. */
export interface SpecialTokens {
  mask: number;
  pad: number;
  suffix: number;
  prefix: number;
  eos: number;
}

const SPECIAL_TOKEN_NAMES = ['mask', 'pad', 'suffix', 'prefix', 'eos'] as const;

/** The fields of model.json the host relies on; the rest (training, metrics) are kept as read. */
export interface ModelManifest {
  format: string;
  name: string;
  /** weights: the graph's external data files, next to it (may be empty). */
  files: { onnx: string; tokenizer: string; weights: string[] };
  vocab_size: number;
  special_tokens: SpecialTokens;
  n_layer: number;
  n_head: number;
  /** Key/value heads (grouped-query attention): the cache's dimension 2. */
  n_kv_head: number;
  head_dim: number;
  max_positions: number;
  train_seq_len: number;
  parameters: number;
  [extra: string]: unknown;
}

export interface ModelFiles {
  dir: string;
  manifestPath: string;
  onnxPath: string;
  tokenizerPath: string;
  manifest: ModelManifest;
}

const GRAPH_INPUTS = ['input_ids', 'position_ids', 'attention_mask', 'logits_from'] as const;

/** The cache inputs: stacked (past_key, past_value) or, in graphs that have past_key.0, one per layer (CONTRACT.md). */
function cacheInputNames(graphInputs: readonly string[], layers: number): string[] {
  if (!graphInputs.includes('past_key.0')) return ['past_key', 'past_value'];
  return ['key', 'value'].flatMap((t) => Array.from({ length: layers }, (_, i) => `past_${t}.${i}`));
}
const GRAPH_OUTPUTS = ['logits', 'present_key', 'present_value'] as const;

const positiveInts = ['vocab_size', 'n_layer', 'n_head', 'n_kv_head', 'head_dim', 'max_positions'] as const;

/** Reads and validates `<dir>/model.json` and checks that the files it names exist inside the
 *  folder (model-paths.ts: symlinks and "../" that lead outside are refused, contents never quoted). */
export function loadManifest(dir: string): ModelFiles {
  const abs = path.resolve(dir);
  realModelFolder(abs);
  const { manifestPath, raw } = readManifestJson(abs);
  const manifest = validateManifest(raw, manifestPath);
  const onnxPath = fileInsideModel(abs, manifest.files.onnx, 'ONNX model', manifestPath);
  const tokenizerPath = fileInsideModel(abs, manifest.files.tokenizer, 'tokenizer', manifestPath);
  // Every other file model.json names (external weights: the runtime opens them itself).
  for (const [key, value] of Object.entries(manifest.files as Record<string, unknown>)) {
    for (const name of Array.isArray(value) ? value : [value]) fileInsideModel(abs, name, `files.${key} entry`, manifestPath);
  }
  const tokenizerBytes = fs.statSync(tokenizerPath).size;
  if (tokenizerBytes > MAX_TOKENIZER_BYTES) {
    throw new ModelLoadError(`${tokenizerPath} is ${tokenizerBytes} bytes; a tokenizer is at most ${MAX_TOKENIZER_BYTES}`, tokenizerPath);
  }
  checkGraphBytes(abs, manifest, manifestPath);
  return { dir: abs, manifestPath, onnxPath, tokenizerPath, manifest };
}

/**
 * model.json's onnx_bytes (the export writes it: the graph plus its weight files) against the files
 * on disk: a weights file cut short, padded or swapped for another model's is refused here with
 * the sizes, instead of loading into a graph that reads garbage (a truncated file) or nothing
 * useful. Optional: a hand-made model without it is checked by the load-time probe only.
 */
function checkGraphBytes(abs: string, manifest: ModelManifest, manifestPath: string): void {
  const declared = (manifest as unknown as Record<string, unknown>).onnx_bytes;
  if (declared === undefined) return;
  if (typeof declared !== 'number' || !Number.isInteger(declared) || declared <= 0) {
    throw new ModelLoadError(`${manifestPath}: onnx_bytes is ${JSON.stringify(declared)}, not a byte count`, manifestPath);
  }
  const names = [manifest.files.onnx, ...manifest.files.weights];
  const actual = names.reduce((sum, name) => sum + fs.statSync(path.join(abs, name)).size, 0);
  if (actual !== declared) {
    throw new ModelLoadError(`${manifestPath} declares onnx_bytes ${declared}, but ${names.join(', ')} hold ${actual} bytes: `
      + 'the graph or its weights files are not the ones exported with this manifest', manifestPath);
  }
}

/** Checks the shape of a parsed model.json; the error lists every problem found, not just the first. */
function validateManifest(raw: unknown, manifestPath: string): ModelManifest {
  const fail = (problems: string[]): never => {
    throw new ModelLoadError(`${manifestPath} is not a usable model manifest: ${problems.join('; ')}`, manifestPath);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(['it is not a JSON object']);
  const m = raw as Record<string, unknown>;
  if (typeof m.format === 'string' && RETIRED_FORMATS.includes(m.format)) {
    fail([`format "${m.format}" is no longer supported: this version runs "${MANIFEST_FORMAT}" models `
      + '(suffix-first context with a cached K/V, see models/CONTRACT.md); use a model exported for it']);
  }
  if (m.format !== MANIFEST_FORMAT) {
    fail([`format is ${JSON.stringify(m.format)}, expected "${MANIFEST_FORMAT}"`]);
  }
  const problems: string[] = [];
  const isPositiveInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;
  if (typeof m.name !== 'string' || m.name === '') problems.push('name is missing');
  const files = m.files as Record<string, unknown> | undefined;
  for (const key of ['onnx', 'tokenizer']) {
    if (typeof files?.[key] !== 'string' || files[key] === '') problems.push(`files.${key} is missing`);
  }
  // External weights are optional (a small graph keeps its weights inside); when listed, a list of names.
  if (files && files.weights === undefined) files.weights = [];
  else if (!Array.isArray(files?.weights) || files.weights.some((w) => typeof w !== 'string' || w === '')) {
    problems.push('files.weights is not a list of file names');
  }
  for (const key of positiveInts) {
    if (!isPositiveInt(m[key])) problems.push(`${key} is ${m[key] === undefined ? 'missing' : `not a positive integer (${JSON.stringify(m[key])})`}`);
  }
  const special = m.special_tokens as Record<string, unknown> | undefined;
  if (typeof special !== 'object' || special === null) {
    problems.push('special_tokens is missing');
  } else {
    for (const key of SPECIAL_TOKEN_NAMES) {
      const v = special[key];
      if (v === undefined) problems.push(`special_tokens.${key} is missing`);
      else if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) problems.push(`special_tokens.${key} is not a token id`);
      else if (isPositiveInt(m.vocab_size) && v >= (m.vocab_size as number)) problems.push(`special_tokens.${key} (${v}) is outside the vocabulary`);
    }
  }
  if (isPositiveInt(m.n_head) && isPositiveInt(m.n_kv_head) && (m.n_head as number) % (m.n_kv_head as number) !== 0) {
    problems.push(`n_head (${m.n_head}) is not a multiple of n_kv_head (${m.n_kv_head})`);
  }
  if (problems.length) fail(problems);
  // Optional fields get safe defaults: the window falls back to max_positions.
  if (!isPositiveInt(m.train_seq_len)) m.train_seq_len = m.max_positions;
  if (typeof m.parameters !== 'number') m.parameters = 0;
  return m as ModelManifest;
}

/** The longest sequence (context + canvas) the model should see. */
export function windowTokens(manifest: ModelManifest): number {
  return cappedWindow(manifest.max_positions, manifest.train_seq_len);
}

/** Minimal view of a session's metadata, so this check does not depend on the runtime's types. */
export interface GraphSignature {
  inputNames: readonly string[];
  outputNames: readonly string[];
  /** Per name, the tensor's declared shape where the runtime reports one. */
  shapes?: ReadonlyMap<string, ReadonlyArray<number | string>>;
}

/**
 * Compares the graph with the contract and the manifest: the input and output names, and where the
 * runtime reports static dimensions, the layer/head/head_dim of the cache and the vocabulary size.
 */
export function checkGraph(files: ModelFiles, graph: GraphSignature): void {
  const problems: string[] = [];
  const m = files.manifest;
  const inputs = [...GRAPH_INPUTS, ...cacheInputNames(graph.inputNames, m.n_layer)];
  const missingIn = inputs.filter((n) => !graph.inputNames.includes(n));
  const extraIn = graph.inputNames.filter((n) => !inputs.includes(n));
  const missingOut = GRAPH_OUTPUTS.filter((n) => !graph.outputNames.includes(n));
  if (missingIn.length) problems.push(`inputs ${missingIn.join(', ')} are missing (the graph has ${graph.inputNames.join(', ') || 'none'})`);
  if (extraIn.length) problems.push(`inputs ${extraIn.join(', ')} are not part of the contract`);
  if (missingOut.length) problems.push(`outputs ${missingOut.join(', ')} are missing (the graph has ${graph.outputNames.join(', ') || 'none'})`);
  const expectDim = (name: string, axis: number, want: number, field: string) => {
    const got = graph.shapes?.get(name)?.[axis];
    if (typeof got === 'number' && got > 0 && got !== want) {
      problems.push(`${name} has ${got} in dimension ${axis} but model.json says ${field} = ${want}`);
    }
  };
  for (const name of ['past_key', 'past_value', 'present_key', 'present_value']) {
    expectDim(name, 0, m.n_layer, 'n_layer');
    expectDim(name, 2, m.n_kv_head, 'n_kv_head');
    expectDim(name, 4, m.head_dim, 'head_dim');
  }
  for (const name of ['past_key.0', 'past_value.0']) {
    expectDim(name, 1, m.n_kv_head, 'n_kv_head');
    expectDim(name, 3, m.head_dim, 'head_dim');
  }
  expectDim('logits', 2, m.vocab_size, 'vocab_size');
  if (problems.length) {
    throw new ModelLoadError(`${files.onnxPath} does not match ${files.manifestPath} and models/CONTRACT.md: ${problems.join('; ')}`, files.onnxPath);
  }
}
