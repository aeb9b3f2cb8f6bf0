#!/usr/bin/env bash
# Installs what xnusim needs (Debian packages, only those missing) and builds it in ./build.
# Run by scripts/demo.sh and scripts/test.sh; safe to run again (incremental).
#   scripts/setup.sh                 # build everything (simulator, tests, benchmarks)
#   scripts/setup.sh sim/cli/xnusim  # build only these ninja targets
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PACKAGES=(meson ninja-build g++ pkg-config libsimgrid-dev nlohmann-json3-dev libcli11-dev catch2 libfmt-dev
          python3)
# The tests load the HTML reports in headless Chromium (tests/reports/browser_test.cpp); only a
# full build (the tests) needs it.
# The sweep integration tests (tests/cli/sweep_cluster_test.cpp) start a one-node Slurm cluster
# and run GNU parallel; ss (iproute2) picks their free ports. `xnusim calibrate --vs-cyclictest`
# runs cyclictest (rt-tests) beside its own timer measurement.
[ $# -eq 0 ] && PACKAGES+=(chromium slurm-wlm munge parallel iproute2 rt-tests)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}" >&2
fi

BUILD_DIR=${BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  meson setup "$BUILD_DIR" --buildtype=release >&2
fi
ninja -C "$BUILD_DIR" "$@" >&2
