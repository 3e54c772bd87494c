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
# The WebGPU tests (test/model-host/webgpu*.test.ts) run onnxruntime's WebGPU provider on
# SwiftShader, the Vulkan driver on the CPU that Debian's chromium package ships, through the
# Vulkan loader (libvulkan1). scripts/install-tools.sh installs chromium too; either is enough.
if [ ! -f /usr/lib/chromium/vk_swiftshader_icd.json ] || ! ldconfig -p | grep -q 'libvulkan\.so\.1 '; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium libvulkan1
fi
bash training/venv.sh
bash training/build-models.sh
