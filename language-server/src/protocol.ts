// Every custom message between the VS Code client and the language server, declared once.
// Other editors can use the server without them: inline completion is plain LSP 3.18.

import { NotificationType, RequestType, TextDocumentIdentifier, Range, TextEdit } from 'vscode-languageserver-protocol';
import type { ExecutionProviderSetting } from '../../model-host/src/types';

/** Settings the server needs; sent as initializationOptions and in workspace/didChangeConfiguration
 *  as `{ settings: { diffusionInfill: ServerSettings } }`. Missing fields take the defaults below. */
export interface ServerSettings {
  enable: boolean;
  /** Language ids with completions switched off. */
  disabledLanguages: string[];
  modelPath: string;
  device: ExecutionProviderSetting;
  steps: number;
  blockLength: number;
  maxTokensSingleLine: number;
  maxTokensMultiLine: number;
  temperature: number;
  /** 0 turns confidence-threshold parallel decoding off. */
  confidenceThreshold: number;
  cache: boolean;
  candidates: number;
  debounceMs: number;
  /** Token budgets for the context windows. */
  maxPrefixTokens: number;
  maxSuffixTokens: number;
}

export const defaultServerSettings: Omit<ServerSettings, 'modelPath'> = {
  enable: true,
  disabledLanguages: [],
  device: 'auto',
  steps: 24,
  blockLength: 8,
  maxTokensSingleLine: 24,
  maxTokensMultiLine: 64,
  temperature: 0,
  confidenceThreshold: 0.9,
  cache: true,
  candidates: 2,
  debounceMs: 75,
  maxPrefixTokens: 320,
  maxSuffixTokens: 128,
};

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
  lastLatencyMs?: number;
  tokensPerSecond?: number;
  /** Set when state is 'error': one sentence a user can act on. */
  message?: string;
}

export const serverStatus = new NotificationType<ServerStatusParams>('diffusionInfill/serverStatus');
