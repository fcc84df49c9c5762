#!/usr/bin/env bash
# Training benchmark: tokvec against gensim and fastText, in one run on one machine.
# See docs/benchmarks.md for what is measured and how; usage: tools/bench_train.sh --help
set -euo pipefail

usage() {
    cat <<'EOF'
usage: tools/bench_train.sh [options]

  --threads N      threads for every tool (default 2)
  --data DIR       data folder (default $TOKVEC_BENCH_DATA or /tmp/tokvec-bench); gut100m.txt
                   is decompressed there from $TOKVEC_SHARED_DIR/corpora/gut100m.txt.xz
                   when missing (TOKVEC_SHARED_DIR: default ../shared beside the checkout)
  --tokvec PATH    tokvec binary (default $TOKVEC, else build/tokvec, else build*/tokvec)
  --out DIR        output folder (default out/bench-train-YYYYmmdd-HHMMSS)
  --skip-peers     run only tokvec (same as --peers none)
  --peers LIST     the peers to run, comma-separated: gensim,fasttext,pword2vec (the default;
                   pword2vec only when its binary is given) or none
  --pword2vec PATH pWord2Vec binary (default $PWORD2VEC): an optional peer, skipped with a note
                   when neither is set or the file is not executable (building it:
                   docs/benchmarks.md)
  --bpe            also the BPE pipeline: tokvec --bpe-vocab-size 32000, raw text to composed
                   word vectors; and fastText with its default subword n-grams as the peer
  --bpe-words MODE words exported for --bpe: "top30k" (default: the corpus's 30,000 most
                   frequent words, then the remaining evaluation words) or "eval" (only the
                   words of the evaluation files; analogies then search ~1k candidates, which
                   inflates the score: not comparable with the word-level rows)
  --scaling        also tokvec with 1 thread, against the N-thread run
  --repeat N       time every training N times (default 1); report the median and the min
  --corpus NAME    corpus file name in the data folder (default gut100m.txt)
  -h, --help       this text

Settings for all tools: dim 100, window 5, negative 5, sample 1e-4, min-count 5, 1 epoch,
each tool's default learning rate. Wall time covers raw text to a word2vec text file on
disk: vocabulary building, training and writing the vectors (fastText cannot skip its
save, so it is included for every tool; tokvec's is train + export).
Prints a Markdown table; writes results.tsv and results.json to the output folder.
Exit status: 0 when every run succeeded, 1 when some run failed or was missing, 2 on usage
or data errors.
EOF
}

trap 'printf "bench: error: command failed at %s line %s (exit %s)\n" "${BASH_SOURCE[0]}" "$LINENO" "$?" >&2' ERR

# shellcheck source=tools/bench_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"

THREADS=2
DATA=${TOKVEC_BENCH_DATA:-/tmp/tokvec-bench}
TOKVEC_BIN=${TOKVEC:-}
PWORD2VEC_BIN=${PWORD2VEC:-}
OUT=''
SKIP_PEERS=0
PEERS=gensim,fasttext,pword2vec
DO_BPE=0
DO_SCALING=0
BPE_WORDS=top30k
REPEAT=1
CORPUS=gut100m.txt

while (($#)); do
    case $1 in
        --threads) THREADS=${2:?--threads needs a value}; shift 2 ;;
        --data) DATA=${2:?--data needs a value}; shift 2 ;;
        --tokvec) TOKVEC_BIN=${2:?--tokvec needs a value}; shift 2 ;;
        --pword2vec) PWORD2VEC_BIN=${2:?--pword2vec needs a value}; shift 2 ;;
        --out) OUT=${2:?--out needs a value}; shift 2 ;;
        --corpus) CORPUS=${2:?--corpus needs a value}; shift 2 ;;
        --repeat) REPEAT=${2:?--repeat needs a value}; shift 2 ;;
        --bpe-words) BPE_WORDS=${2:?--bpe-words needs a value}; shift 2 ;;
        --skip-peers) PEERS=none; shift ;;
        --peers) PEERS=${2:?--peers needs a value}; shift 2 ;;
        --bpe) DO_BPE=1; shift ;;
        --scaling) DO_SCALING=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; bench_die "unknown argument: $1" ;;
    esac
