#!/usr/bin/env bash
# Distributed training end to end, with mpirun --oversubscribe on this machine.
# usage: tests/mpi_test.sh TOKVEC MPIRUN CORPUS (train|checkpoint|killed|golden|subwords)
#   train       -np 2 and -np 3 finish, every rank ends with the same model, its loss on
#               held-out text is within 6% of one process doing the same work (and ranks that
#               never sync are clearly worse), export and audit read it
#   checkpoint  SIGTERM to one rank pauses all at a collective checkpoint (exit 143); resuming
#               with another process count is refused naming both; -np 2 resumes it to the end
#   killed      SIGKILL to one rank ends the job non-zero; the last checkpoint loads and resumes;
#               a failed checkpoint write on rank 0 ends the job with its message and exit code
#   golden      2 ranks x 1 thread, scalar kernels, no sync before the end (the one setting
#               where a job is deterministic): the vectors are byte-identical to pinned
#               hashes for every sync mode (a refactor must not change what a job computes)
#   subwords    a --subwords job pauses at a collective checkpoint and resumes to the end,
#               every rank with the same model; counts summed; composed words exported
# Registered in CTest only when CMake found MPI (CMakeLists.txt).
set -euo pipefail
tokvec=$(realpath "$1") mpirun=$2 corpus=$(realpath "$3") part=$4
tests_dir=$(cd "$(dirname "$0")" && pwd)
# A Python with NumPy for model_loss.py (Debian's python3-numpy is in /usr/bin/python3, which
# may not be the first python3 on PATH); installed with Open MPI by install-deps.sh
# --with-test-tools.
numpy_python=
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import numpy' 2>/dev/null; then numpy_python=$p; break; fi
done
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait || true; rm -rf "$tmp"' EXIT
cd "$tmp"

fail() { echo "FAIL ($part): $*" >&2; exit 1; }
mpi() { local n=$1; shift; "$mpirun" --oversubscribe -np "$n" "$tokvec" "$@"; }
# The SGNS loss of run $1's final model on held.txt (tests/model_loss.py).
model_loss() {
  "$tokvec" export "$1" --format npy --output "$1.in.npy" >/dev/null || fail "export $1"
  "$tokvec" export "$1" --format npy --matrix output --output "$1.out.npy" >/dev/null || fail "export $1 --matrix output"
  [[ -n $numpy_python ]] || fail "no python3 with NumPy (tools/install-deps.sh --with-test-tools installs python3-numpy)"
  "$numpy_python" "$tests_dir/model_loss.py" "$1" held.txt || fail "model_loss.py $1"
}
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
# sessions): every pair updates one input row and one output row as the positive target.
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
  # Same total work: one process with 2 threads, 2 processes x 1 thread, 3 x 1. The last
  # 1,024 lines of the corpus are held out to score the final models (model_loss.py).
  head -n -1024 "$corpus" >train.txt
  tail -n 1024 "$corpus" >held.txt
  fit=(--input train.txt --words --min-count 5 --dim 50 --quiet --epochs 15 --checkpoint-every off)
  # --sync-tokens bounds the staleness, so that the quality does not depend on how the
  # machine schedules the ranks' comm threads (by time alone, 3 ranks on 2 cores got 5-17
  # syncs per run here, and a held-out loss from 2.98 to 3.22).
  T=50000
  "$tokvec" train "${fit[@]}" --threads 2 --output single
  mpi 2 train "${fit[@]}" --threads 1 --sync-every 0.05 --sync-tokens $T --output np2
  mpi 3 train "${fit[@]}" --threads 1 --sync-every 0.05 --sync-tokens $T --output np3
  # Average, the other rule than the default adaptive, must end with the same model on every
  # rank too.
  mpi 2 train "${fit[@]}" --threads 1 --sync-every 0.05 --sync-tokens $T --sync-mode average --output np2a
  # The control: ranks that never sync (only the final combination). Its model must score
  # clearly worse, which shows the quality check below can fail.
  mpi 2 train "${fit[@]}" --threads 1 --sync-every 3600 --output nosync
  check_finished np2a
  check_same_model np2a 2
  for n in 2 3; do
    check_finished np$n
    check_same_model np$n $n
    grep -q '"processes": '$n np$n/config.json || fail "np$n: config.json lacks the process count"
    # Bounded staleness: no rank trains 2T tokens without a sync, so a rank's share of the
    # job's tokens, divided by 2T, bounds the sync count from below.
    tokens=$(sed -n 's/.*trained \([0-9]*\) tokens in.*/\1/p' np$n/train.log | tail -1)
    syncs=$(sed -n 's/.*sync: \([0-9]*\) syncs.*/\1/p' np$n/train.log | tail -1)
    (( syncs >= tokens / n / (2 * T) - 1 )) ||
      fail "np$n: $syncs syncs for $tokens tokens: some rank trained more than 2 x $T tokens between syncs"
  done
  # Quality: the SGNS loss of the final model on the held-out lines stays within 6% of the
  # single process's. (The training log's mean loss cannot tell: each rank measures it on its
  # own replica, so it is the same whether the ranks sync or not.) Measured on this 2-core
  # machine, idle and with two busy loops beside it: one process 2.98-3.01; 2 and 3
  # processes with --sync-tokens 50000, 2.96-3.01 (21-49 syncs), once 3.10 with 3 processes
  # beside the rest of the suite on a loaded machine; never syncing 3.75-3.88. The 6% bound
  # (3.16 for 2.98) keeps well apart from never syncing.
  single=$(model_loss single)
  for run in np2 np3 np2a; do
    l=$(model_loss $run)
    echo "held-out loss: $run $l (single process $single; $(grep -o 'sync: [0-9]* syncs' $run/train.log))"
    awk -v a="$l" -v b="$single" 'BEGIN { exit !(a < b * 1.06) }' ||
      fail "$run: held-out loss $l is not within 6% of the single process's $single ($(grep -o 'sync: [0-9]* syncs' $run/train.log))"
  done
  l=$(model_loss nosync)
  echo "held-out loss: nosync $l (single process $single)"
  awk -v a="$l" -v b="$single" 'BEGIN { exit !(a > b * 1.10) }' ||
    fail "ranks that never sync scored $l, not clearly worse than the single process's $single: the check cannot tell"
  check_counts np2
  "$tokvec" export np2 --format word2vec-text --output np2/v.txt || fail "export np2"
  [[ $(head -1 np2/v.txt | cut -d' ' -f2) == 50 ]] || fail "np2 export: bad header $(head -1 np2/v.txt)"
  ;;
