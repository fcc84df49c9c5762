# shellcheck shell=bash
# Shared helpers for tokvec's benchmark scripts (sourced, not run).
#
#   bench_prepare_corpus DATA_DIR NAME   -> ensures DATA_DIR/NAME (decompresses $TOKVEC_SHARED_DIR/corpora/NAME.xz)
#   bench_prepare_lines  DATA_DIR NAME   -> ensures DATA_DIR/NAME with .txt -> .lines.txt, 1,000 words a line
#   bench_timed LABEL OUTDIR -- CMD...   -> runs CMD under /usr/bin/time; sets BENCH_WALL (s) and BENCH_RSS_MB
#   bench_eval VEC OUTDIR LABEL          -> runs eval_vectors.py; sets BENCH_ANALOGY BENCH_ANALOGY_N BENCH_WS BENCH_WS_OOV
#                                           BENCH_ANALOGY_SEM BENCH_ANALOGY_SYN
#   bench_ratio A B                      -> prints A/B with 2 decimals (or "-" when either is missing)
#   bench_need_positive_int OPT VALUE    -> dies unless VALUE is a positive integer
#   bench_need_tokvec_and_input BIN FILE -> dies unless BIN is executable and FILE readable
#   bench_common_option ARGS...          -> takes --tokvec/--input/--bytes/--threads/--out VALUE (caller shifts 2)
#   bench_make_out DIR                   -> creates DIR, prints its absolute path
#   bench_prepare_word_corpus BIN INPUT BYTES OUT -> OUT/slice.txt and its words corpus OUT/prep/corpus.tkc
#   BENCH_NAME                           -> the script's name in bench_die's messages (default bench)
#
# Every temporary file goes under the output folder given by the caller.

BENCH_TOOLS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_REPO_DIR=$(cd "$BENCH_TOOLS_DIR/.." && pwd)
# The benchmark data (corpora/*.xz, tools/eval_vectors.py): $TOKVEC_SHARED_DIR, by default the
# folder ../shared beside the checkout (docs/benchmarks.md says what it holds).
BENCH_SHARED_DIR=${TOKVEC_SHARED_DIR:-$BENCH_REPO_DIR/../shared}
BENCH_EVAL_PY=$BENCH_SHARED_DIR/tools/eval_vectors.py
BENCH_ANALOGIES=$BENCH_REPO_DIR/corpora/eval/questions-words.txt   # the bundled evaluation files
BENCH_PAIRS=$BENCH_REPO_DIR/corpora/eval/wordsim353.tsv

bench_log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
bench_die() { printf '%s: error: %s\n' "${BENCH_NAME:-bench}" "$*" >&2; exit 2; }

# bench_need_positive_int OPTION VALUE: dies unless VALUE is a whole number > 0.
bench_need_positive_int() { [[ $2 =~ ^[1-9][0-9]*$ ]] || bench_die "$1 must be a positive integer, got '$2'"; }

# bench_need_tokvec_and_input BIN INPUT: dies unless BIN runs and INPUT can be read.
bench_need_tokvec_and_input() {
    [[ -x $1 ]] || bench_die "tokvec binary not found: $1 (build it, or pass --tokvec PATH)"
    [[ -r $2 ]] || bench_die "cannot read $2"
}

# bench_common_option ARGS...: the options of the training scripts (--tokvec, --input,
# --bytes, --threads, --out): when $1 is one, sets TOKVEC_BIN, INPUT, BYTES, THREADS or OUT
# from $2 and succeeds (the caller shifts 2); otherwise fails.
bench_common_option() {
    case $1 in
        --tokvec) TOKVEC_BIN=${2:?--tokvec needs a value} ;;
        --input) INPUT=${2:?--input needs a value} ;;
        --bytes) BYTES=${2:?--bytes needs a value} ;;
        --threads) THREADS=${2:?--threads needs a value} ;;
        --out) OUT=${2:?--out needs a value} ;;
        *) return 1 ;;
    esac
}

# bench_make_out DIR: creates DIR and prints its absolute path.
bench_make_out() { mkdir -p "$1" && (cd "$1" && pwd); }

# bench_prepare_word_corpus TOKVEC INPUT BYTES OUT: OUT/slice.txt holds the first BYTES bytes
# of INPUT (all of it when BYTES is empty) and OUT/prep/corpus.tkc its `train --words` corpus.
bench_prepare_word_corpus() {
    local bin=$1 input=$2 bytes=$3 out=$4
    if [[ -n $bytes ]]; then head -c "$bytes" -- "$input" >"$out/slice.txt"; else cp -- "$input" "$out/slice.txt"; fi
    "$bin" train --words --input "$out/slice.txt" --output "$out/prep" --threads 1 --quiet --force \
        --checkpoint-every off >"$out/prep.log" 2>&1 || bench_die "preparing the corpus failed, see $out/prep.log"
}

# A python3 that can import gensim. The first python3 on PATH may be a pyenv shim
# without Debian's python3-gensim; /usr/bin/python3 has it.
bench_find_python() {
    local p
    for p in ${TOKVEC_BENCH_PYTHON:-} python3 /usr/bin/python3; do
        if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import gensim' >/dev/null 2>&1; then
            command -v "$p"
            return 0
        fi
    done
    return 1
}

