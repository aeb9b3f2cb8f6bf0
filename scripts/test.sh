#!/usr/bin/env bash
# Installs, builds and runs every test stage; ends with ONE line "N passed, N failed" and exits
# non-zero on any failure. Stages, and what each adds to the count:
#   1. release suite     build/tests/xnusim-tests: one per Catch2 test case
#   2. sanitizers        the property and fuzz tests ("[property],[fuzz]", tests/xnusim-sanitize-tests) built with ASan + UBSan
#                        in build-asan: one per Catch2 test case
#   3. generated runs    scripts/gen-scenarios.py: one per generated scenario (each run twice,
#                        and every GEN_ASAN_EVERY'th also under the ASan binary)
#   4. fuzzed scenarios  scripts/fuzz-scenarios.py: one per mutant of a bundled scenario (exit
#                        0, 1, 2 or 4, never a crash, an internal error or a hang)
# Arguments are passed to the release suite's test binary (a Catch2 filter, e.g. "[cli]"); with
# arguments only that stage runs. Environment: BUILD_DIR (build), ASAN_BUILD_DIR (build-asan),
# GEN_SEEDS (1:3000), GEN_JOBS (2), GEN_TIMEOUT (10 s per run), GEN_ASAN_EVERY (25),
# FUZZ_RUNS (2000), SANITIZE_TIMEOUT (600 s for stage 2), SKIP_ASAN=1, SKIP_GEN=1 or SKIP_FUZZ=1
# to leave a stage out.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=${BUILD_DIR:-build}
ASAN_BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}
passed=0
failed=0
t_start=$(date +%s)
timings=()

# CPU seconds (user + system) of every finished child process so far, from bash's `times`.
# (`times` must run in this shell, not in a $(...) subshell, which has no children of its own.)
times_file=$(mktemp)
cpu_now() {  # sets $cpu
  times >"$times_file"
  cpu=$(tail -1 "$times_file" | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] } printf "%d", t }')
}
cpu_mark=0
stage_time() {  # name start: wall seconds since start, CPU seconds since the previous stage
  cpu_now
  timings+=("$1 $(( $(date +%s) - $2 )) s (cpu $((cpu - cpu_mark)) s)")
  cpu_mark=$cpu
}

# Adds P passed and F failed (a non-zero exit status S with nothing failed counts as one failure:
# a crash or a timeout).
add_counts() {  # P F S
  local p=$1 f=$2
  if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p))
  failed=$((failed + f))
}

# Adds the counts of a Catch2 2.x run (its log in $1, its exit status in $2).
count_catch2() {
  local log=$1 status=$2 line p=0 f=0
  # Catch2 2.x closes with "All tests passed (A assertions in N test cases)" or
  # "test cases: N | P passed | F failed".
  if line=$(grep -E '^All tests passed' "$log" | tail -1) && [ -n "$line" ]; then
    p=$(sed -E 's/.* in ([0-9]+) test cases?\)/\1/' <<<"$line")
  elif line=$(grep -E '^test cases:' "$log" | tail -1) && [ -n "$line" ]; then
    p=$(sed -nE 's/.*\| *([0-9]+) passed.*/\1/p' <<<"$line")
    f=$(sed -nE 's/.*\| *([0-9]+) failed.*/\1/p' <<<"$line")
    p=${p:-0}
    f=${f:-0}
  fi
  add_counts "$p" "$f" "$status"
}

finish() {
  cpu_now
  rm -f "$times_file"
  echo "== timings (wall, and CPU user+system of the processes run):"
  printf '   %s\n' "${timings[@]}"
  echo "   total $(( $(date +%s) - t_start )) s (cpu $cpu s)"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}

# -- 1. release build and suite ------------------------------------------------------------------
t=$(date +%s)
echo "== 1. release build ($BUILD_DIR) and suite"
if ! bash scripts/setup.sh; then
  failed=$((failed + 1))
  stage_time build "$t"
  finish
