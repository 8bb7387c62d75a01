#!/usr/bin/env bash
# Dev-time only: creates .venv-aeq (repo root) with AI Edge Quantizer for the conformance script.
set -euo pipefail
cd "$(dirname "$0")/../../.."
if [ ! -x .venv-aeq/bin/python ]; then python3 -m venv .venv-aeq; fi
echo '*' > .venv-aeq/.gitignore
.venv-aeq/bin/pip install -q -r packages/quantize/scripts/requirements-aeq.txt
