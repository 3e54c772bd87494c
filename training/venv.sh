#!/usr/bin/env bash
# training/.venv: Debian's python3 (with its torch 1.13) plus the pinned packages of requirements.txt.
# Re-run when requirements.txt changes. VENV=.venv-torch2 EXTRA=requirements-gpu.txt makes a second one
# with PyPI's torch 2.x for the adaptation itself (pipeline.sh TORCH=pypi); exports stay on .venv.
set -euo pipefail
cd "$(dirname "$0")"
venv=${VENV:-.venv}
stamp=$venv/.installed
want="$(cat requirements.txt ${EXTRA:-} | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  [ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r requirements.txt ${EXTRA:+-r "$EXTRA"}
  echo "$want" > "$stamp"
fi
