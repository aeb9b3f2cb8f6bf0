#!/usr/bin/env bash
# Issue 12's check against reality: do this machine's calibrated costs, put back into the
# simulation, bring the simulated wakeup latency closer to what real threads show than zero
# costs do? Calibrates, replays each scenario on real pinned SCHED_FIFO threads, simulates it
# with zero costs and with the calibrated ones, and prints the latency of every fixed and
# realtime thread three ways (timeshare threads run under Linux's CFS in a replay, not xnu's
# timeshare, so their latencies are shown but not counted). Needs root (or CAP_SYS_NICE) for SCHED_FIFO; Linux only.
#   bench/replay_vs_sim.sh [BUILD_DIR] [DURATION]      (default: build, 2s)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${1:-build}
duration=${2:-2s}
xnusim="$build/sim/cli/xnusim"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$xnusim" calibrate --duration 5s -o "$work/this.calibration" >"$work/calibrate.txt"
grep -E 'context_switch|thread_wakeup|interrupt_entry|interrupt_exit' "$work/calibrate.txt" | head -8

for s in scenarios/basics/bench-10.json scenarios/realtime/audio.json; do
  "$xnusim" replay "$s" --duration "$duration" --json "$work/real.json" >/dev/null
  "$xnusim" run "$s" --duration "$duration" --set 'machine.costs={}' --json "$work/zero.json" -q
  "$xnusim" run "$s" --duration "$duration" --set 'machine.costs={}' \
    --set "machine.calibration=$work/this.calibration" --json "$work/calibrated.json" -q
  python3 - "$s" "$work" <<'PY'
import json, sys
name, work = sys.argv[1], sys.argv[2]
runs = {k: json.load(open(f"{work}/{k}.json")) for k in ("real", "zero", "calibrated")}
print(f"\n{name}: wakeup latency (runnable to running), us")
print(f"{'thread':<12}{'stat':>6}{'real':>10}{'zero':>10}{'calib':>10}")
err = {"zero": 0.0, "calibrated": 0.0}
for tid, t in runs["real"]["threads"].items():
    if tid not in runs["zero"]["threads"] or t["latency_ns"]["count"] == 0:
        continue
    counted = t["mode"] != "timeshare"
    for stat in ("p50", "p99", "max"):
        r = t["latency_ns"][stat] / 1e3
        z = runs["zero"]["threads"][tid]["latency_ns"][stat] / 1e3
        c = runs["calibrated"]["threads"][tid]["latency_ns"][stat] / 1e3
        if counted and stat == "p50":
            err["zero"] += abs(z - r)
            err["calibrated"] += abs(c - r)
        print(f"{tid:<12}{stat:>6}{r:>10.1f}{z:>10.1f}{c:>10.1f}{'' if counted else '  (timeshare: CFS)'}")
print(f"p50 |sim - real| summed over fixed and realtime threads: zero costs {err['zero']:.1f} us, "
      f"calibrated costs {err['calibrated']:.1f} us")
PY
done
