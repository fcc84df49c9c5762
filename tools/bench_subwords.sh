#!/usr/bin/env bash
# Subword training benchmark: tokvec train --subwords (its variants) against --words and
# fastText with character n-grams, in one run on one machine. docs/benchmarks.md has the figures.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: tools/bench_subwords.sh [options]

  --threads N        threads for every tool (default 2)
  --data DIR         data folder (default $TOKVEC_BENCH_DATA or /tmp/tokvec-bench); gut100m.txt
                     is decompressed there when missing (or give --corpus-file)
  --corpus-file F    the training text (default DATA/gut100m.txt)
  --tokvec PATH      tokvec binary (default build/tokvec)
  --out DIR          output folder (default out/bench-subwords-YYYYmmdd-HHMMSS)
  --variants LIST    comma-separated subword variants, each NAME=FLAGS with FLAGS joined by
                     '+' (default: the sum/mean x ancestors yes/no grid and own rows)
  --fasttext-bin F   a fastText model (.bin) trained already with the settings below, instead
                     of training one here (--fasttext-wall S, --fasttext-user S: its training
                     wall and user CPU time)
  --skip-fasttext    no fastText
  -h, --help         this text

Settings for all: dim 100, window 5, negative 5, sample 1e-4, min-count 5, 1 epoch; BPE
32,000 (trained once with bpe-train; its time is reported apart and added to the walls of
the subword rows). fastText: skipgram -minn 3 -maxn 6.
Words scored: the 30,000 most frequent words of the corpus (words mode's vocabulary order;
analogies are restricted to them), then every evaluation word not among them. Scores:
analogies (sem / syn / total), WS-353 on the pairs words mode covers, and WS-353 on the
rare pairs (a word seen fewer than 100 times in the corpus, or never).
Under load the wall times swing; the user CPU times (/usr/bin/time %U) are reported beside them.
Prints a Markdown table; writes results.tsv in the output folder.
EOF
}

# shellcheck source=tools/bench_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"

THREADS=2
DATA=${TOKVEC_BENCH_DATA:-/tmp/tokvec-bench}
CORPUS_FILE=''
TOKVEC_BIN=${TOKVEC:-}
OUT=''
FT_BIN=''
FT_WALL=''
FT_USER=''
SKIP_FT=0
VARIANTS='mean-anc-own=--subword-compose+mean+--subword-ancestors+yes+--subword-own-rows+1,sum-anc-own=--subword-compose+sum+--subword-ancestors+yes+--subword-own-rows+1,sum-anc=--subword-compose+sum+--subword-ancestors+yes+--subword-own-rows+0,mean-anc=--subword-compose+mean+--subword-ancestors+yes+--subword-own-rows+0,mean-pieces-own=--subword-compose+mean+--subword-ancestors+no+--subword-own-rows+1'

while (($#)); do
    case $1 in
        --threads) THREADS=${2:?}; shift 2 ;;
        --data) DATA=${2:?}; shift 2 ;;
        --corpus-file) CORPUS_FILE=${2:?}; shift 2 ;;
        --tokvec) TOKVEC_BIN=${2:?}; shift 2 ;;
        --out) OUT=${2:?}; shift 2 ;;
        --variants) VARIANTS=${2:?}; shift 2 ;;
        --fasttext-bin) FT_BIN=${2:?}; shift 2 ;;
        --fasttext-wall) FT_WALL=${2:?}; shift 2 ;;
        --fasttext-user) FT_USER=${2:?}; shift 2 ;;
        --skip-fasttext) SKIP_FT=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; bench_die "unknown argument: $1" ;;
    esac
done

