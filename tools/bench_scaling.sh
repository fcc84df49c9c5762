#!/usr/bin/env bash
# 1 thread against 2 threads, interleaved, for tokvec and (when given) pWord2Vec: on a noisy
# shared machine only runs taken minutes apart in the same order can be compared.
# gut100m.txt, words, dim 100, window 5, negative 5, sample 1e-4, min-count 5, 1 epoch (the
# settings of bench_train.sh).
# usage: tools/bench_scaling.sh [--data DIR] [--rounds N] [--pword2vec PATH] [--out DIR]
#   --data DIR       folder with gut100m.txt (decompressed from $TOKVEC_SHARED_DIR/corpora if missing;
#                    default $TOKVEC_BENCH_DATA or /tmp/tokvec-bench)
#   --rounds N       rounds of (1 thread, 2 threads) per tool (default 3)
#   --pword2vec PATH pWord2Vec binary (default $PWORD2VEC; skipped when empty, see
#                    docs/benchmarks.md for the build)
#   --out DIR        logs (default a new folder under /tmp)
# Prints one table row per tool with every round's wall seconds, speed-ups and CPU ratios,
# and tokvec's training-only seconds (from train.log).
set -euo pipefail
source "$(dirname "$0")/bench_common.sh"

data=${TOKVEC_BENCH_DATA:-/tmp/tokvec-bench}
rounds=3
pword2vec=${PWORD2VEC:-}
out=
while (($#)); do
    case $1 in
        --data) data=${2:?--data needs a value}; shift 2 ;;
        --rounds) rounds=${2:?--rounds needs a value}; shift 2 ;;
        --pword2vec) pword2vec=${2:?--pword2vec needs a value}; shift 2 ;;
        --out) out=${2:?--out needs a value}; shift 2 ;;
        -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
        *) bench_die "unknown option $1 (see --help)" ;;
    esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || bench_die "--rounds must be a positive whole number, got '$rounds'"
tokvec=$BENCH_REPO_DIR/${TOKVEC_BUILD_DIR:-build}/tokvec
[[ -x $tokvec ]] || bench_die "$tokvec is missing: run tools/build.sh"
[[ -z $pword2vec || -x $pword2vec ]] || bench_die "pWord2Vec binary $pword2vec is not executable"
bench_prepare_corpus "$data" gut100m.txt
text=$data/gut100m.txt
out=${out:-$(mktemp -d /tmp/tokvec-scaling.XXXXXX)}
mkdir -p "$out"

# timed LABEL CMD...: bench_timed, or dies when CMD fails.
timed() {
    local label=$1
    shift
    bench_timed "$label" "$out" -- "$@"
    ((BENCH_RC == 0)) || bench_die "$label failed (exit $BENCH_RC), see $out/$label.log"
}

declare -A wall user train
tools=(tokvec)
[[ -n $pword2vec ]] && tools+=(pword2vec) || bench_log "pword2vec: skipped (pass --pword2vec PATH or set PWORD2VEC)"
for ((r = 1; r <= rounds; r++)); do
    for t in 1 2; do
        for tool in "${tools[@]}"; do
            label=$tool.t$t.r$r
            bench_log "$label (load $(cut -d' ' -f1 /proc/loadavg))"
            if [[ $tool == tokvec ]]; then
                timed "$label" "$tokvec" train --input "$text" --output "$out/run" --words --dim 100 --window 5 \
                    --negative 5 --sample 1e-4 --min-count 5 --epochs 1 --threads "$t" --force --quiet
                train[$t.$r]=$(sed -n 's/.*trained [0-9]* tokens in \([0-9.]*\)s.*/\1/p' "$out/run/train.log" | tail -1)
            else
                timed "$label" "$pword2vec" -train "$text" -output "$out/pword2vec.vec" -size 100 -window 5 -negative 5 \
                    -sample 1e-4 -min-count 5 -iter 1 -threads "$t" -debug 0
            fi
            wall[$tool.$t.$r]=$BENCH_WALL
            user[$tool.$t.$r]=$BENCH_USER
        done
    done
done

join() { local IFS=/; echo "$*"; }
printf '| | 1 thread, wall s | 2 threads, wall s | 2 threads / 1 thread, speed | user CPU, 2 threads / 1 thread |\n'
printf '| --- | --- | --- | --- | --- |\n'
for tool in "${tools[@]}"; do
    w1=() w2=() speed=() cpu=()
    for ((r = 1; r <= rounds; r++)); do
        w1+=("${wall[$tool.1.$r]}") w2+=("${wall[$tool.2.$r]}")
        speed+=("$(bench_ratio "${wall[$tool.1.$r]}" "${wall[$tool.2.$r]}")")
        cpu+=("$(bench_ratio "${user[$tool.2.$r]}" "${user[$tool.1.$r]}")")
    done
    printf '| %s | %s | %s | %s | %s |\n' "$tool" "$(join "${w1[@]}")" "$(join "${w2[@]}")" "$(join "${speed[@]}")" "$(join "${cpu[@]}")"
done
t1=() t2=() speed=()
for ((r = 1; r <= rounds; r++)); do
    t1+=("${train[1.$r]}") t2+=("${train[2.$r]}") speed+=("$(bench_ratio "${train[1.$r]}" "${train[2.$r]}")")
done
printf '| tokvec, training only | %s | %s | %s | |\n' "$(join "${t1[@]}")" "$(join "${t2[@]}")" "$(join "${speed[@]}")"
