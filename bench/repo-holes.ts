// Repository-level holes (issue 24, CrossCodeEval style): a line whose hidden rest uses a name
// defined in another file of the same package, with that file and two other siblings given as
// the files the editor has open. Cut from pinned npm packages that are not in the training
// corpus (training/corpus.py's NPM_PACKAGES and their dependencies).
//   bash bench/repo-holes.sh            (downloads the pinned tarballs with `npm pack`, writes bench/holes-repo.jsonl.gz)
//   node out/bench/repo-holes.js --src DIR --out bench/holes-repo.jsonl.gz --n 130 --seed 1
// DIR holds one folder per package, each the unpacked tarball (DIR/<name>@<version>/package/...).
//
// A hole is `X.member<rest of line>` cut after `X.` where X is a module another file of the
// package exports and `member` is defined there but named nowhere else in the hole's file; or a
// call `name(<args>)` cut at `name`, where name is imported from a sibling and called only on
// that line. The rest of the line is hidden (single-line completion at the cursor).
//
// The file is JSONL, gzipped: `{"file": path, "text": ...}` records for every file used once,
// then `{"hole": ...}` records naming them, so that the file texts are stored once.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as zlib from 'node:zlib';
import { seeded } from './holes';

export interface RepoHole {
  /** The hole's file (a key of the files records): package@version/relative path. */
  file: string;
  /** UTF-16 offset of the cursor in the file's text; the middle starts there. */
  offset: number;
  middle: string;
  /** The cross-file name the middle uses, and the file defining it. */
  name: string;
  definedIn: string;
  /** Files open in the editor besides the hole's own (the defining one among them). */
  open: string[];
  kind: 'member' | 'call';
  language: 'javascript';
}

const MAX_FILE_CHARS = 60_000;
const MAX_HOLES_PER_FILE = 2;
const SKIP_DIR = /(^|\/)(test|tests|__tests__|types|cjs|node_modules|benchmarks?|examples?|docs?)(\/|$)/;

function listJs(dir: string, base = dir, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    const rel = path.relative(base, p).split(path.sep).join('/');
    if (e.isDirectory()) { if (!SKIP_DIR.test(rel)) listJs(p, base, out); } else if (/\.(m?js|cjs)$/.test(e.name) && !/\.min\./.test(e.name)) out.push(rel);
  }
  return out.sort();
}

/** Names a file defines: functions, classes, top-level bindings, methods, exports. */
function definedNames(text: string): Set<string> {
  const out = new Set<string>();
  const res = [/function\s*\*?\s*([A-Za-z_$][\w$]*)/g, /class\s+([A-Za-z_$][\w$]*)/g, /^(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)/gm,
    /^\s+(?:static\s+)?(?:async\s+)?\*?([A-Za-z_$][\w$]*)\s*\([^)]*\)\s*\{/gm, /exports\.([A-Za-z_$][\w$]*)\s*=/g, /^\s+([A-Za-z_$][\w$]*)\s*:\s*(?:async\s+)?function/gm];
  for (const re of res) for (const m of text.matchAll(re)) out.add(m[1]);
  for (const kw of ['if', 'for', 'while', 'switch', 'catch', 'function', 'return', 'constructor']) out.delete(kw);
  return out;
}

/** The sibling files a file imports, by local name: { local -> { file, imported name or '*' } }. */
function imports(text: string, file: string, files: Set<string>): Map<string, { file: string; name: string }> {
  const out = new Map<string, { file: string; name: string }>();
  const resolve = (spec: string): string | undefined => {
    if (!spec.startsWith('.')) return undefined;
    const p = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
    return [p, `${p}.js`, `${p}/index.js`].find((c) => files.has(c));
  };
  const add = (bindings: string, target: string | undefined, star: boolean) => {
    if (!target) return;
    if (star) { out.set(bindings.trim(), { file: target, name: '*' }); return; }
    for (const part of bindings.split(',')) {
      const [imported, local] = part.split(/\s*(?::|\bas\b)\s*/).map((s) => s.trim());
      if (/^[A-Za-z_$][\w$]*$/.test(imported)) out.set(local && /^[A-Za-z_$][\w$]*$/.test(local) ? local : imported, { file: target, name: imported });
    }
  };
  for (const m of text.matchAll(/(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*require\(\s*['"]([^'"]+)['"]\s*\)/g)) add(m[1], resolve(m[2]), true);
  for (const m of text.matchAll(/(?:const|let|var)\s*\{([^}]*)\}\s*=\s*require\(\s*['"]([^'"]+)['"]\s*\)/g)) add(m[1], resolve(m[2]), false);
  for (const m of text.matchAll(/import\s+\*\s+as\s+([A-Za-z_$][\w$]*)\s+from\s+['"]([^'"]+)['"]/g)) add(m[1], resolve(m[2]), true);
  for (const m of text.matchAll(/import\s+([A-Za-z_$][\w$]*)\s+from\s+['"]([^'"]+)['"]/g)) add(m[1], resolve(m[2]), true);
  for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s+['"]([^'"]+)['"]/g)) add(m[1], resolve(m[2]), false);
  return out;
}

const escape = (s: string) => s.replace(/[$]/g, '\\$');

