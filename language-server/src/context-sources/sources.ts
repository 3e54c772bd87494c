// The context sources of issue 24: code from other files of the workspace, placed before the
// model's usual context (select.ts has the format).
//
// Three sources. (1) A ring buffer of the open and recently edited files: the most recently
// opened or edited `maxFiles` documents, their text kept after they close (a file the user just
// looked at is often the one the code uses), chunked lazily per version. (2) The outlines of the
// ring's files that the cursor's file imports (imports.ts). (3) The definitions of names near
// the cursor, sent by the client (VS Code's definition providers, extension/src/definitions.ts).
// Both go through the WorkspaceFilter: only workspace files, not excluded, not too large.
//
// Stability is what keeps typing cheap: the engine reuses a document's context keys and values
// only up to the first token that changed (model-host/src/decoding/context-cache.ts), and this text comes
// first. So the chosen text is pinned per document and chosen again only when the cursor moves
// to another region (more than REGION_LINES lines away), the user comes back from another
// document, the settings change, or the client's definitions arrive for the first time in a region.

import { chunkFile, identifiers, type Chunk } from './chunks';
import type { WorkspaceFilter } from './exclusions';
import { importBindings, moduleMatches, modulePath, outlineChunk, pythonModuleFiles } from './imports';
import { definedNames } from './names';
import { EXTRA_CHARS_PER_TOKEN, formatExtraContext, queryIdentifiers, selectChunks, type Candidate, type ScoredChunk } from './select';

/** Documents the ring buffer keeps (open or recently edited). */
export const MAX_FILES = 16;
/** Definition chunks kept per document. */
export const MAX_DEFINITIONS = 16;
/** The pinned text is chosen again once the cursor is this many lines away from where it was chosen. */
export const REGION_LINES = 12;
/** Added to the similarity of an imported file's outline: ahead of plain chunks, behind the client's definitions. */
export const IMPORTED_OUTLINE_BOOST = 0.5;
/** Added again when a name the import binds is in the code around the cursor. */
export const IMPORT_IN_USE_BOOST = 0.5;

export interface SourceSettings {
  crossFile: boolean;
  crossFileTokens: number;
  crossFileChunks: number;
}

export interface ExtraContext {
  text: string;
  /** Chunks in the text. */
  chunks: number;
  /** The budget it was chosen for, in tokens (the engine's exact cut). */
  maxTokens: number;
  /** Names the engine favours spelling (names.ts): what the cursor's file imports from the
   *  workspace, then what the chosen chunks define. */
  names: string[];
  /** Per name bound to a whole module of the ring, the names that module defines: after `reply.`
   *  one of reply.js's names comes next. Names cost no context tokens, so a module gives all of its. */
  members: Record<string, string[]>;
}

interface FileEntry {
  uri: string;
  path: string;
  text: string;
  version: number;
  /** Chunks of `version` with their identifiers, made on first use. */
  candidates?: Candidate[];
  /** Its outline (null: it defines nothing recognisable) and, for the cursor's file, its imports; made on first use. */
  outline?: Chunk | null;
  imports?: Map<string, string[]>;
  /** Of the imports, the names bound to a whole module (imports.ts). */
  moduleImports?: Set<string>;
  /** The names the file defines (names.ts), made on first use. */
  names?: string[];
}

interface Pin {
  line: number;
  settings: string;
  extra: ExtraContext;
  /** The client's definitions for the document were there when this was chosen. */
  withDefinitions: boolean;
}

/** One definition the client found: the file it is in and its lines. */
export interface DefinitionChunk {
  uri: string;
  /** First line of the text in its file (0-based). */
  line: number;
  text: string;
}

export class ContextSources {
  /** Least recently opened or edited first (a Map keeps insertion order). */
  private readonly files = new Map<string, FileEntry>();
  private readonly definitions = new Map<string, Candidate[]>();
  private readonly pins = new Map<string, Pin>();
  private lastDocument: string | undefined;

