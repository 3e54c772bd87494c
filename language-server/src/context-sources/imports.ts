// What the cursor's file imports from its siblings, and a short outline of a sibling's names.
//
// Similarity alone (chunks.ts) finds a sibling's code only when it already shares names with the
// code around the cursor; the name the user is about to write is, by definition, not there yet.
// The file's own imports say where it comes from: after `const reply = require('./reply')`, a
// `reply.` near the cursor means the next word is likely one of reply.js's names. So the sources
// give the outlines (definition lines, one each) of the files the cursor's file imports a place
// before plain similar chunks, and a higher one when a name bound by the import is in use nearby.

import { chunkFile, MAX_CHUNK_CHARS, type Chunk } from './chunks';

/** Characters an outline may take: a good share of the default budget (256 tokens), not all of it. */
export const MAX_OUTLINE_CHARS = 600;
/** A definition line longer than this is cut (its parameters are the useful part). */
const MAX_OUTLINE_LINE = 100;

/** A specifier to a module path relative to the workspace folder, without extension; undefined for packages. */
function resolveSpecifier(fromPath: string, spec: string, python: boolean): string | undefined {
  let rel: string;
  if (python) {
    const dots = /^\.*/.exec(spec)![0].length;
    const rest = spec.slice(dots).replace(/\./g, '/');
    if (dots === 0) return rest; // absolute module: matched by suffix (moduleMatches)
    rel = `${'../'.repeat(dots - 1)}./${rest}`;
  } else {
    if (!spec.startsWith('.')) return undefined;
    rel = spec;
  }
  const parts = fromPath.split('/').slice(0, -1);
  for (const p of rel.split('/')) {
    if (p === '..') parts.pop();
    else if (p !== '.' && p !== '') parts.push(p);
  }
  return parts.join('/');
}

/** The files (relative to a workspace folder) that may hold the Python module `module` (a path from
 *  importBindings) imported in `fromPath`: at the folder's top, under src/, or beside the importer. */
export function pythonModuleFiles(module: string, fromPath: string): string[] {
  const dir = fromPath.split('/').slice(0, -1).join('/');
  const places = [module, `src/${module}`, ...(dir ? [`${dir}/${module}`] : [])];
  return places.flatMap((m) => [`${m}.py`, `${m}/__init__.py`]);
}

/** A file's path without its extension, and without a trailing `/index` or `/__init__`. */
export function modulePath(path: string): string {
  return path.replace(/\.(m?[jt]sx?|c[jt]s|py)$/, '').replace(/\/(index|__init__)$/, '');
}

/** Whether a ring file (its modulePath) is what an import resolved to (an absolute Python module matches by suffix). */
export function moduleMatches(fileModule: string, imported: string): boolean {
  return fileModule === imported.replace(/\/(index|__init__)$/, '') || (!imported.includes('..') && fileModule.endsWith(`/${imported}`));
}

/**
 * The imports of a file: each local name bound by an import of a relative module (JS/TS) or of
 * any module (Python), mapped to that module's path (see resolveSpecifier). Side-effect imports
 * map '' to the module, so that the file still counts as imported. Names bound to a whole module
 * (`const reply = require('./reply')`, `import * as x`, a default import, Python's `import x` and
 * `from . import x`) are also added to `modules` when given: their members are that module's names.
 */
