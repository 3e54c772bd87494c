// model.json: read it, check it, and check it against the ONNX graph, with errors a user can act on.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface SpecialTokens { mask: number; pad: number; bos: number; eos: number }

export interface ModelManifest {
  format: string;
  name: string;
  files: { onnx: string; tokenizer: string };
  vocab_size: number;
  special_tokens: SpecialTokens;
  n_layer: number;
  n_head: number;
  head_dim: number;
  max_positions: number;
  /** Sequence length the model was trained on; the engine keeps its windows within it. */
  train_seq_len: number;
  parameters: number;
}

/** A model that cannot be used; `message` says what is wrong and where. */
export class ModelLoadError extends Error {
  override name = 'ModelLoadError';
}

export const GRAPH_INPUTS = ['input_ids', 'position_ids', 'attention_mask', 'past_key', 'past_value'];
export const GRAPH_OUTPUTS = ['logits', 'present_key', 'present_value'];
const NUMBER_FIELDS = ['vocab_size', 'n_layer', 'n_head', 'head_dim', 'max_positions', 'train_seq_len'] as const;

export function readManifest(modelDir: string): ModelManifest {
  if (!fs.existsSync(modelDir) || !fs.statSync(modelDir).isDirectory()) {
    throw new ModelLoadError(`Model folder not found: ${modelDir}`);
  }
  const file = path.join(modelDir, 'model.json');
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch {
    throw new ModelLoadError(`No model.json in ${modelDir}`);
  }
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(raw);
  } catch (e) {
    throw new ModelLoadError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (m.format !== 'diffusion-infill-model/1') {
    throw new ModelLoadError(`${file}: format is ${JSON.stringify(m.format)}, expected "diffusion-infill-model/1"`);
  }
  for (const f of NUMBER_FIELDS) {
    if (typeof m[f] !== 'number' || !((m[f] as number) > 0)) throw new ModelLoadError(`${file}: field "${f}" must be a positive number`);
  }
  const files = m.files as ModelManifest['files'] | undefined;
  if (!files || typeof files.onnx !== 'string' || typeof files.tokenizer !== 'string') {
    throw new ModelLoadError(`${file}: field "files" must name "onnx" and "tokenizer"`);
  }
  const sp = m.special_tokens as Record<string, unknown> | undefined;
  for (const k of ['mask', 'pad', 'bos', 'eos']) {
    if (!sp || typeof sp[k] !== 'number') throw new ModelLoadError(`${file}: special_tokens.${k} is missing`);
  }
  for (const f of [files.onnx, files.tokenizer]) {
    if (!fs.existsSync(path.join(modelDir, f))) throw new ModelLoadError(`${file} names ${f}, which is missing from ${modelDir}`);
  }
  return m as unknown as ModelManifest;
}

/** Throws when the graph's inputs and outputs are not the contract's. */
export function checkGraph(manifest: ModelManifest, inputNames: readonly string[], outputNames: readonly string[]): void {
  const missingIn = GRAPH_INPUTS.filter((n) => !inputNames.includes(n));
  const missingOut = GRAPH_OUTPUTS.filter((n) => !outputNames.includes(n));
  if (missingIn.length || missingOut.length) {
    const parts = [];
    if (missingIn.length) parts.push(`inputs ${missingIn.join(', ')} missing (graph has ${inputNames.join(', ')})`);
    if (missingOut.length) parts.push(`outputs ${missingOut.join(', ')} missing (graph has ${outputNames.join(', ')})`);
    throw new ModelLoadError(`${manifest.files.onnx} does not match the model contract: ${parts.join('; ')}`);
  }
}