done
[[ $THREADS =~ ^[1-9][0-9]*$ ]] || bench_die "--threads must be a positive integer, got '$THREADS'"
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || bench_die "--repeat must be a positive integer, got '$REPEAT'"
[[ $BPE_WORDS == top30k || $BPE_WORDS == eval ]] || bench_die "--bpe-words must be top30k or eval"
[[ $PEERS =~ ^(none|(gensim|fasttext|pword2vec)(,(gensim|fasttext|pword2vec))*)$ ]] ||
    bench_die "--peers must be none or a comma-separated list of gensim, fasttext, pword2vec; got '$PEERS'"
[[ $PEERS == none ]] && SKIP_PEERS=1
want_peer() { [[ ,$PEERS, == *,$1,* ]]; }

cd "$BENCH_REPO_DIR"
if [[ -z $TOKVEC_BIN ]]; then
    TOKVEC_BIN=build/tokvec
    if [[ ! -x $TOKVEC_BIN ]]; then
        for c in build*/tokvec; do
            [[ -x $c ]] && { TOKVEC_BIN=$c; break; }
        done
    fi
fi
[[ $TOKVEC_BIN == /* ]] || TOKVEC_BIN=$BENCH_REPO_DIR/$TOKVEC_BIN
OUT=${OUT:-out/bench-train-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
DATA=$(mkdir -p "$DATA" && cd "$DATA" && pwd)

BENCH_PYTHON=$(bench_find_python) || bench_die "no python3 with gensim found (Debian: python3-gensim); set TOKVEC_BENCH_PYTHON"
[[ -r $BENCH_EVAL_PY ]] || bench_die "evaluator not found: $BENCH_EVAL_PY"
if want_peer fasttext; then
    command -v fasttext >/dev/null || bench_die "fasttext not found (Debian: fasttext), or use --skip-peers"
fi

# ---------------------------------------------------------------- data
bench_prepare_corpus "$DATA" "$CORPUS"
TEXT=$DATA/$CORPUS
want_peer gensim && bench_prepare_lines "$DATA" "$CORPUS"
LINES=$DATA/${CORPUS%.txt}.lines.txt
WORDS=$(bench_word_count "$TEXT")
bench_log "corpus $TEXT: $WORDS words; output in $OUT"

{
    echo "date_utc	$(date -u +%FT%TZ)"
    echo "host	$(uname -n) $(uname -m), $(nproc) cpus, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "mem_total_kb	$(awk '/MemTotal/ { print $2 }' /proc/meminfo)"
    echo "tokvec	$TOKVEC_BIN ($(git -C "$BENCH_REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo '?'))"
    echo "python	$BENCH_PYTHON ($("$BENCH_PYTHON" -c 'import gensim; print("gensim", gensim.__version__)'))"
    echo "fasttext	$(dpkg-query -W -f='${Version}' fasttext 2>/dev/null || echo '?')"
    echo "corpus	$TEXT ($WORDS words)"
    echo "threads	$THREADS"
} >"$OUT/machine.tsv"

# ---------------------------------------------------------------- results
RESULTS=$OUT/results.tsv
printf 'tool\tvariant\tthreads\twall_s\twall_min_s\twalls_s\twords_per_s\tpeak_rss_mib\tanalogy_pct\tanalogy_n\tws353_spearman\tws353_oov_pct\tstatus\tnote\tanalogy_semantic_pct\tanalogy_syntactic_pct\n' >"$RESULTS"
FAILED=0

# record TOOL VARIANT THREADS WALLS RSS STATUS NOTE  (uses BENCH_ANALOGY... from the last eval)
# WALLS: the wall seconds of each repetition, space-separated ("-" if none); the row's
# wall_s is their median, wall_min_s their minimum.
record() {
    local tool=$1 variant=$2 threads=$3 walls=${4:--} rss=$5 status=$6 note=$7 wps wall wmin
    read -r wall wmin < <(tr ' ' '\n' <<<"$walls" | awk 'NF && $1 != "-"' | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) print "- -"; else printf "%.2f %s\n", (v[int((NR + 1) / 2)] + v[int(NR / 2) + 1]) / 2, v[1] }')
    wps=$(awk -v w="$WORDS" -v t="$wall" 'BEGIN { if (t == "" || t == "-" || t + 0 == 0) print "-"; else printf "%.0f", w / t }')
    [[ $status == ok ]] || FAILED=1
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$variant" "$threads" \
        "$wall" "$wmin" "$walls" "$wps" "${rss:--}" "${BENCH_ANALOGY:--}" "${BENCH_ANALOGY_N:--}" \
        "${BENCH_WS:--}" "${BENCH_WS_OOV:--}" "$status" "$note" "${BENCH_ANALOGY_SEM:--}" "${BENCH_ANALOGY_SYN:--}" >>"$RESULTS"
}

clear_eval() { BENCH_ANALOGY='' BENCH_ANALOGY_N='' BENCH_WS='' BENCH_WS_OOV='' BENCH_ANALOGY_SEM='' BENCH_ANALOGY_SYN=''; }

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

show_failure() { # LABEL LOG
    bench_log "$1 failed; last lines of $2:"
    tail -n 5 -- "$2" | sed 's/^/    /' >&2 || true
}

# tokvec_run LABEL THREADS EXTRA_TRAIN_ARGS... -- EXTRA_EXPORT_ARGS...
# Trains into OUT/LABEL.run and exports to OUT/LABEL.vec; records one row.
tokvec_run() {
    local label=$1 threads=$2
    shift 2
    local train_args=() export_args=()
    while (($#)) && [[ $1 != -- ]]; do train_args+=("$1"); shift; done
    (($#)) && shift
    export_args=("$@")
    local run=$OUT/$label.run vec=$OUT/$label.vec
    clear_eval
    if [[ ! -x $TOKVEC_BIN ]]; then
        bench_log "$label: tokvec binary not found or not executable: $TOKVEC_BIN (build it: cmake -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j; or pass --tokvec PATH)"
        record tokvec "$label" "$threads" - - missing "no binary at $TOKVEC_BIN"
        return 0
    fi
    local r walls='' wall rss=0 t_train t_export status=ok
    for ((r = 1; r <= REPEAT; r++)); do
        bench_log "$label: tokvec train, $threads thread(s), run $r/$REPEAT (load $(loadavg))"
        bench_timed "$label.train" "$OUT" -- "$TOKVEC_BIN" train --input "$TEXT" --output "$run" \
            "${train_args[@]}" --dim 100 --window 5 --negative 5 --sample 1e-4 --min-count 5 \
            --epochs 1 --threads "$threads" --force --quiet
        t_train=$BENCH_WALL
        if ((BENCH_RC != 0)); then
            show_failure "$label: tokvec train (exit $BENCH_RC)" "$OUT/$label.train.log"
            record tokvec "$label" "$threads" - "$BENCH_RSS_MB" "failed" "train exit $BENCH_RC, see $label.train.log"
            return 0
        fi
        ((BENCH_RSS_MB > rss)) && rss=$BENCH_RSS_MB
        bench_timed "$label.export" "$OUT" -- "$TOKVEC_BIN" export "$run" --format word2vec-text \
            "${export_args[@]}" --output "$vec"
        t_export=$BENCH_WALL
        if ((BENCH_RC != 0)); then
            show_failure "$label: tokvec export (exit $BENCH_RC)" "$OUT/$label.export.log"
            record tokvec "$label" "$threads" - "$rss" "failed" "export exit $BENCH_RC, see $label.export.log"
            return 0
        fi
        ((BENCH_RSS_MB > rss)) && rss=$BENCH_RSS_MB
        wall=$(bench_add "$t_train" "$t_export")
        walls+="${walls:+ }$wall"
        bench_log "$label: run $r: wall $wall s (train $t_train + export $t_export)"
    done
    bench_eval "$vec" "$OUT" "$label" || status=eval-failed
    bench_log "$label: walls $walls s, peak RSS $rss MiB, analogy ${BENCH_ANALOGY:--} %, WS-353 ${BENCH_WS:--}"
    record tokvec "$label" "$threads" "$walls" "$rss" "$status" "last run: train ${t_train} s + export ${t_export} s"
}

# timed_runs TOOL LABEL WHAT -- COMMAND...: runs COMMAND REPEAT times under bench_timed (log
# OUT/LABEL.log), logging "LABEL: WHAT, run r/REPEAT". Sets RUN_WALLS (each run's wall,
# space-separated) and RUN_RSS (the peak MiB). On a failure it shows the log's tail, records a
# failed row for TOOL and returns 1.
timed_runs() {
    local tool=$1 label=$2 what=$3 r
    shift 3
    [[ ${1-} == -- ]] && shift
    RUN_WALLS='' RUN_RSS=0
    for ((r = 1; r <= REPEAT; r++)); do
        bench_log "$label: $what, run $r/$REPEAT (load $(loadavg))"
        bench_timed "$label" "$OUT" -- "$@"
        if ((BENCH_RC != 0)); then
            show_failure "$label (exit $BENCH_RC)" "$OUT/$label.log"
            record "$tool" "$label" "$THREADS" - "$BENCH_RSS_MB" failed "exit $BENCH_RC, see $label.log"
            return 1
        fi
        ((BENCH_RSS_MB > RUN_RSS)) && RUN_RSS=$BENCH_RSS_MB
        RUN_WALLS+="${RUN_WALLS:+ }$BENCH_WALL"
    done
    return 0
}

gensim_run() {
    local label=gensim vec=$OUT/gensim.vec status=ok note
    clear_eval
    timed_runs gensim "$label" "Word2Vec(corpus_file, sg=1), $THREADS threads" -- \
        "$BENCH_PYTHON" "$BENCH_TOOLS_DIR/peers/gensim_train.py" \
        --input "$LINES" --output "$vec" --threads "$THREADS" --dim 100 --window 5 \
        --negative 5 --sample 1e-4 --min-count 5 --epochs 1 --timings "$OUT/gensim.phases.json" || return 0
    local walls=$RUN_WALLS rss=$RUN_RSS
    note=$("$BENCH_PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("last run: import %(import_s)s s, vocab %(vocab_s)s s, train %(train_s)s s, save %(save_s)s s; %(corpus_words)s words, vocab %(vocab_size)s" % d)' "$OUT/gensim.phases.json" 2>/dev/null || echo '')
    bench_eval "$vec" "$OUT" "$label" || status=eval-failed
    bench_log "gensim: walls $walls s ($note), peak RSS $rss MiB, analogy ${BENCH_ANALOGY:--} %, WS-353 ${BENCH_WS:--}"
    record gensim "$label" "$THREADS" "$walls" "$rss" "$status" "$note"
}

# fasttext_run LABEL [EXTRA ARGS...]: skipgram on the one-line text; OUT/LABEL.{bin,vec}.
# Sets FT_WALLS (each run's wall, space-separated) and FT_RSS; records a row only on failure.
fasttext_run() {
    local label=$1
    shift
    clear_eval
    FT_WALLS='' FT_RSS=0
    timed_runs fasttext "$label" "fasttext skipgram $*, $THREADS threads" -- \
        fasttext skipgram -input "$TEXT" -output "$OUT/$label" \
        -dim 100 -ws 5 -neg 5 -t 1e-4 -minCount 5 -thread "$THREADS" -epoch 1 -verbose 1 "$@" || return 1
    FT_WALLS=$RUN_WALLS FT_RSS=$RUN_RSS
    return 0
}

# pword2vec_run: IntelLabs' pWord2Vec (HogBatch with sgemm), an optional peer. It reads the
# one-line text as word2vec does and writes word2vec text (with "</s>" as its first row).
# Its defaults differ from ours: sample 1e-3, iter 5, threads 12, alpha 0.025; batch-size
# 11 is 2 x window + 1, what its README recommends. All of ours are passed explicitly.
pword2vec_run() {
    local label=pword2vec vec=$OUT/pword2vec.vec walls rss status=ok
    clear_eval
    if [[ -z $PWORD2VEC_BIN ]]; then
        bench_log "pword2vec: skipped (no binary: pass --pword2vec PATH or set PWORD2VEC; see docs/benchmarks.md)"
        return 0
    fi
    if [[ ! -x $PWORD2VEC_BIN ]]; then
        bench_log "pword2vec: skipped ($PWORD2VEC_BIN is not an executable file)"
        record pword2vec "$label" "$THREADS" - - missing "no binary at $PWORD2VEC_BIN"
        return 0
    fi
    # One BLAS thread per training thread: pWord2Vec calls mkl_set_num_threads(1); the
    # variable covers a build whose shim does not.
    timed_runs pword2vec "$label" "$THREADS threads" -- \
        env OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS="$THREADS" "$PWORD2VEC_BIN" \
        -train "$TEXT" -output "$vec" -size 100 -window 5 -negative 5 -sample 1e-4 -min-count 5 \
        -iter 1 -threads "$THREADS" -batch-size 11 -binary 0 || return 0
    walls=$RUN_WALLS rss=$RUN_RSS
    bench_eval "$vec" "$OUT" "$label" || status=eval-failed
    bench_log "pword2vec: walls $walls s, peak RSS $rss MiB, analogy ${BENCH_ANALOGY:--} %, WS-353 ${BENCH_WS:--}"
    record pword2vec "$label" "$THREADS" "$walls" "$rss" "$status" "-batch-size 11; wall includes vocabulary, training and writing the text vectors"
}

# ---------------------------------------------------------------- word-level runs
tokvec_run tokvec "$THREADS" --words
TOKVEC_WALL=$(awk -F'\t' '$2 == "tokvec" && $13 == "ok" { print $4 }' "$RESULTS")

if ((!SKIP_PEERS)); then
    want_peer gensim && gensim_run
    if want_peer fasttext && fasttext_run fasttext -minn 0 -maxn 0; then
        st=ok
        bench_eval "$OUT/fasttext.vec" "$OUT" fasttext || st=eval-failed
        bench_log "fasttext: walls $FT_WALLS s, peak RSS $FT_RSS MiB, analogy ${BENCH_ANALOGY:--} %, WS-353 ${BENCH_WS:--}"
        record fasttext fasttext "$THREADS" "$FT_WALLS" "$FT_RSS" "$st" "-minn 0 -maxn 0; wall includes writing .bin and .vec"
    fi
    want_peer pword2vec && pword2vec_run
fi

# ---------------------------------------------------------------- scaling
if ((DO_SCALING)); then
    if ((THREADS != 1)); then
        tokvec_run tokvec-t1 1 --words
    fi
fi

# ---------------------------------------------------------------- BPE pipeline
if ((DO_BPE)); then
    EVAL_WORDS=$OUT/eval-words.txt
    # Lowercased words of the analogy questions (not the ": section" lines) and of the
    # WordSim-353 pairs (not the "#" comment lines), first-seen order, no duplicates.
    {
        grep -v '^:' -- "$BENCH_ANALOGIES" | tr -s ' \t' '\n\n'
        grep -v '^#' -- "$BENCH_PAIRS" | cut -f1,2 | tr '\t' '\n'
    } | tr '[:upper:]' '[:lower:]' | awk 'NF && !seen[$1]++ { print $1 }' >"$EVAL_WORDS"
    BPE_LIST=$OUT/bpe-words.txt
    if [[ $BPE_WORDS == top30k ]]; then
        TOP=$DATA/${CORPUS%.txt}.top30k.txt
        if [[ ! -s $TOP ]]; then
            bench_log "counting words of $TEXT for the 30,000 most frequent (cached in $TOP)"
            tr -s ' \n' '\n' <"$TEXT" | awk 'NF { c[$1]++ } END { for (w in c) print c[w] "\t" w }' |
                LC_ALL=C sort -t$'\t' -k1,1nr -k2,2 | awk -F'\t' 'NR <= 30000 { print $2 }' >"$TOP.tmp.$$"
            mv -f -- "$TOP.tmp.$$" "$TOP"
        fi
        awk 'NR == FNR { print; seen[$1] = 1; next } !seen[$1]++' "$TOP" "$EVAL_WORDS" >"$BPE_LIST"
    else
        cp -- "$EVAL_WORDS" "$BPE_LIST"
    fi
    bench_log "BPE: $(wc -l <"$BPE_LIST") words to export ($BPE_WORDS; $(wc -l <"$EVAL_WORDS") evaluation words)"

    tokvec_run tokvec-bpe32k "$THREADS" --bpe-vocab-size 32000 -- --words "$BPE_LIST"

    if want_peer fasttext; then
        # fastText with its default subword n-grams (minn 3, maxn 6): a vector for any word
        # via print-word-vectors, the same list as tokvec's export; wall = train + print.
        if fasttext_run fasttext-subword; then
            rss_train=$FT_RSS
            bench_timed fasttext-subword.print "$OUT" -- sh -c \
                'fasttext print-word-vectors "$1" <"$2" >"$3"' sh \
                "$OUT/fasttext-subword.bin" "$BPE_LIST" "$OUT/fasttext-subword.words.txt"
            if ((BENCH_RC == 0)); then
                t_print=$BENCH_WALL
                vec=$OUT/fasttext-subword.words.vec
                { echo "$(wc -l <"$OUT/fasttext-subword.words.txt") 100"
                  sed 's/ *$//' "$OUT/fasttext-subword.words.txt"; } >"$vec"
                walls=''
                for w in $FT_WALLS; do walls+="${walls:+ }$(bench_add "$w" "$t_print")"; done
                rss=$(((rss_train > BENCH_RSS_MB) ? rss_train : BENCH_RSS_MB))
                st=ok
                bench_eval "$vec" "$OUT" fasttext-subword || st=eval-failed
                bench_log "fasttext-subword: walls $walls s (train $FT_WALLS + print $t_print), peak RSS $rss MiB, analogy ${BENCH_ANALOGY:--} %, WS-353 ${BENCH_WS:--}"
                record fasttext fasttext-subword "$THREADS" "$walls" "$rss" "$st" "default -minn 3 -maxn 6; train $FT_WALLS s + print-word-vectors $t_print s (once)"
            else
                clear_eval
                show_failure "fasttext print-word-vectors" "$OUT/fasttext-subword.print.log"
                record fasttext fasttext-subword "$THREADS" - - failed "print-word-vectors exit $BENCH_RC"
            fi
        fi
    fi
fi

# ---------------------------------------------------------------- report
"$BENCH_PYTHON" - "$RESULTS" "$OUT/results.json" "$OUT/machine.tsv" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
machine = dict(l.rstrip("\n").split("\t", 1) for l in open(sys.argv[3]) if "\t" in l)
json.dump({"machine": machine, "runs": rows}, open(sys.argv[2], "w"), indent=1)
PY

{
    echo
    echo "## Training benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $THREADS threads, $CORPUS ($WORDS words)"
    echo
    echo "Wall: raw text to word2vec text file (vocabulary, training, writing the vectors). words/s: corpus words / wall."
    echo
    if ((REPEAT > 1)); then
        echo "Each timed run repeated $REPEAT times: wall is the median (min in brackets); quality is from the last run."
        echo
    fi
    echo "| run | threads | wall s | words/s | words/s/thread | peak RSS MiB | analogy % (questions) | sem / syn % | WS-353 ρ (OOV %) | status |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    awk -F'\t' -v rep="$REPEAT" 'NR > 1 {
        wpt = ($7 == "-") ? "-" : sprintf("%.0f k", $7 / $3 / 1000)
        wps = ($7 == "-") ? "-" : sprintf("%.2f M", $7 / 1e6)
        wall = (rep > 1 && $4 != "-") ? sprintf("%s (%s)", $4, $5) : $4
        st = ($13 == "ok") ? $13 : $13 " (" $14 ")"
        printf "| %s | %s | %s | %s | %s | %s | %s (%s) | %s / %s | %s (%s) | %s |\n", $2, $3, wall, wps, wpt, $8, $9, $10, $15, $16, $11, $12, st
    }' "$RESULTS"
    echo
    ratio_line() { # RUN PEER
        local a b
        a=$(awk -F'\t' -v r="$1" '$2 == r && $13 != "failed" && $13 != "missing" { print $4 }' "$RESULTS")
        b=$(awk -F'\t' -v r="$2" '$2 == r && $13 != "failed" && $13 != "missing" { print $4 }' "$RESULTS")
        [[ -n $b ]] || return 0
        echo "- $1 vs $2: $2 wall / $1 wall = $(bench_ratio "$b" "$a") (above 1: tokvec is faster)"
    }
    ratio_line tokvec gensim
    ratio_line tokvec fasttext
    ratio_line tokvec pword2vec
    ratio_line tokvec-bpe32k fasttext-subword
    if ((DO_SCALING)); then
        t1=$(awk -F'\t' '$2 == "tokvec-t1" && $13 == "ok" { print $4 }' "$RESULTS")
        echo "- scaling: tokvec 1 thread / $THREADS threads wall = $(bench_ratio "$t1" "${TOKVEC_WALL:-}")"
    fi
    [[ -n ${TOKVEC_WALL:-} ]] || echo "- no timed tokvec result (see its status and log); no ratios"
    echo
    echo "Files: $RESULTS, $OUT/results.json, logs and vectors in $OUT"
} | tee "$OUT/results.md"

exit "$FAILED"
