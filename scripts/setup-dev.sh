#!/usr/bin/env bash
# Installs what tests and dev scripts need beyond npm: a Python venv with the official reference
# tools (LiteRT for Python, sentencepiece…), and a few Debian packages that tests use as independent
# references or to emulate arm64. Idempotent; safe to run on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: sox (an independent WAV/resampler reference for audio-io), qemu-user and the aarch64
# cross g++ with its sysroot (the arm64 prebuild, the arm64/SME2 lane, the aarch64 sampler check).
# In CI they are required, so those tests can never be skipped there; elsewhere a missing package only
# skips the tests that need it (each says so).
need=()
command -v sox >/dev/null || need+=(sox)
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
{ command -v aarch64-linux-gnu-g++ >/dev/null && [ -e /usr/aarch64-linux-gnu/lib/libc.so.6 ]; } ||
  need+=(g++-aarch64-linux-gnu libc6-dev-arm64-cross)
if [ ${#need[@]} -gt 0 ]; then
  sudo=()
  [ "$(id -u)" = 0 ] || { sudo -n true 2>/dev/null && sudo=(sudo -n); } || sudo=(none)
  if command -v apt-get >/dev/null && [ "${sudo[*]}" != none ]; then
    echo "[setup-dev] apt-get install ${need[*]}" >&2
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  elif [ -n "${CI:-}" ]; then
    echo "[setup-dev] CI needs these Debian packages and cannot install them (no apt-get or no root): ${need[*]}" >&2
    exit 1
  else
    echo "[setup-dev] not installed (tests that need them will skip): ${need[*]}" >&2
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/pip install --disable-pip-version-check -q -r scripts/requirements-ci.txt
