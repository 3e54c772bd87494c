#!/usr/bin/env bash
# Regenerates the repository-level holes: downloads the pinned tarballs (no install scripts, no
# dependencies: `npm pack`) of packages that are not in the training corpus, unpacks them in a
# scratch folder and cuts the holes (bench/repo-holes.ts).
#   bash bench/repo-holes.sh          the test set, bench/holes-repo.jsonl.gz (the numbers in docs/)
#   bash bench/repo-holes.sh dev      the development set, bench/holes-repo-dev.jsonl.gz: other
#                                     packages, for choosing knobs without looking at the test set
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-test}" in
  test) PACKAGES=(fastify@5.2.1 pino@9.6.0 knex@3.1.0 hono@4.6.16); OUT=bench/holes-repo.jsonl.gz; N=130 ;;
  dev) PACKAGES=(sequelize@6.37.8 winston@3.19.0 undici@7.16.0 ioredis@5.8.2 bull@4.16.5); OUT=bench/holes-repo-dev.jsonl.gz; N=100 ;;
  *) echo "usage: repo-holes.sh [test|dev]" >&2; exit 2 ;;
esac
SCRATCH="${SCRATCH:-$(mktemp -d)}"
for p in "${PACKAGES[@]}"; do
  name="${p%@*}"
  if grep -q "\"$name@" training/corpus.py; then echo "$name is in the training corpus" >&2; exit 1; fi
  mkdir -p "$SCRATCH/$p"
  tgz=$(cd "$SCRATCH" && npm pack --silent "$p" | tail -1)
  tar xzf "$SCRATCH/$tgz" -C "$SCRATCH/$p"
done
npx tsc -p . >/dev/null
node out/bench/repo-holes.js --src "$SCRATCH" --out "$OUT" --n "$N" --seed 1
