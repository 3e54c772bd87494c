// The language server's entry point. Started by the VS Code extension over node IPC, or by
// any LSP client with `--stdio`; the transport is picked by vscode-languageserver from the
// command line (--node-ipc, --stdio, --socket=N, --pipe=NAME).
//
// It offers plain LSP 3.18 inline completion (so any editor with inline-completion support
// can use it) and, for the VS Code client, the diffusionInfill/fillSelection request and the
// diffusionInfill/serverStatus notification declared in protocol.ts.

import {
  createConnection,
  DidChangeConfigurationNotification,
  ErrorCodes,
  ProposedFeatures,
  ResponseError,
  TextDocuments,
  TextDocumentSyncKind,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { errorText } from '../../model-host/src/errors';
import { WorkerEngine } from '../../model-host/src/worker/worker-engine';
import { CrossFileContext } from './context-sources/attach';
import { fillSelectionHandler } from './fill-selection';
import { provideInlineCompletions } from './inline-completion';
import { ModelService, TRACE } from './model-service';
import { completionGrew, cursorMoved, fillSelection, serverStatus, SETTINGS_SECTION, type ServerSettings } from './protocol';
import { Prefiller, TYPING_REST_MS } from './prefill';
import { safeOffset } from './positions';
import { ResultCache } from './result-cache';
import { RequestScheduler } from './scheduler';
import { DocumentRuns } from './document-runs';
import { guardedStdio } from './stdio-guard';
import { defaultSettings, findPackageRoot, mergeSettings } from './settings';

/** A clear line on stderr, then exit: the client (vscode-languageclient does) starts a new server. */
function fatal(reason: string): never {
  process.stderr.write(`diffusion-infill language server: ${reason}; exiting so that the client restarts the server\n`);
  process.exit(1);
}

let shutdownReceived = false;
const stdio = process.argv.includes('--stdio');
// Over stdio every frame is checked before the JSON-RPC reader sees it (stdio-guard.ts); node IPC
// carries whole messages and needs no framing. The library wires stdin's end to an exit and the
// console to the log only when it opens stdio itself, so both are done here.
const connection = stdio
  ? (() => {
    const { reader, writer } = guardedStdio(fatal);
    for (const event of ['end', 'close']) process.stdin.on(event, () => process.exit(shutdownReceived ? 0 : 1));
    const toStderr = (...args: unknown[]) => process.stderr.write(`${args.map(String).join(' ')}\n`);
    console.log = console.info = console.warn = console.error = console.debug = toStderr;
    return createConnection(ProposedFeatures.all, reader, writer);
  })()
  : createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
const packageRoot = findPackageRoot(__dirname);
const scheduler = new RequestScheduler();
const runs = new DocumentRuns();
const cache = new ResultCache();
const log = (message: string): void => connection.console.info(message);

let settings: ServerSettings = defaultSettings(packageRoot);
/** `initialize` arrived: before it, requests are answered with ServerNotInitialized (LSP). */
let initializeReceived = false;
let initialized = false;
let canPullConfiguration = false;
let canRegisterConfiguration = false;

const model = new ModelService(
  // The engine runs in a child process (model-host/src/worker/worker-engine.ts), so that model passes
  // never block this JSON-RPC loop and a native crash never takes the server down.
  (options) => new WorkerEngine(options),
  packageRoot,
  // Notifications may only go out once the client has sent `initialized`.
  (status) => {
    if (initialized) void connection.sendNotification(serverStatus, status);
  },
  log,
);

// Code from other files of the workspace before the model's context (context-sources/).
const crossFile = new CrossFileContext({ connection, documents, model, log });

// Warms the model's context where the cursor is (on open and on cursor moves), see prefill.ts.
const prefiller = new Prefiller({ documents, model, settings: () => settings, log });

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
  model.configure(settings);
}

