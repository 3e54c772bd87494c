#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds, then runs every test with node's test runner.
set -euo pipefail
cd "$(dirname "$0")/.."
bash test/setup.sh
# The real-editor tests (test/e2e/) need Chromium, Node 24 and code-server; quick when installed.
bash scripts/install-tools.sh
npm run build
npm run compile-tests
files=$(find out/test -name '*.test.js' | sort)
node --test --test-concurrency=1 $files
