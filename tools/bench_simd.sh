#!/usr/bin/env bash
# Training speed of each SIMD path (TOKVEC_SIMD) on one machine, in interleaved rounds: every
# round runs every path once, in an order that rotates, so that a busy moment of a shared
# machine falls on all paths alike. Usage: tools/bench_simd.sh --help
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: tools/bench_simd.sh [options]

  --tokvec PATH   tokvec binary (default $TOKVEC, else build/tokvec)
  --input FILE    text to train on (default corpora/gutenberg-3m.txt)
  --bytes N       first N bytes of it (default: all)
  --threads N     training threads (default 1)
  --rounds N      rounds (default 5)
  --paths LIST    comma-separated paths (default: every path `tokvec --version` lists as
                  runnable, e.g. avx2,scalar)
  --out DIR       output folder (default out/bench-simd-YYYYmmdd-HHMMSS)
  -h, --help      this text

The corpus is built once (`train --words`); each run is then `TOKVEC_SIMD=PATH tokvec train
--corpus` with dim 100, window 5, negative 5, sample 1e-4, 1 epoch, no checkpoints, and its
training time and tokens/s are read from train.log. Prints a Markdown table: the median
tokens/s of each path and its ratio to the first path, with the per-round ratios.
USAGE
}

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/bench_common.sh
source "$REPO/tools/bench_common.sh"
BENCH_NAME=bench_simd
TOKVEC_BIN=${TOKVEC:-$REPO/build/tokvec}
INPUT=$REPO/corpora/gutenberg-3m.txt
BYTES=''
THREADS=1
ROUNDS=5
PATHS=''
OUT=''
while (($#)); do
    if bench_common_option "$@"; then shift 2; continue; fi
    case $1 in
        --rounds) ROUNDS=${2:?--rounds needs a value}; shift 2 ;;
        --paths) PATHS=${2:?--paths needs a value}; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; printf 'bench_simd: error: unknown argument: %s\n' "$1" >&2; exit 2 ;;
    esac
done
die() { bench_die "$@"; }
bench_need_tokvec_and_input "$TOKVEC_BIN" "$INPUT"
[[ -z $BYTES ]] || bench_need_positive_int --bytes "$BYTES"
bench_need_positive_int --threads "$THREADS"
bench_need_positive_int --rounds "$ROUNDS"
if [[ -z $PATHS ]]; then
    PATHS=$(env -u TOKVEC_SIMD "$TOKVEC_BIN" --version | sed -n 's/.*runnable: \([^;)]*\).*/\1/p' | tr ' ' ',')
fi
IFS=, read -r -a paths <<<"$PATHS"
((${#paths[@]} > 0)) || die "no SIMD path to run"
OUT=$(bench_make_out "${OUT:-out/bench-simd-$(date -u +%Y%m%d-%H%M%S)}")
bench_prepare_word_corpus "$TOKVEC_BIN" "$INPUT" "$BYTES" "$OUT"

results=$OUT/runs.tsv
printf 'round\tpath\ttrain_s\ttokens_per_s\n' >"$results"
order=("${paths[@]}")
for ((r = 1; r <= ROUNDS; r++)); do
    for p in "${order[@]}"; do
        TOKVEC_SIMD=$p "$TOKVEC_BIN" train --corpus "$OUT/prep/corpus.tkc" --output "$OUT/run-$p" --threads "$THREADS" \
            --dim 100 --window 5 --negative 5 --sample 1e-4 --epochs 1 --checkpoint-every off --quiet --force \
            >"$OUT/run-$p.log" 2>&1 || die "TOKVEC_SIMD=$p: training failed, see $OUT/run-$p.log"
        line=$(grep -o 'tokens in [0-9.]*s ([0-9]* tokens/s)' "$OUT/run-$p/train.log")
        secs=$(sed 's/tokens in \([0-9.]*\)s.*/\1/' <<<"$line")
        tps=$(sed 's/.*(\([0-9]*\) tokens.*/\1/' <<<"$line")
        printf '%s\t%s\t%s\t%s\n' "$r" "$p" "$secs" "$tps" >>"$results"
        printf '[bench_simd] round %s: %s %s s, %s tokens/s\n' "$r" "$p" "$secs" "$tps" >&2
    done
    order=("${order[@]:1}" "${order[0]}")
done

awk -F'\t' -v first="${paths[0]}" -v list="$PATHS" -v threads="$THREADS" -v rounds="$ROUNDS" '
    function median(a, n,   i, j, t) {
        for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j > 0 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    NR > 1 { tps[$2, $1] = $4 }
    END {
        n = split(list, p, ",")
        printf "| path | median tokens/s | ratio to %s (median of the rounds) | per round |\n| --- | --- | --- | --- |\n", first
        for (i = 1; i <= n; i++) {
            delete v; delete q; rs = ""
            for (r = 1; r <= rounds; r++) { v[r] = tps[p[i], r]; q[r] = tps[p[i], r] / tps[first, r]; rs = rs (r > 1 ? " " : "") sprintf("%.2f", q[r]) }
            printf "| %s | %.0f | %.2f | %s |\n", p[i], median(v, rounds), median(q, rounds), rs
        }
        printf "\n%d interleaved rounds, %d thread(s).\n", rounds, threads
    }' "$results" | tee "$OUT/results.md"
