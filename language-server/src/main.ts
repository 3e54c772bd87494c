// The language server's entry point. Started by the VS Code extension over node IPC, or by
// any LSP client with `--stdio`; the transport is picked by vscode-languageserver from the
// command line (--node-ipc, --stdio, --socket=N, --pipe=NAME).
//
// It offers plain LSP 3.18 inline completion (so any editor with inline-completion support
// can use it) and, for the VS Code client, the diffusionInfill/fillSelection request and the
// diffusionInfill/serverStatus notification declared in lsp_ext.ts.

import {
  createConnection,
  DidChangeConfigurationNotification,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { createWorkerEngine } from './engine-factory';
import { EngineHost, errorText } from './engine-host';
import { fillSelectionHandler } from './fill-selection';
import { provideInlineCompletions } from './inline-completion';
import { fillSelection, serverStatus, type ServerSettings } from './lsp_ext';
import { ResultCache } from './result-cache';
import { RequestScheduler } from './scheduler';
import { defaultSettings, findPackageRoot, mergeSettings } from './settings';

const SETTINGS_SECTION = 'diffusionInfill';

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
const packageRoot = findPackageRoot(__dirname);
const scheduler = new RequestScheduler();
const cache = new ResultCache();
const log = (message: string): void => connection.console.info(message);

let settings: ServerSettings = defaultSettings(packageRoot);
let initialized = false;
let canPullConfiguration = false;
let canRegisterConfiguration = false;

const host = new EngineHost(
  createWorkerEngine,
  packageRoot,
  // Notifications may only go out once the client has sent `initialized`.
  (status) => {
    if (initialized) void connection.sendNotification(serverStatus, status);
  },
  log,
);

/** initializationOptions may be the settings themselves or wrapped as { diffusionInfill: … }. */
function settingsFrom(options: unknown): unknown {
  if (typeof options === 'object' && options !== null && SETTINGS_SECTION in options) {
    return (options as Record<string, unknown>)[SETTINGS_SECTION];
  }
  return options;
}

function applySettings(next: ServerSettings): void {
  settings = next;
  // Steps, budgets and the like are read per request; a model path or device change
  // reloads the engine inside configure().
  host.configure(settings);
}

connection.onInitialize((params): InitializeResult => {
  settings = mergeSettings(defaultSettings(packageRoot), settingsFrom(params.initializationOptions));
  canPullConfiguration = params.capabilities.workspace?.configuration === true;
  canRegisterConfiguration = params.capabilities.workspace?.didChangeConfiguration?.dynamicRegistration === true;
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      inlineCompletionProvider: true,
    },
    serverInfo: { name: 'diffusion-infill-language-server', version: '0.1.0' },
  };
});

connection.onInitialized(() => {
  initialized = true;
  host.configure(settings);
  // Ask to be told about configuration changes where the client supports registering.
  if (canRegisterConfiguration) void connection.client.register(DidChangeConfigurationNotification.type, { section: SETTINGS_SECTION }).catch(() => undefined);
});

connection.onDidChangeConfiguration(async (params) => {
  const pushed = (params.settings as Record<string, unknown> | null | undefined)?.[SETTINGS_SECTION];
  let partial: unknown = pushed;
  if (pushed === undefined && canPullConfiguration) {
    // Pull-model clients send an empty notification and expect us to ask.
    partial = await connection.workspace.getConfiguration(SETTINGS_SECTION).catch(() => undefined);
  }
  if (partial === undefined || partial === null) return;
  // Cached completions are keyed by a hash of the generation settings anyway; clearing
  // also drops entries from a model that is about to be replaced.
  cache.clear();
  applySettings(mergeSettings(settings, partial));
});

connection.languages.inlineCompletion.on((params, token) =>
  provideInlineCompletions(params, token, { documents, host, scheduler, cache, settings: () => settings, log }),
);

connection.onRequest(fillSelection, (params, token) =>
  fillSelectionHandler(params, token, { documents, host, scheduler, settings: () => settings, log }),
);

documents.onDidClose((event) => {
  scheduler.cancelDocument(event.document.uri);
  cache.forget(event.document.uri);
});

connection.onShutdown(async () => {
  scheduler.cancelAll();
  await host.dispose();
});

// A bug in one request must not end the server: log it and keep serving.
process.on('uncaughtException', (error) => log(`Uncaught: ${errorText(error)}\n${error.stack ?? ''}`));
process.on('unhandledRejection', (reason) => log(`Unhandled rejection: ${errorText(reason)}`));

documents.listen(connection);
connection.listen();