  constructor(private readonly filter: WorkspaceFilter, private readonly maxFiles = MAX_FILES) {}

  /** A document was opened or edited: it becomes the most recent file of the ring (when allowed). */
  update(uri: string, text: string, version: number): void {
    const path = this.filter.allowed(uri, text.length);
    this.files.delete(uri);
    if (path === undefined) return;
    this.files.set(uri, { uri, path, text, version });
    for (const old of this.files.keys()) {
      if (this.files.size <= this.maxFiles) break;
      this.files.delete(old);
    }
  }

  /** The client's definitions of names near the cursor in `uri`; only allowed files count. */
  setDefinitions(uri: string, found: readonly DefinitionChunk[]): void {
    const candidates: Candidate[] = [];
    for (const d of found) {
      if (d.uri === uri || candidates.length >= MAX_DEFINITIONS) continue;
      const path = this.filter.allowed(d.uri, d.text.length);
      if (path === undefined || !d.text.trim()) continue;
      const text = d.text.replace(/\r\n?/g, '\n').replace(/\n?$/, '\n');
      candidates.push({ chunk: { path, text, line: d.line, kind: 'definition' }, ids: identifiers(text) });
    }
    this.definitions.set(uri, candidates);
    // The first definitions in a region are worth one more choice (and one cold context).
    const pin = this.pins.get(uri);
    if (pin && !pin.withDefinitions && candidates.length > 0) this.pins.delete(uri);
  }

  /** A document closed: its pin and definitions go; its text stays in the ring for the others. */
  close(uri: string): void {
    this.pins.delete(uri);
    this.definitions.delete(uri);
  }

  /** Files in the ring, most recent last (tests and the log). */
  get paths(): string[] {
    return [...this.files.values()].map((f) => f.path);
  }

  /**
   * The extra context for a request in `uri` with the cursor on `line`: the pinned text while the
   * cursor stays in its region, else chosen afresh. Undefined when off or nothing relevant. With
   * no token budget only the names come (they cost the model no context).
   */
  extraFor(uri: string, line: number, languageId: string, prefix: string, suffix: string, s: SourceSettings): ExtraContext | undefined {
    if (!s.crossFile) return undefined;
    const key = `${s.crossFileTokens}/${s.crossFileChunks}/${languageId}`;
    const pin = this.pins.get(uri);
    const switched = this.lastDocument !== undefined && this.lastDocument !== uri;
    this.lastDocument = uri;
    if (pin && !switched && pin.settings === key && Math.abs(line - pin.line) <= REGION_LINES) return worthSending(pin.extra);
    const definitions = this.definitions.get(uri) ?? [];
    let chosen: ScoredChunk[] = [];
    if (s.crossFileTokens > 0 && s.crossFileChunks > 0) {
      const query = queryIdentifiers(prefix, suffix);
      const candidates = [...definitions, ...this.fileCandidates(uri), ...this.importedOutlines(uri, languageId, query)];
      chosen = selectChunks(candidates, query, s.crossFileChunks, s.crossFileTokens * EXTRA_CHARS_PER_TOKEN);
    }
    const names = new Set([...this.importedNames(uri, languageId), ...chosen.flatMap((c) => definedNames(c.text))]);
    const extra = { text: formatExtraContext(chosen, languageId), chunks: chosen.length, maxTokens: s.crossFileTokens, names: [...names],
      members: this.moduleMembers(uri, languageId) };
    this.pins.set(uri, { line, settings: key, extra, withDefinitions: definitions.length > 0 });
    return worthSending(extra);
  }

  /** Chunks of every file in the ring but `uri` itself (its own text is in the windows already). */
  private fileCandidates(uri: string): Candidate[] {
    const out: Candidate[] = [];
    for (const f of this.files.values()) {
      if (f.uri === uri) continue;
      f.candidates ??= chunkFile(f.path, f.text).map((chunk: Chunk) => ({ chunk, ids: identifiers(chunk.text) }));
      out.push(...f.candidates);
    }
    return out;
  }

