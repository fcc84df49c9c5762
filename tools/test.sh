#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (what .ci/run calls):
#   1. the Release build (build/ or $TOKVEC_BUILD_DIR) and its suite, then
#      tools/check_install.sh: the installed package builds and runs docs/examples;
#   2. the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer
#      (-DTOKVEC_SANITIZE=ON, into build-asan/ or $TOKVEC_ASAN_BUILD_DIR). It fails on any
#      sanitizer report, also one from a tokvec process that a test runs and expects to
#      fail: every report goes to a log file (log_path), and any such file fails the run.
# usage: tools/test.sh [--no-sanitizers]   (or TOKVEC_TEST_SANITIZERS=0): step 1 only, for a
#        quick local check. CI always runs both.
set -euo pipefail
cd "$(dirname "$0")/.."

sanitizers=${TOKVEC_TEST_SANITIZERS:-1}
for arg in "$@"; do
  case "$arg" in
    --no-sanitizers) sanitizers=0 ;;
    *) echo "usage: tools/test.sh [--no-sanitizers]" >&2; exit 2 ;;
  esac
done

tools/install-deps.sh --with-test-tools
tools/build.sh
(cd "${TOKVEC_BUILD_DIR:-build}" && ctest --output-on-failure -j"$(nproc)")
tools/check_install.sh

[[ "$sanitizers" == 1 ]] || exit 0

echo "test.sh: the suite again under AddressSanitizer + UBSan"
asan_dir=${TOKVEC_ASAN_BUILD_DIR:-build-asan}
# MPI stays out of this build: Open MPI's own allocations at exit would be reported as
# leaks, and the MPI tests (3 mpiruns) already run in step 1.
TOKVEC_BUILD_DIR="$asan_dir" tools/build.sh -DTOKVEC_SANITIZE=ON -DTOKVEC_MPI=OFF
reports=$(mktemp -d "${TMPDIR:-/tmp}/tokvec-sanitizer-XXXXXX")
trap 'rm -rf "$reports"' EXIT
# halt_on_error / -fno-sanitize-recover: the first report ends the process (non-zero exit).
# detect_leaks: LeakSanitizer at exit. log_path: reports from every process, the CLI runs
# inside the tests included, land in $reports (name.PID), whatever the test expected of them.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:log_path=$reports/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan"
status=0
(cd "$asan_dir" && ctest --output-on-failure -j"$(nproc)") || status=$?
if compgen -G "$reports/*" >/dev/null; then
  for f in "$reports"/*; do
    echo "=== sanitizer report $(basename "$f") ==="
    cat "$f"
  done
  echo "test.sh: FAILED: the sanitizers reported errors (above)" >&2
  exit 1
fi
if (( status != 0 )); then
  echo "test.sh: FAILED: the test suite failed under the sanitizers" >&2
  exit "$status"
fi
echo "test.sh: the suite passed under AddressSanitizer + UBSan, no report"
