#!/usr/bin/env bash
# A minutes-long run of the whole pipeline for the test suite, taking exactly the steps a lent GPU machine
# takes (training/gpu.sh: pack, carry, train under torchrun, bring back), here with two CPU processes and
# gloo on a 2-block cut of the base, and once more resumed from its checkpoint; then export (float32, and int8 smoothed) and a few evaluation tasks.
#   bash training/smoke.sh OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:?usage: smoke.sh OUT_DIR}")
py=$PWD/training/.venv/bin/python
export OMP_NUM_THREADS=1 PYTHONPATH=training
mkdir -p "$out"
$py training/corpus.py --no-npm --max-files 300 --out "$out/corpus" --manifest "$out/corpus-manifest.json" --scratch "$out/scratch"
export CARRY="$out/carry" GPU_WORK="$out/device" RUN_DIR="$out/run" CORPUS_DIR="$out/corpus" PY="$py" CORPUS_FILES=300 \
  NPROC=2 WAIT=1 CONFIG="$PWD/training/configs/default.json" \
  SET="keep_layers=2 lora_from_layer=0 batch_size=2 row_tokens=256 prefix_tokens=64 suffix_tokens=32 canvas_tokens=48 \
       max_steps=30 lr=0.0005 warmup_steps=5 eval_batches=2 eval_minutes=100 ckpt_minutes=100"
bash training/gpu.sh pack
for piece in "$CARRY"/*; do bash training/gpu.sh receive "$(basename "$piece")" > /dev/null; done
bash training/gpu.sh start 60   # minutes: a ceiling; max_steps ends the run
mkdir -p "$out/back" && OUT="$out/back" bash training/gpu.sh poll
bash training/gpu.sh bring "$out/back"
# A run that continues: the checkpoint travels back (weights and optimizer) and the run resumes at step 30.
cp "$out/run/checkpoint.npz" "$out/run/training.json" "$CARRY/" && bash training/gpu.sh receive all > /dev/null
SET="$SET max_steps=34" bash training/gpu.sh start 60
OUT="$out/back" bash training/gpu.sh poll && bash training/gpu.sh bring "$out/back"
$py training/export.py --adapter "$out/run/adapter.npz" --out "$out/model" --name smoke --dtype float32
$py training/make_tokenizer_fixture.py "$out/model/tokenizer.json"
# The int8 path: activation ranges on the run's own corpus, weights smoothed, then quantized.
$py training/smooth.py --adapter "$out/run/adapter.npz" --corpus "$out/corpus/train.jsonl" --out "$out/ranges.npz"
$py training/export.py --adapter "$out/run/adapter.npz" --out "$out/model8" --name smoke8 --dtype int8 --ranges "$out/ranges.npz"
$py training/evaluate.py --adapter "$out/run/adapter.npz" --humaneval single,multi --limit 2 --out "$out/eval.json"
