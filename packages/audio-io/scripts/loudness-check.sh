#!/usr/bin/env bash
# Cross-checks measureLoudness against pyloudnorm (independent Python BS.1770-4 implementation) on
# white/pink noise and tone bursts at 16–96 kHz. Uses its own venv (packages/audio-io/.venv-loudness).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv-loudness/bin/python ]; then "$PY" -m venv .venv-loudness; fi
.venv-loudness/bin/pip install --disable-pip-version-check -q numpy==2.3.5 scipy pyloudnorm==0.2.0
mkdir -p .build/loudness
.venv-loudness/bin/python scripts/loudness_ref.py .build/loudness
npx esbuild scripts/loudness-compare.ts --bundle --platform=node --format=esm --tsconfig=../../tsconfig.json \
  --outfile=.build/loudness-compare.mjs --log-level=warning
node .build/loudness-compare.mjs .build/loudness
