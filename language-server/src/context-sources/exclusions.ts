// Which files may give context: only files of the workspace's folders, not matched by
// `files.exclude` or the folders' root `.gitignore`, and not larger than a size limit. Everything
// stays on this machine (the text goes to the local model only); the rules keep out what the user
// has said is not part of the project (build output, vendored code, secrets kept out of git).
//
// The glob dialect is the common part of VS Code's `files.exclude` and gitignore: `*`, `**`, `?`,
// `[...]`, `{a,b}`, a leading `/` anchoring at the folder, a trailing `/` for folders, `!` to
// re-include (gitignore only). A pattern excludes a path when it matches the path or any folder above it.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Files larger than this give no context: generated or data files, and slow to chunk. */
export const MAX_FILE_BYTES = 512 * 1024;
/** A .gitignore larger than this is not read (it is not a hand-written one). */
const MAX_GITIGNORE_BYTES = 64 * 1024;

interface Rule { re: RegExp; negate: boolean; dirOnly: boolean }

/** A glob as a regular expression over `/`-separated relative paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  let i = 0;
  let braces = 0;
  while (i < glob.length) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // `**/` matches any number of folders (none included); a lone `**` matches anything.
        if (glob[i + 2] === '/') { re += '(?:.*/)?'; i += 3; } else { re += '.*'; i += 2; }
        continue;
      }
      re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) re += '\\[';
      else { re += `[${glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`; i = end; }
    } else if (c === '{') { re += '(?:'; braces++; }
    else if (c === '}' && braces > 0) { re += ')'; braces--; }
    else if (c === ',' && braces > 0) re += '|';
    else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
    i++;
  }
  return new RegExp(`^${re}$`);
}

function rule(pattern: string, gitignore: boolean): Rule | undefined {
  let p = pattern.trim();
  if (!p || p.startsWith('#')) return undefined;
  const negate = gitignore && p.startsWith('!');
  if (negate) p = p.slice(1);
  const dirOnly = p.endsWith('/');
  if (dirOnly) p = p.slice(0, -1);
  // gitignore: a pattern with no slash (but a trailing one) matches at any depth; one with a slash is anchored.
  // files.exclude globs are matched against the whole relative path, as VS Code does.
  if (p.startsWith('/')) p = p.slice(1);
  else if (gitignore && !p.includes('/')) p = `**/${p}`;
  return p ? { re: globToRegExp(p), negate, dirOnly } : undefined;
}

export class WorkspaceFilter {
  private roots: string[] = [];
  private exclude: Rule[] = [];
  /** Per root, its .gitignore's rules (read once; a change takes a server restart or new folders). */
  private readonly gitignores = new Map<string, Rule[]>();

  constructor(readonly maxBytes = MAX_FILE_BYTES) {}

  /** The workspace folders (file URIs or paths). */
  setRoots(roots: readonly string[]): void {
    this.roots = roots.map((r) => path.resolve(r.startsWith('file:') ? fileURLToPath(r) : r));
    this.gitignores.clear();
  }

  /** `files.exclude` as VS Code has it: glob -> true (a `when` clause object counts as true). */
  setFilesExclude(globs: Record<string, unknown> | undefined): void {
    this.exclude = Object.entries(globs ?? {}).filter(([, on]) => on !== false && on !== null)
      .map(([g]) => rule(g, false)).filter((r): r is Rule => r !== undefined);
  }

  /** The path relative to its workspace folder when the document may give context, else undefined. */
  allowed(uri: string, size: number): string | undefined {
    if (size > this.maxBytes || !uri.startsWith('file:')) return undefined;
    let file: string;
    try {
      file = path.resolve(fileURLToPath(uri));
    } catch {
      return undefined;
    }
    return this.relativePath(file);
  }

  /** Whether one of `rels` (paths relative to a workspace folder) is a file there that may give context. */
  fileExists(rels: readonly string[]): boolean {
    for (const root of this.roots) {
      for (const rel of rels) {
        const file = path.join(root, rel);
        try {
          const stat = fs.statSync(file);
          if (stat.isFile() && stat.size <= this.maxBytes && this.relativePath(file) !== undefined) return true;
        } catch {
          // Not there: the next one.
        }
      }
    }
    return false;
  }

  /** An absolute path's path relative to its workspace folder, unless outside them or excluded. */
  private relativePath(file: string): string | undefined {
    const root = this.roots.filter((r) => file.startsWith(r + path.sep)).sort((a, b) => b.length - a.length)[0];
    if (!root) return undefined;
    const rel = path.relative(root, file).split(path.sep).join('/');
    if (matches(this.exclude, rel)) return undefined;
    if (matches(this.gitignore(root), rel)) return undefined;
    return rel;
  }

  private gitignore(root: string): Rule[] {
    let rules = this.gitignores.get(root);
    if (!rules) {
      rules = [];
      try {
        const file = path.join(root, '.gitignore');
        if (fs.statSync(file).size <= MAX_GITIGNORE_BYTES) {
          rules = fs.readFileSync(file, 'utf8').split(/\r?\n/).map((l) => rule(l, true)).filter((r): r is Rule => r !== undefined);
        }
      } catch {
        // No .gitignore: nothing ignored.
      }
      this.gitignores.set(root, rules);
    }
    return rules;
  }
}

/** Whether `rel` (a file) is excluded by `rules`: the last rule matching it or a folder above it decides. */
function matches(rules: readonly Rule[], rel: string): boolean {
  const parts = rel.split('/');
  let excluded = false;
  for (const r of rules) {
    for (let n = 1; n <= parts.length; n++) {
      // A folder-only rule matches folders above the file, never the file itself.
      if (r.dirOnly && n === parts.length) continue;
      if (r.re.test(parts.slice(0, n).join('/'))) {
        excluded = !r.negate;
        break;
      }
    }
  }
  return excluded;
}
