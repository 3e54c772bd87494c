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

/** RSS of a process and its descendants: the server and the model worker it forks. */
export function rssMiB(pid: number): number {
  let kib = 0;
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    kib = m ? Number(m[1]) : 0;
    const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    for (const child of children ? children.split(/\s+/) : []) kib += rssMiB(Number(child)) * 1024;
  } catch {
    // A process that exited between the listing and the read adds nothing.
  }
  return kib / 1024;
}
