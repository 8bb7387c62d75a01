#!/usr/bin/env bash
# Installs what tests and dev scripts need beyond npm: a Python venv with the official reference
# tools (LiteRT for Python, sentencepiece…). Idempotent; safe to run on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/pip install --disable-pip-version-check -q -r scripts/requirements-ci.txt
