#!/usr/bin/env bash
# Builds tokvec's libFuzzer targets (clang, ASan + UBSan) into build-fuzz/ and runs each of
# them, or the ones named, for a given time.
#
# usage: tools/fuzz.sh [-t SECONDS] [-w WORK_DIR] [--build-only] [TARGET...]
#   -t SECONDS    run time per target (libFuzzer -max_total_time; default 60)
#   -w WORK_DIR   scratch folder for the grown corpora, crash inputs and logs
#                 (default /tmp/tokvec-fuzz; never the repository)
#   --build-only  configure and build the targets, run nothing
#   TARGET        text bpe_train bpe_model corpus state wordlists vectors config resume (default: all)
#
# Each target starts from the seeds in tests/fuzz/TARGET/ (read only) with the dictionary
# tests/fuzz/*.dict that fits it; the inputs libFuzzer finds that add coverage go to
# WORK_DIR/corpus/TARGET/, so a later run continues from them. A crash, leak, timeout or
# out-of-memory input is written to WORK_DIR/artifacts/ and reported (an input slower than
# 30 s is kept there too, as a note); once fixed, add it under tests/fuzz/regressions/TARGET/
# (tests/fuzz_regression_test.cpp replays them).
# Prints each target's executions, exec/s, coverage (cov = edges, ft = features) and peak
# memory from libFuzzer's final stats. Exit status 1 if any target found something.
#
# The machine is shared: run it as `nice -n 19 tools/fuzz.sh ...`; targets run one at a time.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
seconds=60
work=/tmp/tokvec-fuzz
build_only=0
targets=()
all_targets=(text bpe_train bpe_model corpus state wordlists vectors config resume)

while (( $# > 0 )); do
  case "$1" in
    -t) seconds=$2; shift 2 ;;
    -w) work=$2; shift 2 ;;
    --build-only) build_only=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
(( ${#targets[@]} > 0 )) || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target '$t' (one of: ${all_targets[*]})" >&2; exit 2; }
done
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ]] || { echo "fuzz.sh: -t needs a positive number of seconds" >&2; exit 2; }
case "$(realpath -m "$work")/" in
  "$repo"/*) echo "fuzz.sh: the work folder must be outside the repository" >&2; exit 2 ;;
esac

# ---- Build -----------------------------------------------------------------------------------
cxx=${CXX:-}
if [[ -z "$cxx" || "$cxx" != *clang* ]]; then
  cxx=$(command -v clang++ || command -v clang++-14 || true)
  [[ -n "$cxx" ]] || { echo "fuzz.sh: clang++ not found (Debian: tools/install-deps.sh --with-fuzz)" >&2; exit 1; }
fi
build="$repo/build-fuzz"
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  CXX="$cxx" cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTOKVEC_FUZZ=ON -DTOKVEC_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$build" -j "$(nproc)" --target $(printf 'fuzz_%s ' "${targets[@]}") >/dev/null
echo "fuzz.sh: built ${targets[*]} in $build"
(( build_only )) && exit 0

dict_of() {
  case "$1" in
    text|bpe_train) echo text.dict ;;
    bpe_model) echo bpe_model.dict ;;
    corpus|state) echo sections.dict ;;
    wordlists) echo eval.dict ;;
    vectors) echo vectors.dict ;;
    config|resume) echo config.dict ;;
  esac
}

# ---- Run -------------------------------------------------------------------------------------
mkdir -p "$work/artifacts" "$work/logs"
found=0
summary=()
for t in "${targets[@]}"; do
  corpus="$work/corpus/$t"
  mkdir -p "$corpus"
  log="$work/logs/$t.log"
  echo "fuzz.sh: $t for ${seconds}s (log $log)"
  set +e
  # -timeout: an input slower than 60 s is reported as a hang (every input takes well under
  # a second; the margin is for a shared machine where a nice'd run can stall for seconds:
  # 10 s gave a false timeout under a load of 13 on 2 cores); -rss_limit_mb: 2 GiB is far
  # above what any tokvec loader needs for these small inputs.
  "$build/fuzz_$t" "$corpus" "$repo/tests/fuzz/$t" \
    -dict="$repo/tests/fuzz/$(dict_of "$t")" -max_total_time="$seconds" -timeout=60 -report_slow_units=30 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/$t-" >"$log" 2>&1
  rc=$?
  set -e
  grep -E '^#[0-9]+ +(INITED|pulse|NEW|REDUCE)' "$log" | grep -E 'INITED|pulse' | tail -3 || true
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1 ft \2/p' <<<"$last")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$last")
  status=ok
  if (( rc != 0 )) || grep -qE '^==[0-9]+==ERROR|^SUMMARY: |deadly signal' "$log"; then
    status="FOUND (rc $rc): $(grep -E 'Test unit written|^SUMMARY' "$log" | head -2 | tr '\n' ' ')"
    found=1
  elif grep -q 'slow-unit' "$log"; then
    # Not a failure: an input took over -report_slow_units seconds once (on a loaded machine,
    # usually the scheduler); replay it with build-fuzz/fuzz_TARGET FILE to see.
    status="ok (slow unit kept: $(grep -o "$work/artifacts/$t-slow-unit-[0-9a-f]*" "$log" | tail -1))"
  fi
  line=$(printf '%-10s %10s execs %6s exec/s  %-18s corpus %-10s rss %4s MB  %s' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${corp:-?}" "${rss:-?}" "$status")
  echo "  $line"
  summary+=("$line")
done

echo
echo "fuzz.sh: ${seconds}s per target; grown corpora in $work/corpus, crash inputs in $work/artifacts"
printf '  %s\n' "${summary[@]}"
exit "$found"
