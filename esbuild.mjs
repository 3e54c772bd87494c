// Bundles the extension client, the language server, the model worker and the CLI into dist/.
// onnxruntime-node stays external: it loads native binaries from its own package folder.
//   node esbuild.mjs [--watch] [--production]
import * as esbuild from 'esbuild';
import { chmodSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const common = {
  bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: !production, minify: production,
  external: ['vscode', 'onnxruntime-node'], logLevel: 'info',
};
const entries = [
  { entryPoints: ['extension/src/main.ts'], outfile: 'dist/extension.js' },
  { entryPoints: ['language-server/src/main.ts'], outfile: 'dist/server.js' },
  { entryPoints: ['model-host/src/worker.ts'], outfile: 'dist/worker.js' },
  { entryPoints: ['model-host/src/cli.ts'], outfile: 'dist/cli.js' },
];

if (watch) {
  for (const e of entries) await (await esbuild.context({ ...common, ...e })).watch();
} else {
  await Promise.all(entries.map((e) => esbuild.build({ ...common, ...e })));
  chmodSync('dist/cli.js', 0o755);
}
