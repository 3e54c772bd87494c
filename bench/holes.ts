// Holes for measuring: {prefix, suffix, middle, language} records cut from source files, at single
// lines, multi-line blocks and random character spans, reproducible from a seed.
//   node out/bench/holes.js --src language-server/src --out bench/holes-heldout.jsonl --n 150 --seed 1 [--kinds line]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

export interface Hole { prefix: string; suffix: string; middle: string; language: string; kind: string; source?: string }

const LANGUAGES: Record<string, string> = { '.py': 'python', '.ts': 'typescript', '.js': 'javascript', '.mjs': 'javascript' };

export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && e.name !== 'node_modules' && !e.name.startsWith('.')) out.push(...listFiles(p));
    else if (e.isFile() && LANGUAGES[path.extname(e.name)] && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out.sort();
}

/** One hole in `text`: 'line' (rest of a line after its indentation), 'block' (2-6 lines), 'span' (random characters). */
export function cutHole(text: string, kind: string, rnd: () => number): Omit<Hole, 'language'> | undefined {
  const lines = text.split('\n');
  const starts: number[] = [];
  let pos = 0;
  for (const l of lines) { starts.push(pos); pos += l.length + 1; }
  const content = lines.map((_, i) => i).filter((i) => lines[i].trim().length >= 4);
  if (content.length === 0) return undefined;
  const i = content[Math.floor(rnd() * content.length)];
  const indent = lines[i].length - lines[i].trimStart().length;
  let s: number;
  let e: number;
  if (kind === 'line') {
    s = starts[i] + indent;
    e = starts[i] + lines[i].trimEnd().length;
  } else if (kind === 'block') {
    const j = Math.min(lines.length - 1, i + 1 + Math.floor(rnd() * 5));
    s = starts[i] + indent;
    e = starts[j] + lines[j].trimEnd().length;
  } else {
    s = Math.floor(rnd() * text.length);
    e = Math.min(text.length, s + 1 + Math.floor(rnd() * 80));
  }
  if (e <= s || e - s > 400) return undefined;
  return { prefix: text.slice(0, s), middle: text.slice(s, e), suffix: text.slice(e), kind };
}

export function makeHoles(srcDir: string, n: number, seed: number, kinds = ['line', 'line', 'block', 'span']): Hole[] {
  const files = listFiles(srcDir);
  if (files.length === 0) throw new Error(`no source files under ${srcDir}`);
  const rnd = seeded(seed);
  const holes: Hole[] = [];
  for (let tries = 0; holes.length < n && tries < n * 20; tries++) {
    const file = files[Math.floor(rnd() * files.length)];
    const hole = cutHole(fs.readFileSync(file, 'utf8'), kinds[holes.length % kinds.length], rnd);
    if (hole) holes.push({ ...hole, language: LANGUAGES[path.extname(file)], source: path.relative(srcDir, file) });
  }
  return holes;
}

if (require.main === module) {
  const { values: a } = parseArgs({ options: { src: { type: 'string' }, out: { type: 'string' }, n: { type: 'string' }, seed: { type: 'string' }, kinds: { type: 'string' } } });
  if (!a.src || !a.out) {
    process.stderr.write('usage: holes --src DIR --out FILE.jsonl [--n 150] [--seed 1] [--kinds line,block,span]\n');
    process.exit(2);
  }
  const holes = makeHoles(a.src, Number(a.n ?? 150), Number(a.seed ?? 1), a.kinds?.split(','));
  fs.writeFileSync(a.out, holes.map((h) => JSON.stringify(h)).join('\n') + '\n');
  process.stdout.write(`wrote ${holes.length} holes to ${a.out}\n`);
}
