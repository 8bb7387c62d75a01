#!/usr/bin/env bash
# Cross-checks the WAV reader/writer against SoX (an independent C implementation): installs sox with
# apt-get when missing (Debian/Ubuntu; needs root), then runs src/sox.test.ts, which CI skips.
set -euo pipefail
cd "$(dirname "$0")/../../.."
if ! command -v sox >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends sox
  else
    echo "sox is not installed and apt-get is unavailable; install sox and re-run" >&2
    exit 1
  fi
fi
sox --version
npx vitest run packages/audio-io/src/sox.test.ts
