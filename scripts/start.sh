#!/usr/bin/env bash
# `npm start`: from a fresh clone to a real VS Code with the extension and examples/ open.
# Installs the npm packages, builds the bundles and the scripts, and, when the desktop `code` is
# not on PATH, Node 24 and code-server into .tools/ (a few minutes, once). scripts/start.ts opens
# the editor. `npm start -- --code-server` uses code-server even where `code` exists.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/npm-deps.sh
npm run --silent build
npx tsc -p .
if [[ " $* " == *" --code-server "* ]] || ! command -v code >/dev/null 2>&1; then
  bash scripts/install-tools.sh --no-chromium
fi
exec node out/scripts/start.js "$@"
