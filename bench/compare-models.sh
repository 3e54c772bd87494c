#!/usr/bin/env bash
# Two model folders side by side in one run, through the product's engine (bench/eval.ts): HumanEval-Infilling
# single-line, multi-line and random spans with the span length the product plans, the same with the hidden
# middle's exact length (the cost of the model deciding the length), and holes from a JSONL file.
#   bash bench/compare-models.sh OLD_DIR NEW_DIR OUT_DIR [HOLES.jsonl] [LIMIT]
# Builds nothing: run `npm run build && tsc -p .` first. Results: OUT_DIR/{old,new}/eval-*.{json,md}.
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?usage: compare-models.sh OLD_DIR NEW_DIR OUT_DIR [HOLES.jsonl] [LIMIT]}
new=${2:?}
out=${3:?}
holes=${4:-}
limit=${5:-100}
for side in old new; do
  dir=$([ $side = old ] && echo "$old" || echo "$new")
  mkdir -p "$out/$side"
  node out/bench/eval.js --model "$dir" --humaneval single,multi,random --limit "$limit" --length planned --out "$out/$side"
  node out/bench/eval.js --model "$dir" --humaneval multi,random --limit "$limit" --length oracle --out "$out/$side"
  [ -z "$holes" ] || node out/bench/eval.js --model "$dir" --jsonl "$holes" --out "$out/$side"
done
cat "$out"/old/*.md "$out"/new/*.md
