// Wires the context sources into the server: the documents it syncs feed the ring buffer, the
// client's definitions arrive as diffusionInfill/contextDefinitions, `files.exclude` is pulled
// from the client where it can be, and every model request asks for its extra context here
// (ModelService.useExtraContext). main.ts calls attach once and forwards initialize and
// configuration changes.

import type { Connection, InitializeParams, TextDocuments } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { ModelService } from '../model-service';
import { contextDefinitions } from '../protocol';
import { WorkspaceFilter } from './exclusions';
import { ContextSources } from './sources';

export interface CrossFileDeps {
  connection: Connection;
  documents: TextDocuments<TextDocument>;
  model: ModelService;
  log: (message: string) => void;
}

export class CrossFileContext {
  readonly filter = new WorkspaceFilter();
  readonly sources = new ContextSources(this.filter);
  private canPull = false;

  constructor(private readonly deps: CrossFileDeps) {
    const { documents, connection, model } = deps;
    documents.onDidOpen((e) => this.sources.update(e.document.uri, e.document.getText(), e.document.version));
    documents.onDidChangeContent((e) => this.sources.update(e.document.uri, e.document.getText(), e.document.version));
    documents.onDidClose((e) => this.sources.close(e.document.uri));
    connection.onNotification(contextDefinitions, (params) => {
      const uri = params?.textDocument?.uri;
      if (typeof uri !== 'string' || !Array.isArray(params.definitions)) return;
      const valid = params.definitions.filter((d) => typeof d?.uri === 'string' && typeof d.text === 'string' && Number.isInteger(d.line));
      this.sources.setDefinitions(uri, valid);
    });
    model.useExtraContext((context, settings) => {
      const document = documents.get(context.document);
      if (!document) return undefined;
      const line = document.positionAt(context.offset ?? context.start ?? 0).line;
      return this.sources.extraFor(document.uri, line, document.languageId, context.prefix, context.suffix, settings);
    });
  }

  /** The workspace folders: only their files give context. */
  initialize(params: InitializeParams): void {
    const folders = params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : params.rootPath ? [params.rootPath] : []);
    this.filter.setRoots(folders);
    this.canPull = params.capabilities.workspace?.configuration === true;
  }

  /** After `initialized` and on every configuration change: `files.exclude` as the client has it now. */
  async refreshExclude(): Promise<void> {
    if (!this.canPull) return;
    try {
      const globs = await this.deps.connection.workspace.getConfiguration('files.exclude');
      this.filter.setFilesExclude(typeof globs === 'object' && globs !== null ? globs : undefined);
    } catch (error) {
      this.deps.log(`Could not read files.exclude: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
