#!/usr/bin/env bash
# The adaptation on a lent GPU machine, data parallel under torchrun, in calls that fit the device tool's
# limits (64 MiB carried per call, 10 minutes a command, files outside the repository kept only while the
# machine stays warm; a process started with setsid keeps running between calls).
#
#   here:    bash training/gpu.sh pack                # training/gpu-carry/: the base's GGUF in pieces, the gguf
#                                                     # reader, the JS/TS corpus and validation split (xz), and
#                                                     # the run's checkpoint to continue from, if there is one
#   device:  bash training/gpu.sh receive K           # one call per piece: carry training/gpu-carry/K
#   device:  bash training/gpu.sh start [MINUTES]     # Python corpus from its own site-packages + the carried
#                                                     # JS/TS; torchrun, one process per GPU, in the background
#   device:  bash training/gpu.sh poll                # log tail; adapter, checkpoint and log into $OUT
#   here:    bash training/gpu.sh bring DIR           # DIR = the fetched $OUT: into training/runs/gpu, then export
#
# One node: NPROC (default: one per GPU, else 2 CPU processes with gloo). Several nodes: TORCHRUN_ARGS,
# e.g. "--nnodes 2 --node_rank 0 --rdzv_endpoint HOST:29500", on each node.
# The same steps run on a CPU in the test suite (training/smoke.sh, test/training/pipeline.test.ts) with CARRY,
# GPU_WORK, RUN_DIR, CORPUS_DIR, PY, CONFIG, SET and CORPUS_FILES pointing at a small run; `start` waits for
# the run when WAIT=1.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
carry=${CARRY:-training/gpu-carry}
work=${GPU_WORK:-/tmp/di-gpu}
py=${PY:-python3}
config=${CONFIG:-$repo/training/configs/gpu.json}
run_dir=${RUN_DIR:-training/runs/gpu}
corpus=${CORPUS_DIR:-training/data/corpus}
piece=40M   # under the 64 MiB a call may carry, with room for the repository itself
case "${1:?usage: gpu.sh pack|receive K|start [MINUTES]|poll|bring DIR}" in
  pack)
    bash training/venv.sh
    vpy=training/.venv/bin/python
    PYTHONPATH=training $vpy training/base.py --out training/data/base
    rm -rf "$carry" && mkdir -p "$carry"
    split -b $piece -d training/data/base/SmolLM2-135M-Instruct.Q4_1.gguf "$carry/gguf.part"
    $vpy -m pip download -q --no-deps -d "$carry" gguf==0.19.0
    [ -f "$corpus/train.jsonl" ] || PYTHONPATH=training $vpy training/corpus.py --out "$corpus"
    { grep -E '"lang": "(typescript|javascript)"' "$corpus/train.jsonl" || true; } | xz -6 | split -b $piece -d - "$carry/js.part"
    xz -6 < "$corpus/val.jsonl" > "$carry/val.jsonl.xz"
    # A run that continues: the last checkpoint and its record travel with the data.
    if [ -f "$run_dir/checkpoint.npz" ]; then cp "$run_dir/checkpoint.npz" "$run_dir/training.json" "$carry/"; fi
    ls -la "$carry" ;;
  receive)
    mkdir -p "$work"
    for f in "$carry"/*; do cp -n "$f" "$work/"; done
    ls -la "$work" ;;
  start)
    minutes=${2:-25}
    cd "$work"
    mkdir -p base corpus run
    cat gguf.part* > base/SmolLM2-135M-Instruct.Q4_1.gguf
    $py -m pip install -q --no-deps --target pydeps gguf-*.whl
    export PYTHONPATH="$work/pydeps:$repo/training"
    # The GGUF file arrived in pieces; base.py takes it by its pinned hash and writes tokenizer.json.
    $py "$repo/training/base.py" --out base
    $py "$repo/training/corpus.py" --no-npm --out corpus-py --manifest corpus-py/manifest-copy.json --scratch scratch \
      ${CORPUS_FILES:+--max-files "$CORPUS_FILES"}
    { cat corpus-py/train.jsonl; cat js.part* | xz -dc; } > corpus/train.jsonl
    xz -dc val.jsonl.xz > corpus/val.jsonl
    resume=(); [ -f checkpoint.npz ] && cp checkpoint.npz training.json run/ && resume=(--resume)
    gpus=$(nvidia-smi -L 2>/dev/null | wc -l || true)
    nproc=${NPROC:-$([ "${gpus:-0}" -gt 0 ] && echo "$gpus" || echo 2)}
    launcher=(-m torch.distributed.run --standalone)
    if ! $py -c 'import sys, torch; sys.exit(int(torch.__version__.split(".")[0]) < 2)'; then
      launcher=("$repo/training/launch.py")  # torch 1.13's torchrun does not start on Python 3.11
    fi
    [ -n "${TORCHRUN_ARGS:-}" ] && launcher=(-m torch.distributed.run $TORCHRUN_ARGS)
    cmd=($py "${launcher[@]}" --nproc_per_node "$nproc" "$repo/training/train.py" --config "$config"
         "${resume[@]}" --set out_dir="\"$work/run\"" corpus_dir="\"$work/corpus\"" base_dir="\"$work/base\"" max_minutes="$minutes" ${SET:-})
    echo "${cmd[*]}" > run/command.txt
    if [ "${WAIT:-0}" = 1 ]; then
      "${cmd[@]}" > run/stdout.log 2>&1
    else
      setsid nohup "${cmd[@]}" > run/stdout.log 2>&1 &
      sleep 60
    fi
    tail -5 run/stdout.log ;;
  poll)
    tail -5 "$work/run/stdout.log"
    nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader 2>/dev/null || true
    if [ -n "${OUT:-}" ]; then
      for f in adapter.npz checkpoint.npz training.json log.jsonl; do cp "$work/run/$f" "$OUT/" 2>/dev/null || true; done
    fi ;;
  bring)
    from=${2:?usage: gpu.sh bring DIR}
    mkdir -p "$run_dir"
    cp "$from"/adapter.npz "$from"/checkpoint.npz "$from"/training.json "$run_dir/"
    cp "$from"/log.jsonl "$run_dir/" 2>/dev/null || true
    echo "in $run_dir; export and evaluate with: EXPORT_ONLY=1 bash training/pipeline.sh gpu" ;;
  *) echo "unknown step $1" >&2; exit 2 ;;
esac
