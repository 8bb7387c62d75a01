#!/usr/bin/env bash
# Dev-time only: a separate venv with PyTorch, Google's litert-torch converter, transformers and
# stable-audio-tools (the reference model code), for conformance scripts. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
V=.venv-torch
[ -x $V/bin/python ] || "$PY" -m venv $V
$V/bin/pip install --disable-pip-version-check -q -r scripts/requirements-conformance.txt
# stable-audio-tools pins an old training stack (gradio, lightning…); the model code needs few of them.
$V/bin/pip install --disable-pip-version-check -q --no-deps stable-audio-tools==0.0.19
$V/bin/pip install --disable-pip-version-check -q einops alias-free-torch k-diffusion==0.1.1.post1 \
  einops-exts x-transformers==1.27.19 || true
touch $V/.ready
