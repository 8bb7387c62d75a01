#!/usr/bin/env bash
# Dev-time only: a separate venv with PyTorch, Google's litert-torch converter, transformers and
# stable-audio-tools (the reference model code), for conformance scripts. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
V=.venv-torch
# Done already with this script and these requirements: nothing to do (a re-run would reinstall numpy twice,
# k-diffusion pinning it below 2 and onnx lifting it again, under anything using the venv meanwhile).
stamp=$(cat scripts/setup-conformance.sh scripts/requirements-conformance.txt | sha256sum | cut -d' ' -f1)
if [ -x $V/bin/python ] && [ "$(cat $V/.ready 2>/dev/null)" = "$stamp" ]; then exit 0; fi
[ -x $V/bin/python ] || "$PY" -m venv $V
$V/bin/pip install --disable-pip-version-check -q -r scripts/requirements-conformance.txt
# stable-audio-tools pins an old training stack (gradio, lightning…); the model code needs few of them.
$V/bin/pip install --disable-pip-version-check -q --no-deps stable-audio-tools==0.0.19
$V/bin/pip install --disable-pip-version-check -q einops alias-free-torch k-diffusion==0.1.1.post1 \
  einops-exts x-transformers==1.27.19 || true
# For @audiogen/convert's conformance scripts: stable_audio_tools.data.utils imports torchaudio (only its
# pure-Python transforms are touched, so no version pin to torch); k_diffusion → clip imports pkg_resources,
# which setuptools >= 81 no longer ships; torch.onnx.export needs onnx, the ONNX fixtures use onnxruntime.
$V/bin/pip install --disable-pip-version-check -q --no-deps torchaudio || true
$V/bin/pip install --disable-pip-version-check -q "setuptools<81" onnx onnxruntime || true
echo "$stamp" >$V/.ready
