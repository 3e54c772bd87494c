// Bundles the four programs of the extension into dist/:
//   dist/extension.js  the VS Code client          (extension/src/main.ts)
//   dist/server.js     the language server          (language-server/src/main.ts)
//   dist/worker.js     the model host's worker      (model-host/src/worker/worker.ts; the server finds it next to itself)
//   dist/cli.js        the command-line infill tool (model-host/src/cli.ts)
// onnxruntime-node stays external everywhere: it loads native binaries from its own package folder.
// `vscode` exists only inside the extension host, so it is external to the client bundle.
//
//   node esbuild.mjs [--watch] [--production] [--strict]
//     --watch       rebuild on change (the first build's errors are reported, watching goes on)
//     --production  minify (sourcemaps are still written, next to the bundles)
//     --strict      a missing entry point is an error instead of a warning (for CI)
import * as esbuild from 'esbuild';
import { chmodSync, existsSync, readFileSync } from 'node:fs';

const args = new Set(process.argv.slice(2));
const watch = args.has('--watch');
const production = args.has('--production');
const strict = args.has('--strict');
for (const a of args) {
  if (!['--watch', '--production', '--strict'].includes(a)) {
    console.error(`esbuild.mjs: unknown option ${a} (known: --watch --production --strict)`);
    process.exit(2);
  }
}

const SHEBANG = '#!/usr/bin/env node';

/** @type {{ name: string, entry: string, outfile: string, external: string[], executable?: boolean }[]} */
const targets = [
  { name: 'extension', entry: 'extension/src/main.ts', outfile: 'dist/extension.js', external: ['vscode', 'onnxruntime-node'] },
  { name: 'server', entry: 'language-server/src/main.ts', outfile: 'dist/server.js', external: ['onnxruntime-node'] },
  { name: 'worker', entry: 'model-host/src/worker/worker.ts', outfile: 'dist/worker.js', external: ['onnxruntime-node'] },
  { name: 'cli', entry: 'model-host/src/cli.ts', outfile: 'dist/cli.js', external: ['onnxruntime-node'], executable: true },
];

/** esbuild keeps an entry's own `#!` line; add one only where the source has none, never two. */
function startsWithShebang(file) {
  return readFileSync(file, 'utf8').startsWith('#!');
}

/** Marks the CLI executable after every build, including rebuilds in watch mode. */
function makeExecutable(outfile) {
  return {
    name: 'make-executable',
    setup(build) {
      build.onEnd((result) => {
        if (result.errors.length === 0 && existsSync(outfile)) chmodSync(outfile, 0o755);
      });
    },
  };
}

function options(t) {
  return {
    entryPoints: [t.entry],
    outfile: t.outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    minify: production,
    external: t.external,
    logLevel: 'info',
    banner: t.executable && !startsWithShebang(t.entry) ? { js: SHEBANG } : undefined,
    plugins: t.executable ? [makeExecutable(t.outfile)] : [],
  };
}

const present = [];
for (const t of targets) {
  if (existsSync(t.entry)) present.push(t);
  else if (strict) {
    console.error(`esbuild.mjs: error: entry point ${t.entry} for dist/${t.name}.js is missing (--strict)`);
    process.exitCode = 1;
  } else {
    console.warn(`esbuild.mjs: warning: skipping ${t.outfile}: ${t.entry} does not exist yet`);
  }
}
if (process.exitCode) process.exit();

if (watch) {
  for (const t of present) {
    const ctx = await esbuild.context(options(t));
    await ctx.watch();
  }
  console.log(`esbuild.mjs: watching ${present.map((t) => t.entry).join(', ')}`);
} else {
  const results = await Promise.allSettled(present.map((t) => esbuild.build(options(t))));
  // esbuild has already printed the errors (logLevel info); just fail the command.
  if (results.some((r) => r.status === 'rejected')) process.exit(1);
}
