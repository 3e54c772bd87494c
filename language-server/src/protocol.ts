// Everything the VS Code client and the language server agree on, declared once: the settings
// table (the extension's contributed settings, the server's merge and the CLI's flags all come
// from it; test/build.test.ts checks package.json against it) and the custom messages. Other
// editors can use the server without the messages: inline completion is plain LSP 3.18.

import { NotificationType, RequestType, TextDocumentIdentifier, Position, Range, TextEdit } from 'vscode-languageserver-protocol';
import { ENGINE_SETTINGS } from '../../model-host/src/settings/engine-settings';
import type { SettingSpec, SettingValue } from '../../model-host/src/settings/setting-spec';

/** The configuration section: settings are `diffusionInfill.<key>`. */
export const SETTINGS_SECTION = 'diffusionInfill';

/**
 * Every setting, by the field name the server uses, in the order VS Code lists them. The engine's
 * knobs are declared in model-host/src/settings/engine-settings.ts (the CLI needs them too) and only
 * placed here. Ranges are the ones the settings UI enforces; the server clamps to the same.
 */
export const SETTINGS = {
  enable: {
    key: 'enable',
    type: 'boolean',
    default: true,
    markdownDescription: 'Show inline completions (ghost text) from the local model. Turn off to stop all requests; '
      + '**Diffusion Infill: Toggle Completions** flips this in your user settings.',
  },
  disabledLanguages: {
    key: 'disabledLanguages',
    type: 'array',
    items: { type: 'string' },
    default: [],
    uniqueItems: true,
    markdownDescription: 'Language ids (for example `markdown`, `plaintext`) for which no completions are offered.',
  },
  modelPath: {
    key: 'modelPath',
    type: 'string',
    // Empty: the bundled models/default (the client sends its folder, the server falls back to it).
    default: '',
    scope: 'machine-overridable',
    markdownDescription: 'Folder holding `model.json`, `model.onnx` and `tokenizer.json` (the format is described in '
      + '`models/CONTRACT.md`). Empty uses the bundled default model. A relative path in workspace settings is taken from the '
      + 'workspace folder; `~` is your home folder. **In an untrusted workspace only your user setting is used.** Changing it '
      + 'reloads the model.',
  },
  device: ENGINE_SETTINGS.device,
  steps: ENGINE_SETTINGS.steps,
  blockLength: ENGINE_SETTINGS.blockLength,
  maxTokensSingleLine: {
    key: 'maxTokens.singleLine',
    type: 'integer',
    default: 24,
    minimum: 1,
    maximum: 128,
    markdownDescription: 'Largest canvas, in tokens, for a completion in the middle of a line. The model ends a completion early '
      + 'by predicting padding, so this is a ceiling, not a length.',
  },
  maxTokensMultiLine: {
    key: 'maxTokens.multiLine',
    type: 'integer',
    default: 64,
    minimum: 1,
    maximum: 256,
    markdownDescription: 'Largest canvas, in tokens, for a multi-line completion (after a block opener, or on an empty line below one). '
      + 'The model writes it block by block and stops at the end it predicts, so this is a ceiling.',
  },
  temperature: ENGINE_SETTINGS.temperature,
  cache: ENGINE_SETTINGS.cache,
  candidates: {
    key: 'candidates',
    type: 'integer',
    default: 1,
    minimum: 1,
    maximum: 5,
    markdownDescription: "Completions to generate, each opening with a different first token (the most likely, the second most "
      + "likely, ...), ranked by the model's confidence; cycle through them with `Alt+]`. They run as one batch: each extra "
      + 'candidate makes every pass larger, so latency grows with this.',
  },
  debounceMs: {
    key: 'debounceMs',
    type: 'integer',
    default: 75,
    minimum: 0,
    maximum: 2000,
    markdownDescription: 'Wait this many milliseconds after typing stops before asking the model; a keystroke in between cancels '
      + 'the request.',
  },
  ghostTextBudgetMs: {
    key: 'ghostTextBudgetMs',
    type: 'integer',
    default: 100,
    minimum: 0,
    maximum: 10000,
    markdownDescription: 'Show ghost text within about this many milliseconds of asking the model, however long the line: what '
      + 'the model has decided from the cursor on by then is shown at once, and the rest follows when it is written (the '
      + 'suggestion grows in place). `0` waits for the whole completion. '
      + 'Explicit triggers and Fill Selection always wait.',
  },
  crossFile: {
    key: 'crossFile.enable',
    type: 'boolean',
    // On, with no code budget: the names alone lift the repository-level holes and leave other lines as they were;
    // code from other files does not help the shipped model yet and costs a prefill at each cursor rest (docs/quality.md).
    default: true,
    markdownDescription: 'Use other files of the workspace: the names they define (the modules this file imports) and, with '
      + 'a token budget (`crossFile.maxTokens`), their code: chunks of open and recently edited files that share names with the '
      + 'code around the cursor, the outlines of the ones this file imports, and the definitions of names near the cursor. '
      + 'Only workspace files, not matched by `files.exclude` or `.gitignore`, up to 512 KB; nothing leaves your machine.',
  },
  crossFileTokens: {
    key: 'crossFile.maxTokens',
    type: 'integer',
    // No code by default: the shipped model completes the repository-level holes no better with 256 tokens of it,
    // and ordinary lines worse (docs/quality.md).
    default: 0,
    minimum: 0,
    maximum: 2048,
    markdownDescription: 'Most tokens of code from other files placed before the context. More finds more names but makes the '
      + 'first completion in a region slower and each cached document larger. `0` sends no code, only the names other files '
      + 'define (see `crossFile.nameBias`), which cost nothing. The shipped model does not complete better with code yet.',
  },
  crossFileChunks: {
    key: 'crossFile.maxChunks',
    type: 'integer',
    default: 4,
    minimum: 1,
    maximum: 16,
    markdownDescription: 'Most chunks (about 16 lines each, or one definition) of code from other files.',
  },
  crossFileNameBias: {
    key: 'crossFile.nameBias',
    type: 'number',
    // Chosen on the development set (bench/repo-holes.sh dev), not the measured one: 4 wrote the other file's name as
    // often as 8 (24% and 26% of holes, none: 13%) and left ordinary lines alone, where 8 lost 1.8 points (docs/quality.md).
    default: 4,
    minimum: 0,
    maximum: 16,
    markdownDescription: 'How strongly a completion prefers the names other files define (the functions, classes and constants '
      + 'of the modules this file imports, and of the chunks shown to the model) while it writes a name: added to their '
      + "tokens' log-probabilities. `0` leaves the model's choice alone.",
  },
  // Token budgets of the context windows (declared with the engine's knobs, not contributed).
  maxPrefixTokens: ENGINE_SETTINGS.maxPrefixTokens,
  maxSuffixTokens: ENGINE_SETTINGS.maxSuffixTokens,
} as const satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;

