#!/usr/bin/env bash
# Where skip-gram training spends its instructions: callgrind on a small fixed job.
# Instruction counts (Ir) are stable on these shared, noisy machines, where wall time is not
# (and perf has no hardware counters on this VM). Usage: tools/profile_train.sh --help
set -euo pipefail

usage() {
    cat <<'EOF'
usage: tools/profile_train.sh [options]

  --tokvec PATH   tokvec binary (default $TOKVEC, else build/tokvec)
  --input FILE    text to cut the job from (default corpora/gutenberg-3m.txt, bundled)
  --bytes N       first N bytes of it (default 1000000: about 180,000 words)
  --threads N     training threads (default 1; callgrind runs threads one at a time, so
                  more threads add their synchronisation instructions, never contention)
  --out DIR       output folder (default out/profile-train-YYYYmmdd-HHMMSS)
  --top N         functions listed (default 8)
  -h, --help      this text

The job: `tokvec train --words` on the slice (native, to build the corpus), then under
`valgrind --tool=callgrind`: `tokvec train --corpus` on that corpus, dim 100, window 5,
negative 5, sample 1e-4, 1 epoch, checkpoints off. Prints a Markdown table of the top
functions by self instructions and the training region's share; the raw profile is
OUT/callgrind.out (callgrind_annotate OUT/callgrind.out for more).

Valgrind 3.19 does not emulate AVX-512: under callgrind tokvec's CPU check sees no AVX-512
and runs its AVX2 (x86-64-v3) code, the path of CPUs without AVX-512.
EOF
}

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/bench_common.sh
source "$REPO/tools/bench_common.sh"
BENCH_NAME=profile
TOKVEC_BIN=${TOKVEC:-$REPO/build/tokvec}
INPUT=$REPO/corpora/gutenberg-3m.txt
BYTES=1000000
THREADS=1
OUT=''
TOP=8
while (($#)); do
    if bench_common_option "$@"; then shift 2; continue; fi
    case $1 in
        --top) TOP=${2:?--top needs a value}; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; printf 'profile: error: unknown argument: %s\n' "$1" >&2; exit 2 ;;
    esac
done
die() { bench_die "$@"; }
bench_need_positive_int --bytes "$BYTES"
bench_need_positive_int --threads "$THREADS"
bench_need_positive_int --top "$TOP"
bench_need_tokvec_and_input "$TOKVEC_BIN" "$INPUT"
command -v valgrind >/dev/null || die "valgrind not found (Debian: valgrind)"
command -v callgrind_annotate >/dev/null || die "callgrind_annotate not found (Debian: valgrind)"
OUT=$(bench_make_out "${OUT:-out/profile-train-$(date -u +%Y%m%d-%H%M%S)}")
bench_prepare_word_corpus "$TOKVEC_BIN" "$INPUT" "$BYTES" "$OUT"
printf '[profile] corpus: %s\n' "$(grep -o 'vocabulary: .*' "$OUT/prep/train.log")" >&2
printf '[profile] callgrind, %s thread(s) (takes about a minute per 100,000 words)\n' "$THREADS" >&2

valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" -- "$TOKVEC_BIN" train \
    --corpus "$OUT/prep/corpus.tkc" --output "$OUT/run" --threads "$THREADS" --dim 100 --window 5 \
    --negative 5 --sample 1e-4 --epochs 1 --checkpoint-every off --quiet --force >"$OUT/callgrind.log" 2>&1 ||
    die "the profiled run failed, see $OUT/callgrind.log"
callgrind_annotate "$OUT/callgrind.out" >"$OUT/annotate.txt" 2>/dev/null
callgrind_annotate --inclusive=yes "$OUT/callgrind.out" >"$OUT/annotate-inclusive.txt" 2>/dev/null

pairs=$(grep -o 'over [0-9]* pairs' "$OUT/run/train.log" | tr -dc '0-9')
tokens=$(grep -o 'trained [0-9]* tokens' "$OUT/run/train.log" | tr -dc '0-9')
total=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' "$OUT/annotate.txt")
# The parallel region (OpenMP outlines it as Trainer::run(...)._omp_fn.N): everything training does.
region=$(awk '/tokvec::(Trainer::run|train)\(.*_omp_fn/ { gsub(",", "", $1); print $1; exit }' "$OUT/annotate-inclusive.txt")
{
    echo "| function (self instructions) | Ir | % of total |"
    echo "| --- | --- | --- |"
    # Rows look like "  13,315,977,093 (92.53%)  ???:name(args) [clone .x] [/path/bin]".
    awk -v top="$TOP" '
        /PROGRAM TOTALS/ { started = 1; next }
        started && /^ *[0-9][0-9,]* \(/ && n < top {
            ir = $1; pct = ""
            if (match($0, /\( *[0-9.]+%\)/)) { pct = substr($0, RSTART + 1, RLENGTH - 2); gsub(/ /, "", pct) }
            line = $0; sub(/^ *[0-9,]+ +\([^)]*\) +/, "", line); sub(/^[^:]*:/, "", line)
            sub(/ \[[^]]*\]$/, "", line)                                   # the binary
            gsub(/\(anonymous namespace\)/, "{anon}", line)
            clone = ""; if (match(line, /\[clone [^]]*\]/)) clone = " " substr(line, RSTART, RLENGTH)
            sub(/ \[clone [^]]*\]/, "", line)
            gsub(/\([^()]*\)/, "()", line); gsub(/\([^()]*\)/, "()", line)   # drop argument lists
            gsub(/\|/, "\\|", line)
            printf "| `%s`%s | %s | %s |\n", line, clone, ir, pct; n++
        }' "$OUT/annotate.txt"
    echo
    awk -v t="$total" -v r="${region:-0}" -v p="${pairs:-0}" -v k="${tokens:-0}" 'BEGIN {
        printf "Total %.3g G instructions; the training region %.3g G (%.1f %%): %.0f per token, %.0f per pair (%s tokens, %s pairs).\n",
            t / 1e9, r / 1e9, (t > 0 ? 100 * r / t : 0), (k > 0 ? r / k : 0), (p > 0 ? r / p : 0), k, p }'
} | tee "$OUT/profile.md"
