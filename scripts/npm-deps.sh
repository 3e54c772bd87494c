#!/usr/bin/env bash
# Installs the project's npm packages when they are missing or package.json changed since.
# Offline-safe: .npmrc skips onnxruntime-node's download script.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules/onnxruntime-node ] || [ package.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund 2>/dev/null || npm install --no-audit --no-fund
fi