# bench_prepare_corpus DATA_DIR NAME: DATA_DIR/NAME exists afterwards, or we die.
bench_prepare_corpus() {
    local dir=$1 name=$2 xz_src tmp
    mkdir -p "$dir"
    if [[ -s $dir/$name ]]; then
        return 0
    fi
    xz_src=$BENCH_SHARED_DIR/corpora/$name.xz
    [[ -r $xz_src ]] || bench_die "$dir/$name is missing and $xz_src cannot be read"
    bench_log "decompressing $xz_src -> $dir/$name"
    tmp=$dir/$name.tmp.$$
    xz -dc -- "$xz_src" >"$tmp" || { rm -f -- "$tmp"; bench_die "xz failed on $xz_src"; }
    mv -f -- "$tmp" "$dir/$name"
}

# bench_prepare_lines DATA_DIR NAME.txt: writes DATA_DIR/NAME.lines.txt, the same words in
# lines of 1,000. gensim's corpus_file mode trains only the start of a very long line
# (on the single-line file it finishes in seconds having learnt nothing).
bench_prepare_lines() {
    local dir=$1 name=$2 lines tmp
    lines=$dir/${name%.txt}.lines.txt
    if [[ -s $lines ]]; then
        return 0
    fi
    bench_log "writing $lines (1,000 words a line, for gensim)"
    tmp=$lines.tmp.$$
    # shellcheck disable=SC2046  # 1,000 separate "-" arguments are intended
    tr -s ' \n' '\n' <"$dir/$name" | paste -d' ' $(printf -- '- %.0s' $(seq 1000)) >"$tmp" \
        || { rm -f -- "$tmp"; bench_die "could not write $lines"; }
    mv -f -- "$tmp" "$lines"
}

# bench_word_count FILE: whitespace-separated words (cached next to the file).
bench_word_count() {
    local f=$1 cache=$1.words
    if [[ ! -s $cache || $cache -ot $f ]]; then
        wc -w <"$f" | tr -d ' ' >"$cache.tmp.$$" && mv -f -- "$cache.tmp.$$" "$cache"
    fi
    cat -- "$cache"
}

# bench_timed LABEL OUTDIR -- CMD [ARGS...]
# Runs CMD with stdout+stderr to OUTDIR/LABEL.log and /usr/bin/time's figures to
# OUTDIR/LABEL.time. Sets BENCH_WALL (elapsed seconds), BENCH_RSS_MB (peak resident set
# of the largest process, MiB: %M is in KiB), BENCH_USER (user CPU seconds) and BENCH_RC.
# Never exits on failure.
bench_timed() {
    local label=$1 out=$2
    shift 3
    local tf=$out/$label.time log=$out/$label.log
    BENCH_WALL='' BENCH_RSS_MB='' BENCH_USER='' BENCH_RC=0
    /usr/bin/time -f '%e %M %U' -o "$tf" -- "$@" >"$log" 2>&1 || BENCH_RC=$?
    # /usr/bin/time writes "Command exited with non-zero status N" before the figures.
    if [[ -s $tf ]]; then
        read -r BENCH_WALL BENCH_RSS_MB BENCH_USER < <(tail -n 1 -- "$tf")
        BENCH_RSS_MB=$(awk -v k="$BENCH_RSS_MB" 'BEGIN { printf "%.0f", k / 1024 }')
    fi
    return 0
}

# bench_eval VEC OUTDIR LABEL: evaluates word2vec-text vectors with the neutral evaluator.
bench_eval() {
    local vec=$1 out=$2 label=$3 json=$2/$3.eval.json
    BENCH_ANALOGY='' BENCH_ANALOGY_N='' BENCH_WS='' BENCH_WS_OOV='' BENCH_ANALOGY_SEM='' BENCH_ANALOGY_SYN=''
    if [[ ! -s $vec ]]; then
        bench_log "$label: no vectors at $vec, not evaluated"
        return 1
    fi
    if ! "$BENCH_PYTHON" "$BENCH_EVAL_PY" "$vec" --analogies "$BENCH_ANALOGIES" \
        --pairs "$BENCH_PAIRS" >"$json" 2>"$out/$label.eval.err"; then
        bench_log "$label: eval_vectors.py failed, see $out/$label.eval.err"
        return 1
    fi
    local fields
    fields=$("$BENCH_PYTHON" - "$json" <<'PY'
import json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
p = d.get("pairs:wordsim353.tsv", {})
n = (d.get("analogy_semantic_n") or 0) + (d.get("analogy_syntactic_n") or 0)
vals = [d.get("analogy_total"), n, p.get("spearman"), p.get("oov_pct"),
        d.get("analogy_semantic"), d.get("analogy_syntactic")]
print(" ".join("-" if v is None else str(v) for v in vals))
PY
) || { bench_log "$label: could not parse $json"; return 1; }
    read -r BENCH_ANALOGY BENCH_ANALOGY_N BENCH_WS BENCH_WS_OOV BENCH_ANALOGY_SEM BENCH_ANALOGY_SYN <<<"$fields"
    return 0
}

# bench_ratio A B: A / B to 2 decimals; "-" when either is empty, "-" or zero.
bench_ratio() {
    awk -v a="${1:-}" -v b="${2:-}" 'BEGIN {
        if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) { print "-"; exit }
        printf "%.2f", a / b }'
}

# bench_add SECONDS... : sum, "-" if any is missing.
bench_add() {
    awk 'BEGIN { s = 0; for (i = 1; i < ARGC; i++) { if (ARGV[i] == "" || ARGV[i] == "-") { print "-"; exit } s += ARGV[i] }
                 printf "%.2f", s }' "$@"
}