connection.onInitialize((params): InitializeResult => {
  // LSP: "The initialize request may only be sent once." A second one would reset the settings
  // under requests already running; it is refused and changes nothing.
  if (initializeReceived) throw new ResponseError(ErrorCodes.InvalidRequest, 'initialize may only be sent once');
  initializeReceived = true;
  settings = mergeSettings(defaultSettings(packageRoot), settingsFrom(params.initializationOptions));
  canPullConfiguration = params.capabilities.workspace?.configuration === true;
  canRegisterConfiguration = params.capabilities.workspace?.didChangeConfiguration?.dynamicRegistration === true;
  crossFile.initialize(params);
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
  model.configure(settings);
  void crossFile.refreshExclude();
  // Ask to be told about configuration changes where the client supports registering.
  if (canRegisterConfiguration) void connection.client.register(DidChangeConfigurationNotification.type, { section: SETTINGS_SECTION }).catch(() => undefined);
});

connection.onDidChangeConfiguration(async (params) => {
  void crossFile.refreshExclude();
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

function requireInitialize(method: string): void {
  if (!initializeReceived) throw new ResponseError(ErrorCodes.ServerNotInitialized, `${method} before initialize: send initialize first`);
}

function requireTextDocument(params: unknown, method: string): void {
  const uri = (params as { textDocument?: { uri?: unknown } } | null | undefined)?.textDocument?.uri;
  if (typeof uri !== 'string') throw new ResponseError(ErrorCodes.InvalidParams, `${method}: params.textDocument.uri must be a string`);
}

connection.languages.inlineCompletion.on((params, token) => {
  requireInitialize('textDocument/inlineCompletion');
  // Malformed params are the client's error (InvalidParams), not the server's (InternalError).
  requireTextDocument(params, 'textDocument/inlineCompletion');
  // The completion computes the context itself; a warm-up queued before it would only delay it.
  prefiller.cancel(params.textDocument.uri);
  return provideInlineCompletions(params, token, {
    documents, model, scheduler, runs, cache, settings: () => settings, trace: TRACE ? log : undefined,
    grew: (uri, version) => initialized && void connection.sendNotification(completionGrew, { textDocument: { uri }, version }),
    warmExtra: (uri, offset) => prefiller.schedule(uri, offset, TYPING_REST_MS),
  });
});

connection.onRequest(fillSelection, (params, token) => {
  requireInitialize(fillSelection.method);
  requireTextDocument(params, fillSelection.method);
  return fillSelectionHandler(params, token, { documents, model, scheduler, settings: () => settings });
});

// Every other request: ServerNotInitialized before initialize, MethodNotFound after.
connection.onRequest((method) => {
  requireInitialize(method);
  throw new ResponseError(ErrorCodes.MethodNotFound, `Unhandled method ${method}`);
});

connection.onNotification(cursorMoved, (params) => {
  if (!initialized) return;
  const document = documents.get(params?.textDocument?.uri);
  if (!document) return;
  // A malformed position in a notification has no one to answer to: it is ignored.
  let offset: number;
  try {
    offset = safeOffset(document, params.position);
  } catch {
    return;
  }
  prefiller.schedule(document.uri, offset);
});

// A client that never reports the cursor still gets a warm start where a file opens: at its top.
documents.onDidOpen((event) => {
  if (initialized) prefiller.schedule(event.document.uri, 0);
});

// An edit ends the document's requests for its older text: a request for it would be answered
// empty, and a background run growing a cut-short completion would announce completionGrew for a
// version that is gone (a newer request cancels them too, but an edit may bring none). The model
// run a request started goes on: its answer, in the result cache, may serve the text typed next
// (document-runs.ts).
documents.onDidChangeContent((event) => {
  scheduler.cancelDocument(event.document.uri, 'inline', 'the document changed');
  runs.edited(event.document.uri, event.document.getText());
});

documents.onDidClose((event) => {
  prefiller.cancel(event.document.uri);
  model.forget(event.document.uri);
  scheduler.cancelDocument(event.document.uri);
  runs.cancel(event.document.uri);
  cache.forget(event.document.uri);
});

connection.onShutdown(async () => {
  shutdownReceived = true;
  prefiller.dispose();
  scheduler.cancelAll();
  runs.cancelAll();
  await model.dispose();
});

// A bug in one request must not end the server: log it and keep serving.
process.on('uncaughtException', (error) => log(`Uncaught: ${errorText(error)}\n${error.stack ?? ''}`));
process.on('unhandledRejection', (reason) => log(`Unhandled rejection: ${errorText(reason)}`));

documents.listen(connection);
connection.listen();