/** Settings the server needs; sent as initializationOptions and in workspace/didChangeConfiguration
 *  as `{ settings: { diffusionInfill: ServerSettings } }`. Missing fields keep their current value. */
export type ServerSettings = { -readonly [K in SettingName]: SettingValue<(typeof SETTINGS)[K]> };

/** Settings the extension contributes to VS Code (the ones with a key), and so sends. */
export type ClientSettingName = { [K in SettingName]: (typeof SETTINGS)[K] extends { key: string } ? K : never }[SettingName];
export const CLIENT_SETTINGS = (Object.keys(SETTINGS) as SettingName[])
  .filter((name): name is ClientSettingName => 'key' in SETTINGS[name]);

export interface FillSelectionParams {
  /** With a version, the request is refused (ContentModified) unless the server's copy of the
   *  document has that version: the selection was made in that text. */
  textDocument: TextDocumentIdentifier & { version?: number };
  range: Range;
}

export interface FillSelectionResult {
  /** Replaces the selected range; null when the model produced nothing usable. */
  edit: TextEdit | null;
  confidence: number;
  latencyMs: number;
  /** The document version the edit was computed for: apply it only to that version. */
  version: number;
}

export const fillSelection = new RequestType<FillSelectionParams, FillSelectionResult, void>('diffusionInfill/fillSelection');

export type ServerState = 'loading' | 'ready' | 'error' | 'disabled';

/** Server to client: model state and the last request's speed, for the status bar. */
export interface ServerStatusParams {
  state: ServerState;
  model?: string;
  device?: string;
  /** Why that device: the setting, or `auto`'s probe times, or a GPU that failed mid-session. */
  deviceReason?: string;
  lastLatencyMs?: number;
  tokensPerSecond?: number;
  /** Code from other files in the last completion's context: tokens and chunks (crossFile settings),
   *  and the names other files define that its sampler favoured (crossFile.nameBias). */
  crossFileTokens?: number;
  crossFileChunks?: number;
  crossFileNames?: number;
  /** Set when state is 'error': one sentence a user can act on. */
  message?: string;
}

export const serverStatus = new NotificationType<ServerStatusParams>('diffusionInfill/serverStatus');

/** Client to server: where the cursor is in a document (sent on cursor moves and when an editor
 *  becomes active), so that the server can warm the model's context there (prefill.ts). */
export interface CursorMovedParams {
  textDocument: TextDocumentIdentifier;
  position: Position;
}

export const cursorMoved = new NotificationType<CursorMovedParams>('diffusionInfill/cursorMoved');

/** Server to client: a ghost text shown cut short by `ghostTextBudgetMs` has been written in full
 *  for this document version; asking again at the same cursor returns it (the client re-triggers
 *  inline suggestions, and the suggestion grows in place). */
export interface CompletionGrewParams {
  textDocument: TextDocumentIdentifier;
  version: number;
}

export const completionGrew = new NotificationType<CompletionGrewParams>('diffusionInfill/completionGrew');

/** Client to server: the definitions of names near the cursor in a document, found by the editor's
 *  definition providers (extension/src/definitions.ts), as context from other files
 *  (language-server/src/context-sources/). The server keeps only workspace files it may read. */
export interface ContextDefinitionsParams {
  textDocument: TextDocumentIdentifier;
  definitions: Array<{ uri: string; line: number; text: string }>;
}

export const contextDefinitions = new NotificationType<ContextDefinitionsParams>('diffusionInfill/contextDefinitions');
