#!/usr/bin/env bash
# Lints .github/workflows with actionlint (pinned; installed into .venv/bin by scripts/setup-dev.sh).
# In CI a missing actionlint is an error; elsewhere it prints why it skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin/actionlint
if [ ! -x "$bin" ]; then
  if [ -n "${CI:-}" ]; then echo "[lint-workflows] $bin missing (scripts/setup-dev.sh installs it with Go)" >&2; exit 1; fi
  echo "[lint-workflows] skipped: no $bin (needs Go; scripts/setup-dev.sh)" >&2
  exit 0
fi
"$bin" -color=false
echo "[lint-workflows] actionlint $("$bin" -version | head -1): $(ls .github/workflows/*.yml | wc -l) workflows clean" >&2
