#!/usr/bin/env bash
# A minutes-long run of the whole pipeline on a small Python-only corpus, for the test suite:
# gathers files, trains a 512-token tokenizer, trains a tiny model for a few steps and exports it.
#   bash training/smoke.sh OUT_DIR
set -euo pipefail
cd "$(dirname "$0")"
out=$(realpath -m "${1:?usage: smoke.sh OUT_DIR}")
py=/usr/bin/python3
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
mkdir -p "$out"
$py corpus.py --no-npm --max-files 300 --out "$out/corpus" --manifest "$out/corpus-manifest.json" --scratch "$out/scratch"
$py prepare.py --corpus "$out/corpus" --out "$out/prepared" --vocab-size 512 --tokenizer-bytes 400000 \
  --stream-bytes 1500000 --infill-docs 150 --val-infill-docs 20
$py train.py --config configs/tiny.json --data_dir="$out/prepared" --out_dir="$out/run" --max_steps=60 \
  --warmup_steps=10 --eval_every=30 --eval_batches=2 --log_every=10 --batch_size=8 --seq_len=128 --max_canvas=32
$py export.py --ckpt "$out/run/ckpt.pt" --tokenizer "$out/prepared/tokenizer.json" --out "$out/model" --name smoke
$py make_tokenizer_fixture.py "$out/model/tokenizer.json"