  /** The names `uri`'s text binds by importing workspace modules (imports.ts). */
  private importedNames(uri: string, languageId: string): string[] {
    return [...this.importsOf(uri, languageId)?.imports.keys() ?? []].filter((n) => n !== '');
  }

  /** For each name `uri` binds to a whole module that is in the ring, the names the module defines. */
  private moduleMembers(uri: string, languageId: string): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    const self = this.importsOf(uri, languageId);
    if (!self) return out;
    for (const name of self.moduleImports) {
      for (const f of this.files.values()) {
        if (f.uri === uri || !self.imports.get(name)!.some((m) => moduleMatches(modulePath(f.path), m))) continue;
        f.names ??= definedNames(f.text);
        out[name] = f.names;
        break;
      }
    }
    return out;
  }

  /** The cursor file's imports, parsed once per version. */
  private importsOf(uri: string, languageId: string): { imports: Map<string, string[]>; moduleImports: Set<string> } | undefined {
    const self = this.files.get(uri);
    if (!self) return undefined;
    if (!self.imports || !self.moduleImports) {
      self.moduleImports = new Set();
      self.imports = importBindings(self.text, self.path, languageId, self.moduleImports);
      if (languageId === 'python') this.keepWorkspaceModules(self.imports, self.moduleImports, self.path);
    }
    return { imports: self.imports, moduleImports: self.moduleImports };
  }

  /** A Python import names any module, the standard library's and installed packages' too: only
   *  those that are a file of the workspace (open in the ring, or on disk) stay. Their names are
   *  what the model cannot know; `Counter` from collections it knows, and favouring it made the
   *  sample's `total = ` write `Counter(...)`. */
  private keepWorkspaceModules(imports: Map<string, string[]>, moduleImports: Set<string>, fromPath: string): void {
    const local = new Map<string, boolean>();
    const isLocal = (m: string): boolean => {
      let found = local.get(m);
      if (found === undefined) {
        found = [...this.files.values()].some((f) => moduleMatches(modulePath(f.path), m)) || this.filter.fileExists(pythonModuleFiles(m, fromPath));
        local.set(m, found);
      }
      return found;
    };
    for (const [name, modules] of imports) {
      const kept = modules.filter(isLocal);
      if (kept.length > 0) imports.set(name, kept);
      else {
        imports.delete(name);
        moduleImports.delete(name);
      }
    }
  }

  /** Outlines of the ring's files that `uri`'s text imports, boosted (more when a bound name is near the cursor). */
  private importedOutlines(uri: string, languageId: string, query: ReadonlySet<string>): Candidate[] {
    const self = this.importsOf(uri, languageId);
    if (!self || self.imports.size === 0) return [];
    const out: Candidate[] = [];
    for (const f of this.files.values()) {
      if (f.uri === uri) continue;
      const fileModule = modulePath(f.path);
      const names = [...self.imports].filter(([, modules]) => modules.some((m) => moduleMatches(fileModule, m))).map(([name]) => name);
      if (names.length === 0) continue;
      if (f.outline === undefined) f.outline = outlineChunk(f.path, f.text) ?? null;
      if (!f.outline) continue;
      const inUse = names.some((n) => n !== '' && query.has(n));
      out.push({ chunk: f.outline, ids: identifiers(f.outline.text), boost: IMPORTED_OUTLINE_BOOST + (inUse ? IMPORT_IN_USE_BOOST : 0) });
    }
    return out;
  }
}

/** Extra context with something in it: text, or only names (an import whose file shares no chunk). */
function worthSending(extra: ExtraContext): ExtraContext | undefined {
  return extra.text !== '' || extra.names.length > 0 || Object.keys(extra.members).length > 0 ? extra : undefined;
}
