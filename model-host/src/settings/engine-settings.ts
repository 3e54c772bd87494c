// The user settings that are the engine's own knobs: where it runs and how the sampler works.
// Declared here, once, because both the language server's settings table
// (language-server/src/protocol.ts) and the command line (cli.ts, its flags) take them from here,
// and the model host must not import from the server above it.

import type { ChoiceSpec, BooleanSpec, NumberSpec } from './setting-spec';

/** Execution providers a user may ask for; session.ts maps them onto onnxruntime's. */
export const DEVICES = ['auto', 'cpu', 'webgpu', 'cuda', 'dml', 'coreml'] as const;

/** Each knob with the CLI flag that sets it (`cache` is the negated `--no-cache`). */
export const ENGINE_SETTINGS = {
  device: {
    key: 'device',
    type: 'string',
    enum: DEVICES,
    default: 'auto',
    enumDescriptions: [
      'Try the GPU providers this platform offers (Linux: CUDA, WebGPU; Windows: DirectML, WebGPU; macOS: Core ML), then the CPU.',
      'Always the CPU.',
      "WebGPU through onnxruntime-node's bundled provider (on Linux it needs Vulkan drivers).",
      "NVIDIA CUDA; needs onnxruntime-node's CUDA provider files, which an offline install does not download.",
      'DirectML (Windows).',
      'Core ML (macOS).',
    ],
    markdownDescription: 'Where the model runs. A device that cannot be used falls back to the CPU; the status bar shows the device '
      + 'in use and the log says why others were skipped. Changing it reloads the model (no window reload needed).',
    flag: 'device',
  },
  steps: {
    key: 'steps',
    type: 'integer',
    default: 8,
    minimum: 1,
    maximum: 256,
    markdownDescription: 'Denoising steps per block. **Each step is one forward pass of the model, so latency grows with steps.** '
      + 'As many steps as the block length commits one token per pass: the best quality. Fewer steps commit several tokens per '
      + 'pass: lower latency, more mistakes. More than the block length changes nothing. Takes effect on the next completion.',
    flag: 'steps',
  },
  blockLength: {
    key: 'blockLength',
    type: 'integer',
    default: 8,
    minimum: 1,
    maximum: 64,
    markdownDescription: 'Tokens per block. A completion is written block by block, left to right (semi-autoregressive); inside a '
      + 'block the most confident tokens are committed first, and a decided block joins the context. **Each pass runs one '
      + 'block**, so smaller blocks make passes cheaper and behave more like left-to-right decoding.',
    flag: 'block',
  },
  temperature: {
    key: 'temperature',
    type: 'number',
    default: 0,
    minimum: 0,
    maximum: 2,
    markdownDescription: '`0` picks the most likely token at every position (the same context gives the same completion). Higher '
      + 'values sample, so suggestions vary.',
    flag: 'temperature',
  },
  cache: {
    key: 'cache',
    type: 'boolean',
    default: true,
    markdownDescription: "Context reuse: keep each open document's context keys and values between requests, so a keystroke "
      + 'computes only the text typed since the last completion (exact, not an approximation). Off computes the whole context '
      + 'for every completion.',
    flag: 'no-cache',
  },
  // Token budgets of the context windows, the one home of their values: the server sends them with
  // every request, and the engine requires them (InfillRequest). Not contributed (no key), so VS
  // Code users keep the defaults; other LSP clients may send them.
  maxPrefixTokens: {
    type: 'integer', default: 320, minimum: 0, maximum: 8192, markdownDescription: 'Prefix window, in tokens.', flag: 'prefix-tokens',
  },
  maxSuffixTokens: {
    // The default model was trained with 64 (training/configs/default.json); 128 scored the same
    // within noise on HumanEval single-line and the public holes (docs/measurements.md) and makes
    // each cached document larger and each cold context pass slower.
    type: 'integer', default: 64, minimum: 0, maximum: 8192, markdownDescription: 'Suffix window, in tokens.', flag: 'suffix-tokens',
  },
} as const satisfies Record<string, (ChoiceSpec | NumberSpec | BooleanSpec) & { flag: string }>;
