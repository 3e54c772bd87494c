// `npm run package`: one .vsix per platform VS Code runs on, each with only its own native
// runtime. .vscodeignore names what every package keeps (bundles, default model, onnxruntime's
// JavaScript); this script adds one platform's folder of onnxruntime-node's binaries (only the
// files that platform loads) in a temporary ignore file and runs `vsce package --target` with it.
//
//   npm run package                       all five: diffusion-infill-<target>.vsix
//   npm run package -- linux-x64 ...      only those
//
// vsce runs `vscode:prepublish` (the production build) before each package.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Per VS Code target: onnxruntime-node's folder and the files its binding loads there. darwin's
 * folder also holds libonnxruntime.1.30.0.dylib, a second copy of libonnxruntime.1.dylib (npm
 * does not keep the symlink), which the binding does not load (it links @rpath/libonnxruntime.1.dylib).
 * Windows: DirectML.dll for the dml provider, dxcompiler.dll and dxil.dll for WebGPU's D3D12 backend.
 */
export const TARGETS = {
  'linux-x64': { dir: 'linux/x64', files: ['onnxruntime_binding.node', 'libonnxruntime.so.1'] },
  'linux-arm64': { dir: 'linux/arm64', files: ['onnxruntime_binding.node', 'libonnxruntime.so.1'] },
  'darwin-arm64': { dir: 'darwin/arm64', files: ['onnxruntime_binding.node', 'libonnxruntime.1.dylib'] },
  'win32-x64': { dir: 'win32/x64', files: ['onnxruntime_binding.node', 'onnxruntime.dll', 'DirectML.dll', 'dxcompiler.dll', 'dxil.dll'] },
  'win32-arm64': { dir: 'win32/arm64', files: ['onnxruntime_binding.node', 'onnxruntime.dll', 'DirectML.dll', 'dxcompiler.dll', 'dxil.dll'] },
};

export function vsixName(target) {
  return `diffusion-infill-${target}.vsix`;
}

/** .vscodeignore with the target's runtime files added. */
export function ignoreFor(target) {
  const { dir, files } = TARGETS[target];
  const base = fs.readFileSync(path.join(root, '.vscodeignore'), 'utf8');
  const napi = fs.readdirSync(path.join(root, 'node_modules', 'onnxruntime-node', 'bin')).filter((d) => d.startsWith('napi-v'));
  const lines = [];
  for (const v of napi) {
    for (const f of files) {
      const rel = `node_modules/onnxruntime-node/bin/${v}/${dir}/${f}`;
      if (!fs.existsSync(path.join(root, rel))) throw new Error(`${rel} is missing: is onnxruntime-node installed?`);
      lines.push(`!${rel}`);
    }
  }
  return `${base}\n# The native runtime for ${target} (scripts/package.mjs).\n${lines.join('\n')}\n`;
}

function main() {
  const asked = process.argv.slice(2);
  const targets = asked.length ? asked : Object.keys(TARGETS);
  for (const t of targets) if (!TARGETS[t]) throw new Error(`unknown target ${t} (known: ${Object.keys(TARGETS).join(', ')})`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'di-package-'));
  try {
    for (const target of targets) {
      const ignore = path.join(tmp, `${target}.vscodeignore`);
      fs.writeFileSync(ignore, ignoreFor(target));
      const vsce = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'vsce.cmd' : 'vsce');
      execFileSync(vsce, ['package', '--target', target, '--ignoreFile', ignore, '--allow-missing-repository',
        '--no-rewrite-relative-links', '--out', vsixName(target)], { cwd: root, stdio: ['ignore', 2, 2] });
      const mb = fs.statSync(path.join(root, vsixName(target))).size / (1024 * 1024);
      process.stderr.write(`package.mjs: ${vsixName(target)} ${mb.toFixed(1)} MB\n`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
