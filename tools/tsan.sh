#!/usr/bin/env bash
# ThreadSanitizer on small multithreaded runs: builds tokvec with clang++ and
# -fsanitize=thread into build-tsan/ (or $TOKVEC_TSAN_BUILD_DIR) and runs
#   1. skip-gram training, words mode, 4 threads (HogBatch) and 2 threads (pair kernel);
#   2. BPE training + encoding (oneTBB) and a BPE-mode skip-gram run, 3 threads;
#   3. training with a checkpoint every 5,000 tokens (pause -> save -> resume, many times);
#   4. a run stopped by SIGINT (checkpoint, exit 130), resumed, stopped, resumed to the end;
#   5. eval (OpenMP), export and neighbors (oneTBB) on the results.
# It fails on any ThreadSanitizer report (or any step's failure). The only races allowed are
# the intended Hogwild weight updates, named in tools/tsan.supp.
#
# Why clang: GCC's libgomp is not instrumented, so TSan does not see OpenMP's fork, join and
# barriers and reports the data handed across them as races (false reports). clang's libomp
# announces them through the OMPT tool libarcher (LLVM's Archer), loaded below through
# OMP_TOOL_LIBRARIES; TSan then sees OpenMP's happens-before edges.
#
# Why a oneTBB of our own: Debian's libtbb is not instrumented either, so TSan misses the
# hand-offs inside its task scheduler (a block read by a pipeline worker, then the caller's
# stack reused after parallel_pipeline returns, is reported as a race; TBB_USE_THREADING_TOOLS
# only emits Intel ITT events, which TSan ignores). The script builds oneTBB v2021.8.0 (the
# version Debian 12 ships) with -fsanitize=thread from $TOKVEC_ONETBB_SRC, or from a shallow
# clone of github.com/oneapi-src/oneTBB, once, into the build folder (about 35 s of CPU).
#
# usage: tools/tsan.sh [SLICE_BYTES]   (default 200000 bytes of corpora/gutenberg-3m.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
slice_bytes=${1:-200000}
build_dir=${TOKVEC_TSAN_BUILD_DIR:-build-tsan}
archer=${TOKVEC_ARCHER:-/usr/lib/llvm-14/lib/libarcher.so}

