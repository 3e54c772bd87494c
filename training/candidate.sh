#!/usr/bin/env bash
# An int8 model folder from an adapter, as the product loads it: activation ranges (smooth.py), the smoothed int8
# export with its parity fixture (export.py), the tokenizer fixture. pipeline.sh exports the shipped models with
# it; a run's state becomes a candidate with it, to be measured beside the shipped default before it replaces it:
#   bash training/candidate.sh training/runs/default/adapter.npz training/runs/candidate [NAME]
#   bash bench/compare-models.sh models/default training/runs/candidate OUT_DIR HOLES.jsonl
#   node out/bench/repo-eval.js --model training/runs/candidate --budgets 256
set -euo pipefail
cd "$(dirname "$0")/.."
adapter=${1:?usage: candidate.sh ADAPTER.npz OUT_DIR [NAME]}
out=${2:?}
name=${3:-$(basename "$out")}
mkdir -p "$out"
# A copy, so that the run going on beside it cannot change the adapter between the two steps, with the record
# beside it that export.py writes into model.json (a run's training.json or a model's adapter.json).
if ! [ "$adapter" -ef "$out/adapter.npz" ]; then
  cp "$adapter" "$out/adapter.npz"
  for record in adapter.json training.json; do
    [ -f "$(dirname "$adapter")/$record" ] && cp "$(dirname "$adapter")/$record" "$out/" && break
  done
fi
py=training/.venv/bin/python
export PYTHONPATH=training OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
$py training/smooth.py --adapter "$out/adapter.npz" --out "$out/ranges.npz"
$py training/export.py --adapter "$out/adapter.npz" --out "$out" --name "$name" --dtype int8 --ranges "$out/ranges.npz"
$py training/make_tokenizer_fixture.py "$out/tokenizer.json" >/dev/null
