#!/usr/bin/env bash
# The whole pipeline, end to end: corpus -> tokenizer and data -> training -> ONNX export -> evaluation.
#   bash training/pipeline.sh default    # the shipped default model (training/configs/default.json)
#   bash training/pipeline.sh tiny       # the few-hundred-KB test model
# Set RESUME=1 to continue a run from its checkpoint. Needs /usr/bin/python3 with torch, onnx, numpy, regex
# (test/setup.sh installs them from Debian).
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: pipeline.sh CONFIG_NAME}
py=/usr/bin/python3
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
[ -f training/data/corpus/train.jsonl ] || $py training/corpus.py --out training/data/corpus
[ -f training/data/prepared/meta.json ] || $py training/prepare.py --corpus training/data/corpus --out training/data/prepared
# A model trained in stages has training/configs/NAME-stage1.json; the last stage starts from its weights.
if [ -f "training/configs/$name-stage1.json" ] && [ -z "${RESUME:-}" ]; then
  $py training/train.py --config "training/configs/$name-stage1.json"
fi
$py training/train.py --config "training/configs/$name.json" ${RESUME:+--resume}
out=$($py -c "import json,sys;print(json.load(open(sys.argv[1]))['out_dir'])" "training/configs/$name.json")
(cd training && $py export.py --ckpt "../$out/ckpt.pt" --tokenizer data/prepared/tokenizer.json --out "../models/$name" --name "$name")
(cd training && $py make_tokenizer_fixture.py "../models/$name/tokenizer.json")
$py training/evaluate.py --ckpt "$out/ckpt.pt" --model-dir "models/$name"   # paths from the repo root, like its defaults
cp "$out/val_loss.png" "models/$name/val_loss.png"
