#!/usr/bin/env bash
# The adaptation on a lent GPU, in calls of under 10 minutes each (the device tool's limits: 64 MiB
# carried per call, files outside the repository survive only while the machine stays warm, 30 s
# after a call; a process started with setsid keeps running between calls).
#
#   here:    bash training/gpu.sh pack                 # writes training/gpu-carry/: the base's GGUF in
#                                                      # pieces, the gguf reader, the JS/TS corpus (xz)
#   device:  bash training/gpu.sh receive K            # one call per piece, carry training/gpu-carry/K
#   device:  bash training/gpu.sh start [MINUTES]      # Python corpus from its own site-packages + the
#                                                      # carried JS/TS; training in the background (bf16)
#   device:  bash training/gpu.sh poll                 # log tail; adapter.npz + training.json into $OUT
#   here:    cp <fetched>/adapter.npz <fetched>/training.json training/runs/gpu/ &&
#            bash training/pipeline.sh --export-only gpu
#
# Call poll every few minutes (each call keeps the machine warm); the adapter is a few MB, so the
# newest one always comes back. Untested so far: no session of this project has had a GPU yet.
set -euo pipefail
cd "$(dirname "$0")/.."
carry=training/gpu-carry
work=/tmp/di-gpu
case "${1:?usage: gpu.sh pack|receive K|start [MINUTES]|poll}" in
  pack)
    bash training/venv.sh
    training/.venv/bin/python training/base.py --out training/data/base
    rm -rf "$carry" && mkdir -p "$carry"
    split -b 40M -d training/data/base/SmolLM2-135M-Instruct.Q4_1.gguf "$carry/gguf.part"
    training/.venv/bin/python -m pip download -q --no-deps -d "$carry" gguf==0.19.0
    [ -f training/data/corpus/train.jsonl ] || training/.venv/bin/python training/corpus.py --out training/data/corpus
    grep -E '"lang": "(typescript|javascript)"' training/data/corpus/train.jsonl | xz -6 > "$carry/js.jsonl.xz"
    xz -6 < training/data/corpus/val.jsonl > "$carry/val.jsonl.xz"
    ls -la "$carry" ;;
  receive)
    mkdir -p "$work"
    for f in "$carry"/*; do cp -n "$f" "$work/"; done
    ls -la "$work" ;;
  start)
    minutes=${2:-25}
    cd "$work"
    cat gguf.part* > base.gguf
    python3 -m pip install -q --no-deps --target pydeps gguf-*.whl
    export PYTHONPATH="$work/pydeps:$OLDPWD/training"
    mkdir -p base corpus run
    mv -f base.gguf base/SmolLM2-135M-Instruct.Q4_1.gguf
    # The GGUF file arrived in pieces; base.py takes it by its pinned hash and writes tokenizer.json.
    python3 "$OLDPWD/training/base.py" --out base
    python3 "$OLDPWD/training/corpus.py" --no-npm --out corpus-py --manifest corpus-py/manifest-copy.json --scratch scratch
    { cat corpus-py/train.jsonl; xz -dc js.jsonl.xz; } > corpus/train.jsonl
    xz -dc val.jsonl.xz > corpus/val.jsonl
    setsid nohup python3 "$OLDPWD/training/train.py" --config "$OLDPWD/training/configs/gpu.json" \
      --set out_dir="\"$work/run\"" corpus_dir="\"$work/corpus\"" base_dir="\"$work/base\"" max_minutes="$minutes" \
      > run/stdout.log 2>&1 &
    sleep 60; tail -5 run/stdout.log ;;
  poll)
    tail -5 "$work/run/stdout.log"
    nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader || true
    [ -n "${OUT:-}" ] && cp "$work/run/adapter.npz" "$work/run/training.json" "$work/run/log.jsonl" "$OUT/" 2>/dev/null || true ;;
  *) echo "unknown step $1" >&2; exit 2 ;;
esac
