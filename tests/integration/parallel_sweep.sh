#!/bin/bash
# The GNU parallel integration test of `xnusim sweep --emit parallel`
# (tests/cli/sweep_cluster_test.cpp): runs the emitted command line (three shards on the local
# host ":", then the merge) and compares the merged folder with the same sweep run in one
# process, byte for byte. parallel's cache goes to a scratch PARALLEL_HOME, removed on exit.
# Usage: parallel_sweep.sh XNUSIM SCENARIO. Exit 0 pass, 77 skipped (the reason on stdout), else fail.
set -euo pipefail
XNUSIM=$1 SCENARIO=$2
command -v parallel >/dev/null || { echo "skipped: GNU parallel not found (apt-get install parallel)"; exit 77; }
T=$(mktemp -d /tmp/xnusim-parallel.XXXXXX)
trap 'rm -rf "$T"' EXIT
export PARALLEL_HOME="$T/parallel-home"
mkdir -p "$PARALLEL_HOME" "$T/work"
cd "$T/work"
cp "$SCENARIO" scenario.json
ARGS=(scenario.json --policies xnu,fixed --vary machine.cpus=1,2 --seeds 1..3 --metric system.context_switches)
"$XNUSIM" sweep "${ARGS[@]}" -j 2 -o local -q
"$XNUSIM" sweep "${ARGS[@]}" --emit parallel --shards 3 -o spread >run.sh
grep -q -- "-S :" run.sh || { echo "FAIL: no -S : in: $(cat run.sh)"; exit 1; }
bash run.sh || { echo "FAIL: the emitted command failed: $(cat run.sh)"; exit 1; }
for f in sweep.json points.jsonl points.csv summary.csv summary.html; do
  cmp "local/$f" "spread/$f" || { echo "FAIL: $f differs"; exit 1; }
done
echo "identical: $(wc -l <spread/points.csv) lines of points.csv from $(ls -d spread.shards/[0-9]* | wc -l) shards"
