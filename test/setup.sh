#!/usr/bin/env bash
# Installs the project's dependencies on a fresh machine: npm packages (offline-safe) and,
# for the training pipeline's tests, PyTorch and ONNX from Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/npm-deps.sh
if ! /usr/bin/python3 -c 'import torch, onnx, numpy, regex' 2>/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q python3-torch python3-onnx python3-numpy python3-regex python3-matplotlib libopenblas0-openmp
fi
# The privacy test runs a real completion under strace (network and file syscalls of every process).
if ! command -v strace >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get install -y -q strace || { $SUDO apt-get update -q && $SUDO apt-get install -y -q strace; }
fi
