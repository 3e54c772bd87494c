#!/usr/bin/env bash
# Regenerates bench/holes-repo.jsonl.gz: downloads the pinned tarballs (no install scripts, no
# dependencies: `npm pack`) of packages that are not in the training corpus, unpacks them in a
# scratch folder and cuts the holes (bench/repo-holes.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGES=(fastify@5.2.1 pino@9.6.0 knex@3.1.0 hono@4.6.16)
SCRATCH="${SCRATCH:-$(mktemp -d)}"
for p in "${PACKAGES[@]}"; do
  name="${p%@*}"
  if grep -q "\"$name@" training/corpus.py; then echo "$name is in the training corpus" >&2; exit 1; fi
  mkdir -p "$SCRATCH/$p"
  tgz=$(cd "$SCRATCH" && npm pack --silent "$p" | tail -1)
  tar xzf "$SCRATCH/$tgz" -C "$SCRATCH/$p"
done
npx tsc -p . >/dev/null
node out/bench/repo-holes.js --src "$SCRATCH" --out bench/holes-repo.jsonl.gz --n 130 --seed 1
