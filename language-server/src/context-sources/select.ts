// Choosing the chunks for one cursor and writing them as the text the model reads first.
//
// The exact text format (training/data.py produces the same, so the model learns to use it):
// each chosen chunk is a comment line naming its file, then the chunk's lines,
//
//     // Path: lib/reply.js          (`#` for Python-like languages, `--` for SQL/Lua/Haskell)
//     <the chunk's lines, LF, ending with a line break>
//
// chunks one after the other, least similar first, so the best one is nearest the code; then
// the model's usual `<|suffix|> suffix <|prefix|> prefix`. The engine cuts the text to the token
// budget keeping its end (model-host/src/decoding/prompt.ts).

import { CHUNK_LINES, identifiers, similarity, type Chunk } from './chunks';

/** Characters per token assumed when filling the budget: low for code, so that the chosen chunks
 *  usually fit whole and the engine's exact cut (which keeps the end) rarely bites into the first. */
export const EXTRA_CHARS_PER_TOKEN = 3;
/** Below this similarity a chunk shares too little with the cursor's code to be worth its tokens. */
export const MIN_SIMILARITY = 0.04;
/** Of the text around the cursor, what the chunks are compared with. */
const QUERY_PREFIX_CHARS = 1500;
const QUERY_SUFFIX_CHARS = 400;

export interface ScoredChunk extends Chunk {
  score: number;
}

export interface Candidate {
  chunk: Chunk;
  /** The chunk's identifiers (computed once per chunk by the caller's cache). */
  ids: ReadonlySet<string>;
  /** Added to the similarity: what the sources know beyond shared names (an import, say). */
  boost?: number;
}

/** The identifiers the chunks are compared with: the code before and after the cursor. */
export function queryIdentifiers(prefix: string, suffix: string): Set<string> {
  return identifiers(prefix.slice(-QUERY_PREFIX_CHARS) + '\n' + suffix.slice(0, QUERY_SUFFIX_CHARS));
}

/**
 * The best chunks for the query, at most `maxChunks` and `maxChars` of text in all: definitions of
 * names near the cursor first, then by similarity plus the candidate's boost. A chunk is skipped
 * when its text was already chosen (the same code open twice) or when it overlaps a chosen chunk
 * of the same file (an outline overlaps nothing: its lines are spread over the file).
 * Returned in reading order: worst first, best last.
 */
export function selectChunks(candidates: readonly Candidate[], query: ReadonlySet<string>, maxChunks: number, maxChars: number): ScoredChunk[] {
  const scored = candidates
    .map(({ chunk, ids, boost }) => ({ ...chunk, score: similarity(query, ids) + (boost ?? 0) + (chunk.kind === 'definition' ? 1 : 0) }))
    .filter((c) => c.score >= MIN_SIMILARITY)
    // Ties (equal scores) break by path and line, so the same inputs always give the same text.
    .sort((a, b) => b.score - a.score || (a.path < b.path ? -1 : a.path > b.path ? 1 : a.line - b.line));
  const chosen: ScoredChunk[] = [];
  const texts = new Set<string>();
  let chars = 0;
  for (const c of scored) {
    if (chosen.length >= maxChunks) break;
    if (texts.has(c.text)) continue;
    const overlaps = (o: ScoredChunk) => o.path === c.path && o.kind !== 'outline' && c.kind !== 'outline' && Math.abs(o.line - c.line) < CHUNK_LINES;
    if (chosen.some(overlaps)) continue;
    const size = header('//', c.path).length + c.text.length;
    if (chars + size > maxChars) continue;
    chosen.push(c);
    texts.add(c.text);
    chars += size;
  }
  return chosen.reverse();
}

/** The line comment of a language (for the chunk headers); `//` unless known otherwise. */
export function lineComment(languageId: string): string {
  if (/^(python|shellscript|ruby|perl|r|yaml|toml|makefile|dockerfile|powershell|coffeescript|julia|elixir|nim)$/.test(languageId)) return '#';
  if (/^(sql|lua|haskell)$/.test(languageId)) return '--';
  return '//';
}

function header(comment: string, path: string): string {
  return `${comment} Path: ${path}\n`;
}

/** The text placed before `<|suffix|>`: each chunk under its path header, in the given order. */
export function formatExtraContext(chunks: readonly Chunk[], languageId: string): string {
  const comment = lineComment(languageId);
  return chunks.map((c) => header(comment, c.path) + c.text).join('');
}
