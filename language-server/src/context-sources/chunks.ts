// Cutting files into chunks and comparing them with the code around the cursor.
//
// Similarity is Jaccard over the sets of identifiers (as Continue and llama.vscode do it): cheap,
// needs no model, and what matters across files is mostly which names they share (a function the
// cursor's code calls, a class it builds). Chunks overlap by half, so a definition cut by one
// chunk's edge sits whole in the next.

/** Lines per chunk: about a definition's head and body in most code, ~100-200 tokens. */
export const CHUNK_LINES = 16;
/** A chunk starts every this many lines (half a chunk: the overlap). */
export const CHUNK_STRIDE = 8;
/** A chunk longer than this (long lines, minified code) is cut at a line end. */
export const MAX_CHUNK_CHARS = 1200;

export interface Chunk {
  /** The file the chunk comes from, relative to its workspace folder, `/`-separated. */
  path: string;
  /** Whole lines, LF line endings, ending with a line break. */
  text: string;
  /** First line of the chunk in its file (0-based). */
  line: number;
  /** 'file': a chunk of an open or recently edited file; 'definition': the client's definition of a name near the cursor;
   *  'outline': the definition lines of a file the cursor's file imports (imports.ts). */
  kind: 'file' | 'definition' | 'outline';
}

const IDENTIFIER = /[A-Za-z_$][A-Za-z0-9_$]*/g;
/** Words every program of a language has: they would make every chunk look alike. */
const COMMON = new Set([
  'const', 'let', 'var', 'function', 'return', 'if', 'else', 'for', 'while', 'new', 'this', 'true', 'false', 'null',
  'undefined', 'import', 'from', 'export', 'default', 'class', 'extends', 'async', 'await', 'def', 'self', 'None',
  'True', 'False', 'in', 'of', 'is', 'not', 'and', 'or', 'typeof', 'require', 'module', 'exports', 'string', 'number',
  'void', 'type', 'interface', 'public', 'private', 'static', 'try', 'catch', 'throw', 'break', 'continue', 'pass',
]);

/** The identifiers of `text`, without keywords and one-letter names. */
export function identifiers(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(IDENTIFIER)) {
    const w = m[0];
    if (w.length > 1 && !COMMON.has(w)) out.add(w);
  }
  return out;
}

/** Jaccard similarity of two identifier sets: shared over all. */
export function similarity(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  let shared = 0;
  for (const w of small) if (large.has(w)) shared++;
  return shared / (a.size + b.size - shared);
}

/** A file's chunks (LF text): CHUNK_LINES lines every CHUNK_STRIDE lines, blank chunks left out. */
export function chunkFile(path: string, text: string): Chunk[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const out: Chunk[] = [];
  for (let start = 0; start < lines.length; start += CHUNK_STRIDE) {
    let body = '';
    for (let i = start; i < Math.min(lines.length, start + CHUNK_LINES); i++) {
      const line = `${lines[i]}\n`;
      if (body.length + line.length > MAX_CHUNK_CHARS) {
        // A first line alone over the limit (minified code) is cut; otherwise the chunk ends before it.
        if (!body) body = `${line.slice(0, MAX_CHUNK_CHARS - 1)}\n`;
        break;
      }
      body += line;
    }
    if (body.trim()) out.push({ path, text: body, line: start, kind: 'file' });
    if (start + CHUNK_LINES >= lines.length) break;
  }
  return out;
}
