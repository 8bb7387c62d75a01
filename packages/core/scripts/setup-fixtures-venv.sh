#!/usr/bin/env bash
# A small overlay venv for make-fixtures.py: the conformance venv (.venv-torch, made by
# scripts/setup-conformance.sh) pins numpy 1.26 for stable-audio-tools, but litert-torch imports
# jax, which needs numpy >= 2. This venv holds only numpy 2 and sees .venv-torch's packages
# through a .pth file placed after its own site-packages.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
venv="$here/.venv-fixtures"
torch_site="$(ls -d "$root"/.venv-torch/lib/python3*/site-packages | head -1)"
[ -d "$torch_site" ] || { echo "run scripts/setup-conformance.sh first" >&2; exit 1; }
py="$(ls "$root"/.venv-torch/bin/python3 2>/dev/null || echo python3)"
"$py" -m venv "$venv"
"$venv/bin/pip" install -q "numpy==2.3.5"
site="$(ls -d "$venv"/lib/python3*/site-packages | head -1)"
echo "$torch_site" > "$site/zz-venv-torch.pth"
echo "ready: $venv/bin/python"
