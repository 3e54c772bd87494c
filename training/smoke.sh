#!/usr/bin/env bash
# A minutes-long run of the whole pipeline, for the test suite: a small Python-only corpus, the
# pinned base (fetched and converted), a few adaptation steps on a 2-block cut of it, export (float32, and int8 smoothed).
#   bash training/smoke.sh OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:?usage: smoke.sh OUT_DIR}")
py=training/.venv/bin/python
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} PYTHONPATH=training
mkdir -p "$out"
$py training/corpus.py --no-npm --max-files 300 --out "$out/corpus" --manifest "$out/corpus-manifest.json" --scratch "$out/scratch"
$py training/base.py --out training/data/base
$py training/train.py --config training/configs/default.json --set out_dir="\"$out/run\"" corpus_dir="\"$out/corpus\"" \
  keep_layers=2 lora_from_layer=0 batch_size=4 prefix_tokens=64 suffix_tokens=32 max_steps=30 max_minutes=8 \
  lr=0.0005 warmup_steps=5 eval_batches=2 eval_minutes=100 ckpt_minutes=100
$py training/export.py --adapter "$out/run/adapter.npz" --out "$out/model" --name smoke --dtype float32
$py training/make_tokenizer_fixture.py "$out/model/tokenizer.json"
# The int8 path: activation ranges on the run's own corpus, weights smoothed, then quantized.
$py training/smooth.py --adapter "$out/run/adapter.npz" --corpus "$out/corpus/train.jsonl" --out "$out/ranges.npz"
$py training/export.py --adapter "$out/run/adapter.npz" --out "$out/model8" --name smoke8 --dtype int8 --ranges "$out/ranges.npz"
