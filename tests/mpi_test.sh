#!/usr/bin/env bash
# Distributed training (issue 9) end to end, with mpirun --oversubscribe on this machine.
# usage: tests/mpi_test.sh TOKVEC MPIRUN CORPUS (train|checkpoint|killed)
#   train       -np 2 and -np 3 finish, every rank ends with the same model, the mean loss is
#               within noise of one process doing the same work, export and audit read it
#   checkpoint  SIGTERM to one rank pauses all at a collective checkpoint (exit 143); resuming
#               with another process count is refused naming both; -np 2 resumes it to the end
#   killed      SIGKILL to one rank ends the job non-zero; the last checkpoint loads and resumes
# Registered in CTest only when CMake found MPI (CMakeLists.txt).
set -euo pipefail
tokvec=$(realpath "$1") mpirun=$2 corpus=$(realpath "$3") part=$4
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait || true; rm -rf "$tmp"' EXIT
cd "$tmp"

fail() { echo "FAIL ($part): $*" >&2; exit 1; }
mpi() { local n=$1; shift; "$mpirun" --oversubscribe -np "$n" "$tokvec" "$@"; }
# The mean loss of the run's last "trained ..." line.
loss_of() { sed -n 's/.*mean loss \([0-9.]*\) over.*/\1/p' "$1/train.log" | tail -1; }
# "final model checksum by rank: a b c (all equal)" with `n` checksums, all the same.
check_same_model() {
  local line
  line=$(grep "final model checksum by rank:" "$1/train.log" | tail -1) || fail "$1: no checksum line"
  local sums
  read -r -a sums <<<"${line#*by rank: }"
  (( ${#sums[@]} == $2 + 2 )) || fail "$1: expected $2 checksums in: $line"
  for s in "${sums[@]:0:$2}"; do [[ $s == "${sums[0]}" ]] || fail "$1: ranks ended with different models: $line"; done
}
# The update counts in the state are the sums over all ranks (and, after a resume, over all
# rounds): every pair updates one input row and one output row as the positive target.
check_counts() {
  "$tokvec" audit "$1" --json "$1/audit.json" >/dev/null || fail "audit $1"
  local pairs
  pairs=$(sed -n 's/.* over \([0-9]*\) pairs.*/\1/p' "$1/train.log" | tail -1)
  python3 - "$1/audit.json" "$pairs" <<'EOF2' || fail "$1: update counts are not the sums over the ranks"
import json, sys
rows = json.load(open(sys.argv[1]))["rows"]
pairs = int(sys.argv[2])
ins = sum(r["input_updates"] for r in rows)
pos = sum(r["output_positive_updates"] for r in rows)
if ins != pairs or pos != pairs:
    sys.exit(f"input updates {ins}, positive updates {pos}, pairs trained {pairs}")
EOF2
}
check_finished() {
  "$tokvec" inspect "$1/state.tkv" | grep -q "(finished)" || fail "$1/state.tkv is not a finished state"
}
# The pid of the highest rank (mpirun starts the ranks as its children, in rank order).
last_rank_pid() { pgrep -P "$1" | sort -n | tail -1; }
wait_for_checkpoint() {
  for _ in $(seq 300); do
    compgen -G "$1/checkpoint-*.tkv" >/dev/null && return 0
    sleep 0.1
  done
  fail "no checkpoint appeared in $1"
}

words=(--input "$corpus" --words --min-count 5 --dim 50 --quiet)

case $part in
train)
  # Same total work: one process with 2 threads, 2 processes x 1 thread, 3 x 1.
  "$tokvec" train "${words[@]}" --epochs 3 --threads 2 --checkpoint-every off --output single
  mpi 2 train "${words[@]}" --epochs 3 --threads 1 --checkpoint-every off --sync-every 0.05 --output np2
  mpi 3 train "${words[@]}" --epochs 3 --threads 1 --checkpoint-every off --sync-every 0.05 --output np3
  # The default mode is adaptive (per-row sum or mean, from the deltas' agreement, one more
  # float per row); average, the other rule, must end with the same model on every rank too.
  grep -q "mode adaptive" np2/train.log || fail "np2: the log does not name the default adaptive mode"
  mpi 2 train "${words[@]}" --epochs 3 --threads 1 --checkpoint-every off --sync-every 0.05 --sync-mode average --output np2a
  check_finished np2a
  check_same_model np2a 2
  grep -q "mode average" np2a/train.log || fail "np2a: the log does not name the average mode"
  for n in 2 3; do
    check_finished np$n
    check_same_model np$n $n
    grep -q "distributed: $n processes" np$n/train.log || fail "np$n: not a $n-process run"
    grep -q '"processes": '$n np$n/config.json || fail "np$n: config.json lacks the process count"
  done
  # Quality: the training loss of the same work stays within 5% of the single process's.
  # (Measured on a loaded 2-core machine: one process 2.69; --sync-mode average 2 and 3
  # processes 2.72-2.78; sum degrades to 2.84-2.95 at 3 processes when syncs are rare.)
  single=$(loss_of single)
  for run in np2 np3 np2a; do
    l=$(loss_of $run)
    awk -v a="$l" -v b="$single" 'BEGIN { exit !(a < b * 1.05 && a > b * 0.95) }' ||
      fail "$run: mean loss $l is not within 5% of the single process's $single"
  done
  check_counts np2
  "$tokvec" export np2 --format word2vec-text --output np2/v.txt || fail "export np2"
  [[ $(head -1 np2/v.txt | cut -d' ' -f2) == 50 ]] || fail "np2 export: bad header $(head -1 np2/v.txt)"
  ;;
checkpoint)
  "$mpirun" --oversubscribe -np 2 "$tokvec" train "${words[@]}" --epochs 12 --threads 1 --checkpoint-every 100000 --sync-every 0.05 --output run \
    >out.txt 2>&1 &
  job=$!
  wait_for_checkpoint run
  kill -TERM "$(last_rank_pid $job)"  # rank 1: the pause must be agreed by all ranks
  rc=0
  wait $job || rc=$?
  [[ $rc == 143 ]] || { cat out.txt; fail "SIGTERM to rank 1: expected exit 143, got $rc"; }
  grep -q "Resume with: mpirun -np 2 tokvec train --resume run" out.txt || { cat out.txt; fail "no resume hint"; }
  "$tokvec" inspect "$(ls run/checkpoint-*.tkv | tail -1)" | grep -q "(in progress)" || fail "checkpoint not in progress"
  # Another process count is refused, naming both counts.
  rc=0
  mpi 3 train --resume run --quiet >err3.txt 2>&1 || rc=$?
  [[ $rc == 2 ]] || { cat err3.txt; fail "-np 3 resume of a 2-process job: expected exit 2, got $rc"; }
  grep -q "written by a job of 2 MPI processes, but this run has 3 MPI processes" err3.txt || { cat err3.txt; fail "np 3 message"; }
  rc=0
  "$tokvec" train --resume run --quiet >err1.txt 2>&1 || rc=$?
  [[ $rc == 2 ]] || { cat err1.txt; fail "single-process resume of a 2-process job: expected exit 2, got $rc"; }
  grep -q "written by a job of 2 MPI processes, but this run has a single process" err1.txt || { cat err1.txt; fail "np 1 message"; }
  [[ ! -e run/state.tkv ]] || fail "a refused resume wrote a state"
  mpi 2 train --resume run --quiet --sync-every 0.05
  check_finished run
  check_same_model run 2
  grep -q "resuming from checkpoint-" run/train.log || fail "did not resume from a checkpoint"
  check_counts run
  "$tokvec" export run --format word2vec-text --output run/v.txt || fail "export after resume"
  ;;
killed)
  "$mpirun" --oversubscribe -np 2 "$tokvec" train "${words[@]}" --epochs 12 --threads 1 --checkpoint-every 100000 --sync-every 0.05 --output run \
    >out.txt 2>&1 &
  job=$!
  wait_for_checkpoint run
  kill -KILL "$(last_rank_pid $job)"
  rc=0
  wait $job || rc=$?
  [[ $rc != 0 ]] || fail "a job with a killed rank exited 0"
  grep -q "exited on signal 9" out.txt || { cat out.txt; fail "mpirun did not say which rank died"; }
  [[ ! -e run/state.tkv ]] || fail "a killed job wrote a final state"
  newest=$(ls run/checkpoint-*.tkv | tail -1)
  "$tokvec" inspect "$newest" >/dev/null || fail "the last checkpoint $newest does not load"
  mpi 2 train --resume run --quiet --sync-every 0.05
  check_finished run
  check_same_model run 2
  ;;
*)
  fail "unknown part '$part'"
  ;;
esac
echo "mpi_test $part: ok"