cd "$BENCH_REPO_DIR"
TOKVEC_BIN=${TOKVEC_BIN:-build/tokvec}
[[ $TOKVEC_BIN == /* ]] || TOKVEC_BIN=$BENCH_REPO_DIR/$TOKVEC_BIN
[[ -x $TOKVEC_BIN ]] || bench_die "no tokvec binary at $TOKVEC_BIN (build with tools/build.sh)"
OUT=${OUT:-out/bench-subwords-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
PY=$(bench_find_python) || bench_die "no python3 with gensim (Debian: python3-gensim)"
if [[ -z $CORPUS_FILE ]]; then
    bench_prepare_corpus "$DATA" gut100m.txt
    CORPUS_FILE=$DATA/gut100m.txt
fi
[[ -r $CORPUS_FILE ]] || bench_die "cannot read $CORPUS_FILE"
if ((!SKIP_FT)) && [[ -z $FT_BIN ]]; then
    command -v fasttext >/dev/null || bench_die "fasttext not found (Debian: fasttext), or use --skip-fasttext"
fi
COMMON=(--dim 100 --window 5 --negative 5 --sample 1e-4 --min-count 5 --epochs 1 --threads "$THREADS" --quiet)
RESULTS=$OUT/results.tsv
printf 'label\twall_s\tuser_s\tanalogy_total\tsem\tsyn\tws_covered\tws_rare\tws_rare_oov_pct\tnote\n' >"$RESULTS"

# timed LABEL CMD...: BENCH_WALL of CMD, its log in OUT/LABEL.log; dies on failure.
timed() {
    local label=$1
    shift
    bench_timed "$label" "$OUT" -- "$@"
    ((BENCH_RC == 0)) || { tail -5 "$OUT/$label.log" >&2; bench_die "$label failed (exit $BENCH_RC)"; }
}

# ---------------------------------------------------------------- words mode, word lists
bench_log "words: tokvec train --words"
timed words "$TOKVEC_BIN" train --words --input "$CORPUS_FILE" --output "$OUT/words" "${COMMON[@]}"
WORDS_WALL=$BENCH_WALL
WORDS_USER=$BENCH_USER
"$TOKVEC_BIN" export "$OUT/words" --output "$OUT/words.vec" >/dev/null
LIST=$OUT/words-list.txt
EVAL_WORDS=$OUT/eval-words.txt
{
    grep -v '^:' -- "$BENCH_ANALOGIES" | tr -s ' \t' '\n\n'
    grep -v '^#' -- "$BENCH_PAIRS" | cut -f1,2 | tr '\t' '\n'
} | tr '[:upper:]' '[:lower:]' | awk 'NF && !seen[$1]++ { print $1 }' >"$EVAL_WORDS"
awk 'NR > 1 && NR <= 30001 { print $1 }' "$OUT/words.vec" >"$OUT/top30k.txt"
awk 'NR == FNR { print; seen[$1] = 1; next } !seen[$1]++' "$OUT/top30k.txt" "$EVAL_WORDS" >"$LIST"

# The pair files: WS-353 on the pairs words mode covers, and on the rare pairs.
COUNTS=$OUT/eval-word-counts.tsv
tr -s ' \n' '\n\n' <"$CORPUS_FILE" | awk 'NR == FNR { want[$1] = 1; next } ($1 in want) { c[$1]++ }
    END { for (w in want) print w "\t" (c[w] + 0) }' "$EVAL_WORDS" - >"$COUNTS"
PAIRS_COVERED=$OUT/ws353-covered.tsv
PAIRS_RARE=$OUT/ws353-rare.tsv
awk 'NR > 1 { print $1 }' "$OUT/words.vec" >"$OUT/words-vocab.txt"
awk -F'\t' 'FILENAME == ARGV[1] { v[$1] = 1; next } /^#/ { next }
    (tolower($1) in v) && (tolower($2) in v)' "$OUT/words-vocab.txt" "$BENCH_PAIRS" >"$PAIRS_COVERED"
awk -F'\t' 'FILENAME == ARGV[1] { c[$1] = $2; next } /^#/ { next }
    (c[tolower($1)] + 0 < 100) || (c[tolower($2)] + 0 < 100)' "$COUNTS" "$BENCH_PAIRS" >"$PAIRS_RARE"
bench_log "pairs: $(wc -l <"$PAIRS_COVERED") covered by words mode, $(wc -l <"$PAIRS_RARE") rare"

# score LABEL VEC WALL USER NOTE: one row of results.tsv.
score() {
    local label=$1 vec=$2 wall=$3 user=$4 note=$5 json
    json=$("$PY" "$BENCH_EVAL_PY" "$vec" --analogies "$BENCH_ANALOGIES" --pairs "$PAIRS_COVERED" "$PAIRS_RARE") ||
        bench_die "eval of $vec failed"
    echo "$json" >"$OUT/$label.eval.json"
    "$PY" - "$json" "$label" "$wall" "$user" "$note" >>"$RESULTS" <<'PY'
import json, sys
d = json.loads(sys.argv[1]); label, wall, user, note = sys.argv[2:6]
cov = d["pairs:ws353-covered.tsv"]; rare = d["pairs:ws353-rare.tsv"]
print("\t".join(str(x) for x in [label, wall, user, d["analogy_total"], d["analogy_semantic"], d["analogy_syntactic"],
                                 cov["spearman"], rare["spearman"], rare["oov_pct"], note]))
PY
    bench_log "$label: $(tail -1 "$RESULTS")"
}
score words "$OUT/words.vec" "$WORDS_WALL" "$WORDS_USER" "train --words"

# ---------------------------------------------------------------- BPE tokenizer, once
bench_log "bpe-train 32000"
timed bpe "$TOKVEC_BIN" bpe-train --input "$CORPUS_FILE" --vocab-size 32000 --output "$OUT/bpe32k.model" --threads "$THREADS" --quiet
BPE_WALL=$BENCH_WALL
BPE_USER=$BENCH_USER

# ---------------------------------------------------------------- subword variants
IFS=',' read -r -a variant_list <<<"$VARIANTS"
for v in "${variant_list[@]}"; do
    name=${v%%=*}
    flags=${v#*=}
    IFS='+' read -r -a extra <<<"$flags"
    bench_log "subwords $name: ${extra[*]}"
    timed "sw-$name" "$TOKVEC_BIN" train --subwords --tokenizer "$OUT/bpe32k.model" --input "$CORPUS_FILE" \
        --output "$OUT/sw-$name" "${COMMON[@]}" "${extra[@]}"
    train_wall=$BENCH_WALL
    train_user=$BENCH_USER
    timed "sw-$name.export" "$TOKVEC_BIN" export "$OUT/sw-$name" --output "$OUT/sw-$name.vec" --words "$LIST"
    score "sw-$name" "$OUT/sw-$name.vec" "$(bench_add "$train_wall" "$BPE_WALL")" "$(bench_add "$train_user" "$BPE_USER")" \
        "train ${train_wall}s + bpe-train ${BPE_WALL}s; ${extra[*]}"
done

# ---------------------------------------------------------------- fastText
if ((!SKIP_FT)); then
    if [[ -z $FT_BIN ]]; then
        bench_log "fastText skipgram -minn 3 -maxn 6"
        timed fasttext fasttext skipgram -input "$CORPUS_FILE" -output "$OUT/fasttext" -dim 100 -ws 5 -neg 5 -t 1e-4 \
            -minCount 5 -thread "$THREADS" -epoch 1 -minn 3 -maxn 6 -verbose 0
        FT_WALL=$BENCH_WALL
        FT_USER=$BENCH_USER
        FT_BIN=$OUT/fasttext.bin
    fi
    fasttext print-word-vectors "$FT_BIN" <"$LIST" >"$OUT/fasttext.words.txt"
    { echo "$(wc -l <"$OUT/fasttext.words.txt") 100"; sed 's/ *$//' "$OUT/fasttext.words.txt"; } >"$OUT/fasttext.vec"
    score fasttext "$OUT/fasttext.vec" "${FT_WALL:--}" "${FT_USER:--}" "skipgram -minn 3 -maxn 6 (training wall)"
fi

# ---------------------------------------------------------------- report
"$PY" - "$RESULTS" "$WORDS_WALL" "$WORDS_USER" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
words, words_user = float(sys.argv[2]), float(sys.argv[3])
def ratio(v, base):
    try: return "%.2f" % (float(v) / base)
    except ValueError: return "-"
print("| run | wall s (x words) | user CPU s (x words) | analogy % (sem / syn) | WS-353 covered | WS-353 rare (OOV %) |")
print("| --- | --- | --- | --- | --- | --- |")
for r in rows:
    print(f"| {r['label']} | {r['wall_s']} ({ratio(r['wall_s'], words)}) | {r['user_s']} ({ratio(r['user_s'], words_user)}) | "
          f"{r['analogy_total']} ({r['sem']} / {r['syn']}) | {r['ws_covered']} | {r['ws_rare']} ({r['ws_rare_oov_pct']}) |")
PY