export function importBindings(text: string, fromPath: string, languageId: string, modules?: Set<string>): Map<string, string[]> {
  const python = languageId === 'python';
  const out = new Map<string, string[]>();
  const bind = (names: string, spec: string, whole = false) => {
    const target = resolveSpecifier(fromPath, spec, python);
    if (target === undefined) return;
    const list = names.split(',').map((n) => n.trim().split(/\s+as\s+|\s*:\s*/).pop()!.replace(/[{}()*\s]/g, '')).filter(Boolean);
    for (const name of list.length > 0 ? list : ['']) out.set(name, [...(out.get(name) ?? []), target]);
    if (whole && list.length === 1) modules?.add(list[0]);
  };
  if (python) {
    for (const m of text.matchAll(/^[ \t]*from[ \t]+([.\w]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]+)/gm)) {
      // `from . import x`: x is a module of that package.
      if (/^\.+$/.test(m[1])) for (const n of m[2].replace(/[()]/g, '').split(',')) bind(n, `${m[1]}${n.trim().split(/\s+/)[0]}`, true);
      else bind(m[2], m[1]);
    }
    for (const m of text.matchAll(/^[ \t]*import[ \t]+([\w.]+)(?:[ \t]+as[ \t]+(\w+))?/gm)) bind(m[2] ?? m[1].split('.')[0], m[1], true);
    return out;
  }
  for (const m of text.matchAll(/(?:const|let|var)\s+(\{[^}]*\}|[\w$]+)\s*=\s*require\(\s*['"]([^'"]+)['"]\s*\)/g)) bind(m[1], m[2], !m[1].startsWith('{'));
  for (const m of text.matchAll(/import\s+(?:type\s+)?([\w$\s{},*]+?)\s+from\s+['"]([^'"]+)['"]/g)) {
    // `import x, { a } from`: x is the module's default (a namespace often enough), a a name.
    const whole = /^\s*(\*\s*as\s+)?([\w$]+)/.exec(m[1]);
    if (whole) bind(whole[2], m[2], true);
    const named = /\{[^}]*\}/.exec(m[1]);
    if (named) bind(named[0], m[2]);
  }
  for (const m of text.matchAll(/^\s*(?:import|require\()\s*['"]([^'"]+)['"]/gm)) bind('', m[1]);
  return out;
}

const EXPORTED = /^\s*(export\b|module\.exports\b|exports\.[\w$]+\s*=)/;
const DEFINITION = [
  /^\s*(export\s+)?(default\s+)?(async\s+)?function\b/,
  /^\s*(export\s+)?(default\s+)?(abstract\s+)?class\b/,
  /^\s*(export\s+)?(const|let|var)\s+[\w$]+\s*=\s*(async\s+)?(function\b|class\b|\([^)]*\)\s*=>|[\w$]+\s*=>)/,
  /^\s*(export\s+)?(interface|type|enum)\s+[\w$]+/,
  /^\s*(async\s+)?def\s+\w+/,
  /^\s*class\s+\w+/,
  /^\s+(static\s+)?(async\s+)?\*?(?!(if|for|while|switch|catch|return)\b)[\w$]+\s*\([^)]*\)\s*\{\s*$/,
  /^\s*(module\.exports|exports\.[\w$]+)\s*=/,
  /^\s*export\s*\{/,
];

/**
 * A file's outline: its definition lines in file order, exported ones chosen first when they do
 * not all fit in MAX_OUTLINE_CHARS. Undefined when the file defines nothing recognisable. A file
 * that fits in one chunk is its own outline, and the same text as its chunk, so it is given once
 * (two copies of one short file, one of them cut to its definition lines, misled the model).
 */
export function outlineChunk(path: string, text: string): Chunk | undefined {
  const lf = text.replace(/\r\n?/g, '\n');
  const lines = lf.split('\n');
  const found: { i: number; line: string; exported: boolean }[] = [];
  for (const [i, raw] of lines.entries()) {
    if (!DEFINITION.some((re) => re.test(raw))) continue;
    const line = raw.length > MAX_OUTLINE_LINE ? raw.slice(0, MAX_OUTLINE_LINE) : raw;
    found.push({ i, line: line.trimEnd(), exported: EXPORTED.test(raw) });
  }
  if (found.length === 0) return undefined;
  const [first, ...more] = chunkFile(path, lf);
  if (first && more.length === 0 && first.text.length <= MAX_OUTLINE_CHARS && first.text === (lf.endsWith('\n') ? lf : `${lf}\n`)) {
    return { ...first, kind: 'outline' };
  }
  const limit = Math.min(MAX_OUTLINE_CHARS, MAX_CHUNK_CHARS);
  const chosen: typeof found = [];
  let chars = 0;
  for (const f of [...found.filter((f) => f.exported), ...found.filter((f) => !f.exported)]) {
    if (chars + f.line.length + 1 > limit) continue;
    chosen.push(f);
    chars += f.line.length + 1;
  }
  chosen.sort((a, b) => a.i - b.i);
  return { path, text: chosen.map((f) => `${f.line}\n`).join(''), line: chosen[0].i, kind: 'outline' };
}
