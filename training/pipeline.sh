#!/usr/bin/env bash
# The whole pipeline, end to end: corpus -> base (pinned wheel, converted) -> adaptation -> activation ranges -> export
# -> evaluation.
#   bash training/pipeline.sh default     # models/default (training/configs/default.json), int8
#   bash training/pipeline.sh tiny        # models/tiny: the small shape trained from scratch for 4 minutes, for the tests
# RESUME=1 continues the run from its checkpoint (weights and optimizer; training/runs/NAME/checkpoint.npz);
# INIT=path/adapter.npz starts from an adapter with a fresh optimizer; EXPORT_ONLY=1 skips the adaptation.
# TORCH=pypi adapts with PyPI's torch 2.x in training/.venv-torch2 (bf16 autocast: about 2.2x Debian's 1.13
# on a CPU with AMX/AVX512-BF16; several GB); everything else stays on training/.venv.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: pipeline.sh CONFIG_NAME}
bash training/venv.sh
py=training/.venv/bin/python
train_py=$py
if [ "${TORCH:-}" = pypi ]; then
  VENV=.venv-torch2 EXTRA=requirements-gpu.txt bash training/venv.sh
  train_py=training/.venv-torch2/bin/python
fi
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)} PYTHONPATH=training
$py training/base.py --out training/data/base
[ -f training/data/corpus/train.jsonl ] || $py training/corpus.py --out training/data/corpus
if [ "$name" = tiny ]; then
  OMP_NUM_THREADS=1 $py training/train.py --config training/configs/tiny.json
  $py training/export.py --tiny --tiny-weights training/runs/tiny/model.pt --out models/tiny --name tiny --dtype int8
  $py training/make_tokenizer_fixture.py models/tiny/tokenizer.json
  exit 0
fi
[ -n "${EXPORT_ONLY:-}" ] || $train_py training/train.py --config "training/configs/$name.json" ${RESUME:+--resume} ${INIT:+--init "$INIT"}
out=$($py -c "import json,sys;print(json.load(open(sys.argv[1]))['out_dir'])" "training/configs/$name.json")
bash training/candidate.sh "$out/adapter.npz" "models/$name" "$name"
$py training/evaluate.py --adapter "$out/adapter.npz" --holes bench/holes-heldout.jsonl --humaneval single,multi,random \
  --limit 100 --out "bench/results/quality-$name.json"
