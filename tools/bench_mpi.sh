#!/usr/bin/env bash
# Distributed training on one machine: 1 process x 2 threads against 2 MPI
# processes x 1 thread on gut100m (words, dim 100, window 5, negative 5, sample 1e-4,
# min-count 5, 1 epoch): wall, training tokens/s, analogy and WS-353 (eval_vectors.py on
# the exported word2vec text), bytes moved by the syncs.
# usage: tools/bench_mpi.sh [OUT_DIR]   (default /tmp/tokvec-bench-mpi)
#   env: TOKVEC_BENCH_INPUT (default /tmp/data/gut100m.txt)
#        TOKVEC_BENCH_EPOCHS (default 1)
#        TOKVEC_BENCH_MPI_RUNS: space-separated "label:--opt=value,--opt=value" runs for 2 processes,
#        default: the default sync, and the modes average and sum
set -euo pipefail
source "$(dirname "$0")/bench_common.sh"
out=${1:-/tmp/tokvec-bench-mpi}
input=${TOKVEC_BENCH_INPUT:-/tmp/data/gut100m.txt}
tokvec=$BENCH_REPO_DIR/${TOKVEC_BUILD_DIR:-build}/tokvec
mkdir -p "$out"
[[ -x $tokvec ]] || bench_die "$tokvec is missing: run tools/build.sh"
[[ -r $input ]] || bench_die "$input is missing"
command -v mpirun >/dev/null || bench_die "mpirun is missing (apt-get install openmpi-bin libopenmpi-dev)"
BENCH_PYTHON=$(bench_find_python) || bench_die "no python3 with gensim"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
epochs=${TOKVEC_BENCH_EPOCHS:-1}
[[ $epochs =~ ^[1-9][0-9]*$ ]] || bench_die "TOKVEC_BENCH_EPOCHS must be a positive whole number, got '$epochs'"
common=(--input "$input" --words --dim 100 --window 5 --negative 5 --sample 1e-4 --min-count 5 --epochs "$epochs"
        --checkpoint-every off --quiet)
runs=${TOKVEC_BENCH_MPI_RUNS:-"default: average:--sync-mode=average sum:--sync-mode=sum"}

printf '| run | processes x threads | wall s | train tokens/s | syncs (full) | MB sent per process | MB/s per process | analogy %% | WS-353 |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
one() {
  local label=$1 procs=$2; shift 2
  local dir=$out/$label
  rm -rf "$dir"
  if (( procs == 1 )); then
    bench_timed "$label" "$out" -- "$tokvec" train "${common[@]}" --threads 2 --output "$dir" "$@"
  else
    bench_timed "$label" "$out" -- mpirun --oversubscribe -np "$procs" "$tokvec" train "${common[@]}" --threads 1 --output "$dir" "$@"
  fi
  [[ $BENCH_RC == 0 ]] || bench_die "$label failed (exit $BENCH_RC), see $out/$label.log"
  local rate syncs mb mbs
  rate=$(sed -n 's/.*tokens in [0-9.]*s (\([0-9]*\) tokens\/s).*/\1/p' "$dir/train.log" | tail -1)
  syncs=$(sed -n 's/.*sync: \([0-9]*\) syncs (\([0-9]*\) full).*/\1 (\2)/p' "$dir/train.log" | tail -1)
  mb=$(sed -n 's/.*syncs.*, \([0-9.]*\) MB sent per rank (\([0-9.]*\) MB\/s).*/\1/p' "$dir/train.log" | tail -1)
  mbs=$(sed -n 's/.*syncs.*, \([0-9.]*\) MB sent per rank (\([0-9.]*\) MB\/s).*/\2/p' "$dir/train.log" | tail -1)
  "$tokvec" export "$dir" --format word2vec-text --output "$dir/vectors.txt" >/dev/null 2>&1 || bench_die "export $label"
  bench_eval "$dir/vectors.txt" "$out" "$label" || true
  rm -f "$dir/vectors.txt" "$dir/corpus.tkc"
  printf '| %s | %s x %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$procs" $(( procs == 1 ? 2 : 1 )) "$BENCH_WALL" \
    "${rate:--}" "${syncs:--}" "${mb:--}" "${mbs:--}" "${BENCH_ANALOGY:--}" "${BENCH_WS:--}"
}
one single 1
for run in $runs; do
  label=${run%%:*} opts=${run#*:}
  # shellcheck disable=SC2086
  one "mpi-$label" 2 ${opts//[=,]/ }
done