function holesOf(pkg: string, file: string, text: string, files: Set<string>, defs: (f: string) => Set<string>): Omit<RepoHole, 'open'>[] {
  const out: Omit<RepoHole, 'open'>[] = [];
  const lines = text.split('\n');
  let at = 0;
  const imported = imports(text, file, files);
  lines.forEach((line, i) => {
    const lineStart = at;
    at += line.length + 1;
    if (i < 3 || /require\(|^\s*import\s|^\s*(\/\/|\*|\/\*)/.test(line) || line.length > 160) return;
    for (const [local, from] of imported) {
      const re = from.name === '*' ? new RegExp(`\\b${escape(local)}\\.([A-Za-z_$][\\w$]*)`) : new RegExp(`\\b${escape(local)}\\(`);
      const m = re.exec(line);
      if (!m) continue;
      const name = from.name === '*' ? m[1] : from.name;
      if (!defs(from.file).has(name)) continue;
      // The name must come from the other file: it appears on no other line of this one.
      const word = new RegExp(`\\b${escape(from.name === '*' ? name : local)}\\b`, 'g');
      const elsewhere = lines.filter((l, j) => j !== i && !/require\(|^\s*import\s/.test(l) && word.test(l)).length;
      if (elsewhere > 0) continue;
      const cut = from.name === '*' ? m.index + local.length + 1 : m.index;
      const middle = line.slice(cut).replace(/\r$/, '');
      if (middle.trim().length < 3 || middle.length > 100) continue;
      out.push({ file: `${pkg}/${file}`, offset: lineStart + cut, middle, name, definedIn: `${pkg}/${from.file}`, kind: from.name === '*' ? 'member' : 'call', language: 'javascript' });
      break;
    }
  });
  return out;
}

function main(): void {
  const { values } = parseArgs({ options: { src: { type: 'string' }, out: { type: 'string', default: 'bench/holes-repo.jsonl.gz' }, n: { type: 'string', default: '130' }, seed: { type: 'string', default: '1' } } });
  if (!values.src) throw new Error('--src DIR (folders of unpacked package tarballs) is required');
  const rnd = seeded(Number(values.seed));
  const shuffle = <T>(a: T[]): T[] => { for (let i = a.length - 1; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); [a[i], a[j]] = [a[j], a[i]]; } return a; };
  const perPackage: RepoHole[][] = [];
  const texts = new Map<string, string>();
  for (const pkg of fs.readdirSync(values.src).sort()) {
    const root = path.join(values.src, pkg, 'package');
    if (!fs.existsSync(root)) continue;
    const files = listJs(root).filter((f) => fs.statSync(path.join(root, f)).size <= MAX_FILE_CHARS);
    const set = new Set(files);
    const read = (f: string) => fs.readFileSync(path.join(root, f), 'utf8').replace(/\r\n/g, '\n');
    const defCache = new Map<string, Set<string>>();
    const defs = (f: string) => { let d = defCache.get(f); if (!d) defCache.set(f, d = definedNames(read(f))); return d; };
    const holes: RepoHole[] = [];
    for (const f of files) {
      const text = read(f);
      const found = shuffle(holesOf(pkg, f, text, set, defs)).slice(0, MAX_HOLES_PER_FILE);
      for (const h of found) {
        // Open in the editor: the defining file and two other files of the same folder (or package).
        const dir = path.posix.dirname(f);
        const others = shuffle(files.filter((o) => o !== f && `${pkg}/${o}` !== h.definedIn && path.posix.dirname(o) === dir));
        const pool = others.length >= 2 ? others : shuffle(files.filter((o) => o !== f && `${pkg}/${o}` !== h.definedIn));
        holes.push({ ...h, open: shuffle([h.definedIn, ...pool.slice(0, 2).map((o) => `${pkg}/${o}`)]) });
      }
    }
    perPackage.push(shuffle(holes));
    for (const f of files) texts.set(`${pkg}/${f}`, read(f));
  }
  // Round robin over packages so that no package dominates.
  const n = Number(values.n);
  const chosen: RepoHole[] = [];
  for (let k = 0; chosen.length < n && perPackage.some((p) => k < p.length); k++) for (const p of perPackage) if (k < p.length && chosen.length < n) chosen.push(p[k]);
  const used = new Set(chosen.flatMap((h) => [h.file, ...h.open]));
  const lines = [...used].sort().map((f) => JSON.stringify({ file: f, text: texts.get(f) }));
  lines.push(...chosen.map((h) => JSON.stringify({ hole: h })));
  fs.writeFileSync(values.out!, zlib.gzipSync(lines.join('\n') + '\n', { level: 9 }));
  const by = (k: (h: RepoHole) => string) => Object.entries(chosen.reduce((a, h) => ({ ...a, [k(h)]: (a[k(h)] ?? 0) + 1 }), {} as Record<string, number>));
  process.stdout.write(`${chosen.length} holes (${by((h) => h.file.split('/')[0]).map(([k, v]) => `${k} ${v}`).join(', ')}; `
    + `${by((h) => h.kind).map(([k, v]) => `${k} ${v}`).join(', ')}), ${used.size} files, ${fs.statSync(values.out!).size} bytes -> ${values.out}\n`);
}

/** Reads a holes file: the file texts and the holes. */
export function loadRepoHoles(file: string): { files: Map<string, string>; holes: RepoHole[] } {
  const files = new Map<string, string>();
  const holes: RepoHole[] = [];
  for (const line of zlib.gunzipSync(fs.readFileSync(file)).toString('utf8').split('\n')) {
    if (!line) continue;
    const r = JSON.parse(line);
    if (r.hole) holes.push(r.hole); else files.set(r.file, r.text);
  }
  return { files, holes };
}

if (require.main === module) main();
