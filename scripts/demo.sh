#!/usr/bin/env bash
# Installs, builds the simulator alone (not the tests or benchmarks) and runs a bundled scenario
# (the BW-C reference task set), printing its summary.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh sim/cli/xnusim
exec "${BUILD_DIR:-build}/sim/cli/xnusim" run scenarios/basics/bw-c.json --check "$@"
