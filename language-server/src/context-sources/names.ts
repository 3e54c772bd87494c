// The names other files define, sent with the extra context so that the engine can favour
// spelling them (model-host/src/decoding/names.ts): the functions, classes, constants and
// methods on the definition lines of the chosen chunks, and the names the cursor's file imports
// from the workspace's files. Local variables of other files are left out: favouring them would
// push another file's `i` or `res` into this one.

import { identifiers } from './chunks';

const NAME = '([A-Za-z_$][\\w$]*)';
/** One name per match, in group 1. */
const DEFINES = [
  new RegExp(`\\bfunction\\s*\\*?\\s*${NAME}`, 'g'),
  new RegExp(`\\bclass\\s+${NAME}`, 'g'),
  // Top-level only: an indented one is a local.
  new RegExp(`^(?:export\\s+)?(?:const|let|var)\\s+${NAME}\\s*=`, 'gm'),
  new RegExp(`^\\s*(?:async\\s+)?def\\s+${NAME}`, 'gm'),
  new RegExp(`^\\s*(?:export\\s+)?(?:interface|type|enum)\\s+${NAME}`, 'gm'),
  new RegExp(`\\bexports\\.${NAME}\\s*=`, 'g'),
  // Methods and object members: `  name(args) {`, `  name: function`, `  name: (args) =>`.
  new RegExp(`^\\s+(?:static\\s+)?(?:async\\s+)?\\*?${NAME}\\s*\\([^)]*\\)\\s*\\{`, 'gm'),
  new RegExp(`^\\s+${NAME}\\s*:\\s*(?:async\\s+)?(?:function\\b|\\([^)]*\\)\\s*=>)`, 'gm'),
  // Module-level constants (Python, and JS assignments at the line start).
  new RegExp(`^${NAME}\\s*=[^=]`, 'gm'),
];
/** Lists of names: `export { a, b as c }`, `module.exports = { a, b: c }`. */
const LISTS = [/^\s*export\s*\{([^}]*)\}/gm, /module\.exports\s*=\s*\{([^}]*)\}/g];
/** Words a definition pattern can catch that name nothing (`if (x) {` looks like a method). */
const NOT_NAMES = new Set(['if', 'for', 'while', 'switch', 'catch', 'return', 'function', 'constructor', 'super', 'with']);

/** The names `text` defines, in order of appearance, each once. */
export function definedNames(text: string): string[] {
  const found: { at: number; name: string }[] = [];
  for (const re of DEFINES) for (const m of text.matchAll(re)) found.push({ at: m.index!, name: m[1] });
  for (const re of LISTS) {
    for (const m of text.matchAll(re)) {
      for (const item of m[1].split(',')) {
        // `a as b` exports b; `a: b` names the member a.
        const name = item.trim().split(/\s+as\s+/).pop()!.split(':')[0].trim();
        if (/^[A-Za-z_$][\w$]*$/.test(name)) found.push({ at: m.index!, name });
      }
    }
  }
  found.sort((a, b) => a.at - b.at);
  const out = new Set<string>();
  for (const { name } of found) if (!NOT_NAMES.has(name) && identifiers(name).size > 0) out.add(name);
  return [...out];
}
