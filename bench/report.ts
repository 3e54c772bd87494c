// Shared by eval and bench: a terminal progress bar with ETA, percentiles, and result files.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function progress(label: string, total: number): (done: number) => void {
  const t0 = Date.now();
  return (done) => {
    const elapsed = (Date.now() - t0) / 1000;
    const eta = done > 0 ? (elapsed / done) * (total - done) : 0;
    const width = 30;
    const filled = Math.round((done / Math.max(1, total)) * width);
    process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}  ${elapsed.toFixed(0)}s, eta ${eta.toFixed(0)}s   `);
    if (done === total) process.stderr.write('\n');
  };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${os.cpus().length} x ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.arch()}, node ${process.version}`;
}

export function writeResults(dir: string, name: string, json: object, markdown: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(json, null, 2) + '\n');
  fs.writeFileSync(path.join(dir, `${name}.md`), markdown);
  process.stdout.write(markdown + `\n(written to ${path.join(dir, name)}.json and .md)\n`);
}

export function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n') + '\n';
}

/** A process and its descendants: the server and the model worker it forks. */
function processTree(pid: number): number[] {
  try {
    const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return [pid, ...(children ? children.split(/\s+/) : []).flatMap((c) => processTree(Number(c)))];
  } catch {
    return []; // a process that exited between the listing and the read adds nothing
  }
}

/** RSS of a process and its descendants, summed: pages they share (Node's own code) count once per process. */
export function rssMiB(pid: number): number {
  let kib = 0;
  for (const p of processTree(pid)) {
    try {
      kib += Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // exited meanwhile
    }
  }
  return kib / 1024;
}

/**
 * Memory a process and its descendants hold resident, a page they share counted once: each one's
 * private pages summed, and each part of a file that several of them map (the Node binary, ~37 MiB
 * in the server and again in the worker) at the most that any one of them shares.
 */
export function residentMiB(pid: number): number {
  let own = 0;
  const shared = new Map<string, number>();
  for (const p of processTree(pid)) {
    let text = '';
    try {
      text = fs.readFileSync(`/proc/${p}/smaps`, 'utf8');
    } catch {
      continue;
    }
    let file: string | undefined;
    for (const line of text.split('\n')) {
      // A mapping's header: range, permissions, file offset, device, inode (0: not a file), path.
      const head = /^[0-9a-f]+-[0-9a-f]+ \S+ ([0-9a-f]+) \S+ (\d+)\s*(.*)$/.exec(line);
      if (head) {
        file = head[2] !== '0' ? `${head[3]}@${head[1]}` : undefined;
        continue;
      }
      const field = /^(Private_Clean|Private_Dirty|Shared_Clean|Shared_Dirty):\s+(\d+) kB/.exec(line);
      if (!field) continue;
      const kib = Number(field[2]);
      if (field[1].startsWith('Private') || !file) own += kib;
      else shared.set(file + field[1], Math.max(shared.get(file + field[1]) ?? 0, kib));
    }
  }
  for (const kib of shared.values()) own += kib;
  return own / 1024;
}
