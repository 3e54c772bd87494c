#!/usr/bin/env bash
# Installs the project's dependencies on a fresh machine: npm packages (offline-safe), Debian's
# PyTorch and tools, and the training pipeline's pinned Python packages in training/.venv.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/npm-deps.sh
if ! /usr/bin/python3 -c 'import torch, numpy, venv' 2>/dev/null || ! command -v strace >/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q python3-torch python3-numpy python3-venv python3-matplotlib libopenblas0-openmp strace
fi
bash training/venv.sh
bash training/build-models.sh