checkpoint)
  # A small --sync-tokens makes the workers wait for syncs often, so the pause must also
  # release workers that are waiting.
  "$mpirun" --oversubscribe -np 2 "$tokvec" train "${words[@]}" --epochs 12 --threads 1 --checkpoint-every 100000 --sync-every 0.05 \
    --sync-tokens 5000 --output run \
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
  # An error inside a rank (here rank 0's first checkpoint write fails, as on a full disk)
  # is printed by that rank with its exit code, ends the whole job with that code, and
  # leaves no half-written checkpoint.
  rc=0
  TOKVEC_TEST_FAIL_CHECKPOINT_AFTER_BYTES=1000 "$mpirun" --oversubscribe -np 2 "$tokvec" train "${words[@]}" --epochs 12 \
    --threads 1 --checkpoint-every 100000 --sync-every 0.02 --output full >out-full.txt 2>&1 || rc=$?
  [[ $rc == 4 ]] || { cat out-full.txt; fail "failed checkpoint write: expected exit 4 (an I/O error), got $rc"; }
  grep -q "tokvec train: error on rank 0 of 2: .*checkpoint-000001.tkv: write failed: No space left on device; ending the whole job" \
    out-full.txt || { cat out-full.txt; fail "failed checkpoint write: no error line naming the rank and the file"; }
  ! compgen -G "full/checkpoint-*" >/dev/null || fail "a failed checkpoint write left $(ls full/checkpoint-*)"
  [[ ! -e full/state.tkv ]] || fail "a job ended by an error wrote a final state"
  ;;
golden)
  # Pinned from the code before the session drove the job; the first 6,000 lines of the corpus.
  head -n 6000 "$corpus" >small.txt
  declare -A want=([adaptive]=181141a152e5722889ecffea7b442145 [average]=4919e7efe7ce7875fa96585ebd00aa5d
                   [sum]=b68638e073fc8c6faa2734a6785f13e7 [hybrid]=99c564f3d84360b2489586db97c84652)
  for mode in adaptive average sum hybrid; do
    TOKVEC_SIMD=scalar mpi 2 train --input small.txt --words --min-count 2 --dim 16 --epochs 2 --threads 1 --checkpoint-every off \
      --quiet --sync-every 3600 --sync-mode $mode --sync-rows 100 --output g-$mode
    check_finished g-$mode
    "$tokvec" export g-$mode --format word2vec-text --output g-$mode/in.txt >/dev/null || fail "export g-$mode"
    "$tokvec" export g-$mode --format word2vec-text --matrix output --output g-$mode/out.txt >/dev/null || fail "export g-$mode"
    got=$(cat g-$mode/in.txt g-$mode/out.txt | md5sum | cut -d' ' -f1)
    [[ $got == "${want[$mode]}" ]] || fail "--sync-mode $mode: the vectors changed (md5 $got, pinned ${want[$mode]})"
  done
  check_counts g-sum
  ;;