missing=()
command -v clang++ >/dev/null || missing+=(clang)
[[ -f "$archer" ]] || missing+=(libomp-14-dev)
if (( ${#missing[@]} > 0 )); then
  echo "tsan.sh: needs ${missing[*]} (apt-get install -y clang libomp-14-dev)" >&2
  exit 2
fi

tbb_install=$root/$build_dir/onetbb-install
if [[ ! -f "$tbb_install/lib/cmake/TBB/TBBConfig.cmake" ]]; then
  tbb_src=${TOKVEC_ONETBB_SRC:-$root/$build_dir/onetbb-src}
  if [[ ! -f "$tbb_src/CMakeLists.txt" ]]; then
    git clone --quiet --depth 1 --branch v2021.8.0 https://github.com/oneapi-src/oneTBB.git "$tbb_src"
  fi
  CC=clang CXX=clang++ cmake -S "$tbb_src" -B "$build_dir/onetbb" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTBB_SANITIZE=thread \
    -DTBB_TEST=OFF -DTBB_EXAMPLES=OFF -DTBBMALLOC_BUILD=OFF -DTBB_STRICT=OFF -DCMAKE_INSTALL_PREFIX="$tbb_install" >/dev/null
  cmake --build "$build_dir/onetbb" -j"$(nproc)" >/dev/null
  cmake --install "$build_dir/onetbb" >/dev/null
fi

CXX=clang++ cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTOKVEC_TSAN=ON -DTOKVEC_BUILD_TESTS=OFF \
  -DTBB_DIR="$tbb_install/lib/cmake/TBB" >/dev/null
cmake --build "$build_dir" -j"$(nproc)" --target tokvec
tokvec=$root/$build_dir/tokvec
if ! ldd "$tokvec" | grep "$tbb_install" >/dev/null; then
  echo "tsan.sh: $tokvec is not linked with the instrumented oneTBB in $tbb_install" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/tokvec-tsan-XXXXXX")
mkdir "$work/reports"
# On any exit (a step that failed or exited 66 included) the reports are printed first.
finish() {
  local status=$?
  if compgen -G "$work/reports/*" >/dev/null; then
    for f in "$work"/reports/*; do echo "=== $(basename "$f") ==="; cat "$f"; done
    echo "tsan.sh: FAILED: ThreadSanitizer reported races (above)" >&2
    status=1
  elif (( status != 0 )); then
    echo "tsan.sh: FAILED (exit $status)" >&2
  else
    echo; echo "tsan.sh: no ThreadSanitizer report"
  fi
  rm -rf "$work"
  exit "$status"
}
trap finish EXIT
# halt_on_error=0: see every report of a run, not only the first; exitcode: a run with a
# report exits 66, which set -e turns into a failure; log_path: the reports are also kept
# as files, so none is missed in a run whose status a step expects to be non-zero.
# ignore_noninstrumented_modules: libomp itself is not instrumented (Archer reports its
# synchronisation instead); its internal accesses are not tokvec's and would be false reports.
export TSAN_OPTIONS="ignore_noninstrumented_modules=1:suppressions=$root/tools/tsan.supp:halt_on_error=0:exitcode=66:second_deadlock_stack=1:history_size=4:log_path=$work/reports/tsan"
export OMP_TOOL_LIBRARIES=$archer
export ARCHER_OPTIONS="verbose=1"   # prints "Archer detected OpenMP application with TSan"
head -c "$slice_bytes" corpora/gutenberg-3m.txt > "$work/slice.txt"
cd "$work"

step() { echo; echo "tsan.sh: $*"; }
fast="--dim 16 --window 3 --negative 3 --min-count 2 --seed 3"

# Waits (up to a minute) for a file matching $1, then sends SIGINT to $2 after $3 seconds
# and checks that it exits 130 (stopped with a checkpoint), or $4 if given (a run that may
# have finished first).
interrupt_when() {
  local pattern=$1 pid=$2 delay=$3 also=${4:-130} rc=0
  for _ in $(seq 1 600); do
    compgen -G "$pattern" >/dev/null && break
    sleep 0.1
  done
  sleep "$delay"
  kill -INT "$pid"
  wait "$pid" || rc=$?
  cat interrupted.log
  if (( rc == 130 )) && ! grep -q "stopped by SIGINT; progress saved" interrupted.log; then
    echo "tsan.sh: the signal came before training and killed the run; no pause was tested" >&2
    exit 1
  fi
  if (( rc != 130 && rc != also )); then echo "tsan.sh: the interrupted run exited $rc, not 130" >&2; exit 1; fi
}

step "1. words, 4 threads (HogBatch kernel), then 2 threads (pair kernel)"
"$tokvec" train --input slice.txt --output words --words --threads 4 $fast --checkpoint-every off
"$tokvec" train --input slice.txt --output pair --words --threads 2 --kernel pair $fast --checkpoint-every off --quiet

step "2. BPE: train the tokenizer and encode with 3 threads (oneTBB), then a BPE-mode run"
"$tokvec" bpe-train --input slice.txt --output m.bpe --vocab-size 1500 --threads 3
"$tokvec" encode --model m.bpe --input slice.txt --output c.tkc --threads 3
"$tokvec" decode --model m.bpe --input c.tkc --output back.txt
"$tokvec" train --input slice.txt --output bpe --bpe-vocab-size 1000 --threads 3 $fast --checkpoint-every off --quiet

step "3. a checkpoint every 5,000 tokens: each one a pause, a save and a resume of the threads"
"$tokvec" train --input slice.txt --output ckpt --words --threads 4 $fast --checkpoint-every 5000 --keep 2
ls ckpt

step "4. SIGINT during training (checkpoint, exit 130), --resume, SIGINT again, --resume to the end"
"$tokvec" train --input slice.txt --output sig --words --threads 4 --epochs 3 $fast --checkpoint-every off --quiet 2>interrupted.log &
interrupt_when "sig/corpus.tkc" $! 2
"$tokvec" train --resume sig --checkpoint-every off --quiet 2>interrupted.log &
interrupt_when "sig/config.json" $! 2 0
"$tokvec" train --resume sig --checkpoint-every 10000
"$tokvec" inspect sig/state.tkv | head -4

step "5. eval (OpenMP) and export, neighbors (oneTBB) on the results"
printf ': capital\nthe of and a\nthe a of and\n' > q.txt
printf 'the\tof\t5\nand\ta\t3\nthe\tand\t4\n' > p.tsv
"$tokvec" eval words --analogies q.txt --pairs p.tsv
"$tokvec" export bpe --corpus-words --output words.vec
"$tokvec" neighbors bpe the sea -k 3

