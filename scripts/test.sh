#!/usr/bin/env bash
# Installs, builds and runs the whole test suite; ends with "N passed, N failed" and exits
# non-zero on any failure.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

log=$(mktemp)
"${BUILD_DIR:-build}/tests/xnusim-tests" --order decl "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Catch2 2.x closes with "All tests passed (A assertions in N test cases)" or
# "test cases: N | P passed | F failed".
passed=0
failed=0
if line=$(grep -E '^All tests passed' "$log" | tail -1) && [ -n "$line" ]; then
  passed=$(sed -E 's/.* in ([0-9]+) test cases?\)/\1/' <<<"$line")
elif line=$(grep -E '^test cases:' "$log" | tail -1) && [ -n "$line" ]; then
  passed=$(sed -nE 's/.*\| *([0-9]+) passed.*/\1/p' <<<"$line")
  failed=$(sed -nE 's/.*\| *([0-9]+) failed.*/\1/p' <<<"$line")
  passed=${passed:-0}
  failed=${failed:-0}
fi
rm -f "$log"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
