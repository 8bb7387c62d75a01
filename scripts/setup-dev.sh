#!/usr/bin/env bash
# Installs what tests and dev scripts need beyond npm: a Python venv with the official reference
# tools (LiteRT for Python, sentencepiece…), and a few Debian packages that tests use as independent
# references or to emulate arm64. Idempotent; safe to run on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: sox (an independent WAV/resampler reference for audio-io), qemu-user and the aarch64
# cross g++ with its sysroot (the arm64 prebuild, the arm64/SME2 lane, the aarch64 sampler check), wine64.
# In CI they are required, so those tests can never be skipped there; elsewhere a missing package only
# skips the tests that need it (each says so).
need=()
command -v sox >/dev/null || need+=(sox)
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
{ command -v aarch64-linux-gnu-g++ >/dev/null && [ -e /usr/aarch64-linux-gnu/lib/libc.so.6 ]; } ||
  need+=(g++-aarch64-linux-gnu libc6-dev-arm64-cross)
# wine64: the win32-x64 lane (the official Windows node running the win32 prebuild); its loader is
# /usr/lib/wine/wine64, not on PATH.
[ -x /usr/lib/wine/wine64 ] || command -v wine64 >/dev/null || need+=(wine64)
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

# A Vulkan device for the GPU tests (LiteRT's WebGPU accelerator, issue 16): Mesa's lavapipe, a software
# Vulkan driver. LiteRT refuses Debian 12's Mesa 22 ("No adapters found": it lacks
# shaderUniform*ArrayDynamicIndexing) and accepts Mesa 25 from bookworm-backports, so on bookworm the
# backports suite is added to apt's sources and mesa-vulkan-drivers (+ the Vulkan loader) taken from it.
# Newer Debian releases already ship Mesa >= 25. Skipped when Mesa >= 25's lavapipe is already installed.
mesa_major() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | sed -E 's/^([0-9]+:)?([0-9]+).*/\2/'; }
if command -v apt-get >/dev/null && [ "$(mesa_major || true)" != "" ] && [ "$(mesa_major)" -ge 25 ] 2>/dev/null &&
  ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
  :
elif command -v apt-get >/dev/null && { [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null; }; then
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo -n)
  codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
  target=()
  if [ "$codename" = bookworm ]; then
    list=/etc/apt/sources.list.d/audiogen-bookworm-backports.sources
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      echo "[setup-dev] adding bookworm-backports to apt's sources (Mesa 25 lavapipe for the GPU tests)" >&2
      printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' |
        "${sudo[@]}" tee "$list" >/dev/null
    fi
    target=(-t bookworm-backports)
  fi
  echo "[setup-dev] apt-get install ${target[*]} mesa-vulkan-drivers libvulkan1" >&2
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${target[@]}" \
    mesa-vulkan-drivers libvulkan1 >/dev/null
  if [ "$(mesa_major)" -lt 25 ] 2>/dev/null; then
    # Known refused: Debian 12's 22.3. Other releases' Mesa 23/24 were not tried; the GPU tests will say.
    echo "[setup-dev] mesa-vulkan-drivers $(mesa_major) < 25: LiteRT's WebGPU accelerator may find no adapter" >&2
    [ -z "${CI:-}" ] || [ "$codename" != bookworm ] || exit 1
  fi
elif [ -n "${CI:-}" ]; then
  echo "[setup-dev] CI needs Mesa >= 25's lavapipe (mesa-vulkan-drivers) and cannot install it" >&2
  exit 1
else
  echo "[setup-dev] no Mesa >= 25 lavapipe and no root to install it: the GPU tests will skip" >&2
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/pip install --disable-pip-version-check -q -r scripts/requirements-ci.txt

# zig (PyPI `ziglang`, pinned): the cross toolchain of the darwin-arm64 and win32-x64 prebuilds. Installed
# once per machine outside the clone: zig caches the libc++/libc it builds per target by the path of its
# own install, so a fixed place lets every clone (and CI's fresh one) reuse that work (~1–2 CPU-minutes
# per target the first time). .venv/bin/zig points to it.
ZIG_VERSION=0.17.0
ZIG_HOME=${AUDIOGEN_ZIG_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/audiogen/ziglang-$ZIG_VERSION}
if [ ! -x "$ZIG_HOME/ziglang/zig" ]; then
  echo "[setup-dev] pip install ziglang==$ZIG_VERSION --target $ZIG_HOME" >&2
  rm -rf "$ZIG_HOME.tmp.$$"
  .venv/bin/pip install --disable-pip-version-check -q --no-deps --target "$ZIG_HOME.tmp.$$" "ziglang==$ZIG_VERSION"
  mkdir -p "$(dirname "$ZIG_HOME")"
  mv -T "$ZIG_HOME.tmp.$$" "$ZIG_HOME" 2>/dev/null || rm -rf "$ZIG_HOME.tmp.$$" # another setup won the race
fi
ln -sfn "$ZIG_HOME/ziglang/zig" .venv/bin/zig

# actionlint (a Go module, pinned) lints .github/workflows in npm test; installed into .venv/bin.
ACTIONLINT_VERSION=v1.7.12
if ! { [ -x .venv/bin/actionlint ] && .venv/bin/actionlint -version 2>/dev/null | head -1 | grep -qx "$ACTIONLINT_VERSION"; }; then
  if command -v go >/dev/null; then
    echo "[setup-dev] go install github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" >&2
    GOBIN="$(pwd)/.venv/bin" go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
  elif [ -n "${CI:-}" ]; then
    echo "[setup-dev] CI needs Go to install actionlint" >&2
    exit 1
  else
    echo "[setup-dev] no Go: workflow lint (actionlint) will skip" >&2
  fi
fi