fi
stage_time release-build "$t"
t=$(date +%s)
log=$(mktemp)
"$BUILD_DIR/tests/xnusim-tests" --order decl "$@" 2>&1 | tee "$log"
count_catch2 "$log" "${PIPESTATUS[0]}"
rm -f "$log"
stage_time release-suite "$t"
[ $# -gt 0 ] && finish

# -- 2. property and fuzz tests under ASan + UBSan -----------------------------------------------
# -O1 -g1 (line tables for the stack traces): at -O2 -g the instrumented build costs about 1,300
# CPU seconds, most of the CI budget. GCC 12 reports false maybe-uninitialized warnings inside
# libstdc++'s std::function/std::regex under the sanitizers (tests/main.cpp), hence the -Wno.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
if [ "${SKIP_ASAN:-0}" != 1 ]; then
  t=$(date +%s)
  echo "== 2. property and fuzz tests under ASan + UBSan ($ASAN_BUILD_DIR)"
  if { [ -f "$ASAN_BUILD_DIR/build.ninja" ] ||
       meson setup "$ASAN_BUILD_DIR" --buildtype=plain -Doptimization=1 \
         -Dcpp_args="-g1 -Wno-maybe-uninitialized" \
         -Db_sanitize=address,undefined -Db_lundef=false >&2; } &&
     ninja -C "$ASAN_BUILD_DIR" tests/xnusim-sanitize-tests sim/cli/xnusim >&2; then
    stage_time asan-build "$t"
    t=$(date +%s)
    log=$(mktemp)
    timeout "${SANITIZE_TIMEOUT:-600}" "$ASAN_BUILD_DIR/tests/xnusim-sanitize-tests" --order decl \
      "[property],[fuzz]" 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    [ "$status" -eq 124 ] && echo "sanitizers: timed out after ${SANITIZE_TIMEOUT:-600} s"
    count_catch2 "$log" "$status"
    rm -f "$log"
    stage_time asan-tests "$t"
  else
    echo "sanitizers: the ASan build failed"
    failed=$((failed + 1))
    stage_time asan-build "$t"
  fi
fi

# -- 3. generated scenarios ------------------------------------------------------------------------
if [ "${SKIP_GEN:-0}" != 1 ]; then
  t=$(date +%s)
  echo "== 3. generated scenarios (scripts/gen-scenarios.py, seeds ${GEN_SEEDS:-1:3000})"
  asan=()
  if [ "${SKIP_ASAN:-0}" != 1 ] && [ -x "$ASAN_BUILD_DIR/sim/cli/xnusim" ]; then
    asan=(--asan-binary "$ASAN_BUILD_DIR/sim/cli/xnusim" --asan-every "${GEN_ASAN_EVERY:-25}")
  fi
  log=$(mktemp)
  python3 scripts/gen-scenarios.py run --seeds "${GEN_SEEDS:-1:3000}" --jobs "${GEN_JOBS:-2}" \
    --timeout "${GEN_TIMEOUT:-10}" --binary "$BUILD_DIR/sim/cli/xnusim" "${asan[@]}" \
    --keep "${GEN_KEEP:-$BUILD_DIR/gen-failures}" --coverage 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  # its last line: "gen-scenarios: P of N scenarios passed (F failed)"
  if line=$(grep -E '^gen-scenarios: [0-9]+ of [0-9]+ scenarios passed' "$log" | tail -1) && [ -n "$line" ]; then
    p=$(sed -E 's/^gen-scenarios: ([0-9]+) of.*/\1/' <<<"$line")
    f=$(sed -E 's/.*\(([0-9]+) failed\)/\1/' <<<"$line")
  else
    p=0
    f=1
  fi
  add_counts "$p" "$f" "$status"
  rm -f "$log"
  stage_time generated "$t"
fi

# -- 4. fuzzed scenarios ---------------------------------------------------------------------------
if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  t=$(date +%s)
  echo "== 4. fuzzed scenarios (scripts/fuzz-scenarios.py, ${FUZZ_RUNS:-2000} mutants)"
  log=$(mktemp)
  python3 scripts/fuzz-scenarios.py --seed 1 --runs "${FUZZ_RUNS:-2000}" --binary "$BUILD_DIR/sim/cli/xnusim" \
    --out "$BUILD_DIR/fuzz-failures" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  # its last line: "N runs, exit statuses {...}, F failures"
  if line=$(grep -E '^[0-9]+ runs, exit statuses .*, [0-9]+ failures$' "$log" | tail -1) && [ -n "$line" ]; then
    n=$(sed -E 's/^([0-9]+) runs.*/\1/' <<<"$line")
    f=$(sed -E 's/.*, ([0-9]+) failures$/\1/' <<<"$line")
    p=$((n - f))
  else
    p=0
    f=1
  fi
  add_counts "$p" "$f" "$status"
  rm -f "$log"
  stage_time fuzzed "$t"
fi

finish
