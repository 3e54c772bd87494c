#!/usr/bin/env bash
# Continues the default run in the background at the start of a working period, in one command:
#   bash training/resume.sh [MINUTES] [SCHEDULE_TOKENS]     # default 150 minutes, the committed schedule
# Installs what the adaptation needs (training/.venv for the base and corpus, training/.venv-torch2 with
# PyPI's torch for bf16), makes the base and the corpus if missing, starts from training/checkpoint/ when
# the run folder has no checkpoint of its own, and runs train.py niced so the rest of the period's work
# keeps the CPU first. Before the period ends, keep what it reached:
#   cp training/runs/default/checkpoint.npz training/runs/default/training.json training/checkpoint/
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-150}
bash training/venv.sh
VENV=.venv-torch2 EXTRA=requirements-gpu.txt bash training/venv.sh
export PYTHONPATH=training OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
training/.venv/bin/python training/base.py --out training/data/base
[ -f training/data/corpus/train.jsonl ] || training/.venv/bin/python training/corpus.py --out training/data/corpus
run=training/runs/default
if [ ! -f "$run/checkpoint.npz" ]; then
  mkdir -p "$run" && cp training/checkpoint/checkpoint.npz training/checkpoint/training.json "$run/"
fi
schedule=${2:-$(training/.venv/bin/python -c "import json;print(json.load(open('$run/training.json'))['config']['schedule_tokens'])")}
# jemalloc (Debian's libjemalloc2), where installed, keeps the allocator from fragmenting over hours of steps.
preload=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
[ -f "$preload" ] && export LD_PRELOAD=$preload
log="$run/stdout-$(date +%Y%m%d-%H%M).log"
nohup nice -n 19 training/.venv-torch2/bin/python training/train.py --config training/configs/default.json --resume \
  --set "schedule_tokens=$schedule" "max_minutes=$minutes" > "$log" 2>&1 &
echo "training in the background (pid $!), log: $log"