subwords)
  # A subword run (rows: the words', then the pieces') trains under 2 processes as the other
  # modes do: paused by SIGTERM to rank 1 at a collective checkpoint, resumed to the end, the
  # same model on both ranks, one positive update per pair, composed word vectors exported.
  sw=(--input "$corpus" --subwords --bpe-vocab-size 2000 --min-count 5 --dim 32 --quiet)
  "$mpirun" --oversubscribe -np 2 "$tokvec" train "${sw[@]}" --epochs 4 --threads 1 --checkpoint-every 100000 --sync-every 0.05 \
    --output run >out.txt 2>&1 &
  job=$!
  wait_for_checkpoint run
  kill -TERM "$(last_rank_pid $job)"
  rc=0
  wait $job || rc=$?
  [[ $rc == 143 ]] || { cat out.txt; fail "SIGTERM to rank 1 of a subword job: expected exit 143, got $rc"; }
  "$tokvec" inspect "$(ls run/checkpoint-*.tkv | tail -1)" | grep -q "(in progress)" || fail "checkpoint not in progress"
  mpi 2 train --resume run --quiet --sync-every 0.05
  check_finished run
  check_same_model run 2
  grep -q "resuming from checkpoint-" run/train.log || fail "did not resume from a checkpoint"
  grep -q '"mode": "subwords"' run/config.json || fail "config.json does not record the subword mode"
  "$tokvec" audit run --json run/audit.json >/dev/null || fail "audit run"
  pairs=$(sed -n 's/.* over \([0-9]*\) pairs.*/\1/p' run/train.log | tail -1)
  python3 - run/audit.json "$pairs" <<'EOF2' || fail "subword job: the update counts are not the sums over the ranks"
import json, sys
rows = json.load(open(sys.argv[1]))["rows"]
pairs = int(sys.argv[2])
pos = sum(r["output_positive_updates"] for r in rows)
ins = sum(r["input_updates"] for r in rows)
# Each pair updates one output row as the positive target and every row of its input's composition.
if pos != pairs or ins < 2 * pairs:
    sys.exit(f"positive updates {pos}, input updates {ins}, pairs trained {pairs}")
EOF2
  printf 'the\nwhale\nzqxjkvw\n' >words.txt
  "$tokvec" export run --words words.txt --output run/w.txt >/dev/null || fail "export --words"
  [[ $(head -1 run/w.txt) == "3 32" ]] || fail "export --words of the subword job: header $(head -1 run/w.txt)"
  # The composition travels to the other ranks with the rows (and the piece damping with the
  # words' counts): a composition other than the default trains there as well.
  mpi 2 train "${sw[@]}" --subword-compose own-plus-scaled --subword-piece-damping 100 --epochs 1 --threads 1 \
    --output run-scaled >out.txt 2>&1 || { cat out.txt; fail "a 2-process own-plus-scaled subword job"; }
  check_finished run-scaled
  check_same_model run-scaled 2
  grep -q '"subword_compose": "own-plus-scaled"' run-scaled/config.json || fail "config.json does not record own-plus-scaled"
  grep -q '"subword_piece_damping_count": 100' run-scaled/config.json || fail "config.json does not record the piece damping"
  # Per-piece outputs travel to the other ranks with the composition.
  mpi 2 train "${sw[@]}" --subword-outputs pieces --epochs 1 --threads 1 --output run-pieces >out.txt 2>&1 ||
    { cat out.txt; fail "a 2-process subword job with per-piece outputs"; }
  check_finished run-pieces
  check_same_model run-pieces 2
  grep -q '"subword_outputs": "pieces"' run-pieces/config.json || fail "config.json does not record per-piece outputs"
  ;;
*)
  fail "unknown part '$part'"
  ;;
esac
echo "mpi_test $part: ok"
