#!/usr/bin/env bash
# Domain adaptation (train --init-from): pretrain on gut100m (words and 32k BPE, 1 epoch,
# 2 threads), adapt each run to a slice of gut-raw-50m, audit a held-back part of the slice
# as the target before and after (audit --target, where this build has it), and evaluate
# both runs on the evaluation sets (word vectors: eval_vectors.py on the words run's
# export; the BPE runs: tokvec eval, which composes the evaluation words).
#
#   tools/bench_adapt.sh [OUT_DIR]      (default /tmp/tokvec-bench-adapt)
#
# The domain slice: gut-raw-50m's paragraphs from line 160,001 on (its last 18,204 lines,
# about 5 MB: the last books in the corpus's sha1 order), normalised as gut100m is
# (lowercase a-z, each digit as its English name, every other byte a space; SOURCES.md
# step 10), so the words run's vocabulary applies. Every 10th of its lines is held back as
# the target; the other lines are the adaptation text. gut100m holds the normalised text of
# the first 301 books of the corpus and gut-raw-50m the first 151, so the slice's books are
# in the pretraining text too: the adaptation shifts the weight towards them, it does not
# bring unseen text.
#
# Environment: TOKVEC (the binary, default build/tokvec), ADAPT_EPOCHS (default 5),
# ADAPT_LR (default 0.05, train's), MODES (default "words bpe"),
# PRETRAINED_WORDS / PRETRAINED_BPE (reuse a finished pretraining run instead of training
# one; never modified).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"

OUT=${1:-/tmp/tokvec-bench-adapt}
TOKVEC=${TOKVEC:-$BENCH_REPO_DIR/build/tokvec}
ADAPT_EPOCHS=${ADAPT_EPOCHS:-5}
ADAPT_LR=${ADAPT_LR:-0.05}
MODES=${MODES:-words bpe}
mkdir -p "$OUT"
[[ -x $TOKVEC ]] || bench_die "no tokvec binary at $TOKVEC (build first: tools/build.sh)"
BENCH_PYTHON=$(bench_find_python) || bench_die "no python3 with gensim (try /usr/bin/python3)"

bench_prepare_corpus "$OUT" gut100m.txt
bench_prepare_corpus "$OUT" gut-raw-50m.txt

# The slice, normalised; target = every 10th line, adaptation text = the others.
if [[ ! -s $OUT/target.txt ]]; then
    bench_log "cutting the domain slice"
    tail -n +160001 "$OUT/gut-raw-50m.txt" | "$BENCH_PYTHON" -c '
import re, sys
names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
table = {}
for b in range(256):
    c = chr(b)
    if "A" <= c <= "Z": table[b] = c.lower()
    elif "a" <= c <= "z": table[b] = c
    elif "0" <= c <= "9": table[b] = " " + names[b - 48] + " "
    else: table[b] = " "
adapt = open(sys.argv[1], "w"); target = open(sys.argv[2], "w")
for i, line in enumerate(sys.stdin.buffer):
    text = " ".join("".join(table[b] for b in line.rstrip(b"\n")).split())
    if text:
        (target if i % 10 == 9 else adapt).write(text + "\n")
' "$OUT/adapt.txt.tmp" "$OUT/target.txt.tmp"
    mv -f "$OUT/adapt.txt.tmp" "$OUT/adapt.txt"
    mv -f "$OUT/target.txt.tmp" "$OUT/target.txt"
fi
bench_log "adaptation text: $(wc -w <"$OUT/adapt.txt") words, target: $(wc -w <"$OUT/target.txt") words"

has_target=0
if "$TOKVEC" audit --help 2>&1 | grep -q -- '--target'; then has_target=1; fi

# target_share RUN LABEL: the target's flagged share from audit --target's JSON.
target_share() {
    local run=$1 label=$2
    if [[ $has_target == 0 ]]; then echo "-"; return; fi
    "$TOKVEC" audit "$run" --target "$OUT/target.txt" --json "$OUT/$label.audit.json" --top 0 >"$OUT/$label.audit.txt" 2>&1 \
        || { echo "-"; return; }
    "$BENCH_PYTHON" -c '
import json, sys
t = json.load(open(sys.argv[1]))["target"]
print("%.2f%% (%d of %d tokens; %d without a row)" % (100.0 * t["flagged_share"], t["flagged_tokens"], t["tokens"], t["unknown_tokens"]))
' "$OUT/$label.audit.json"
}

# quality RUN LABEL: "analogy % / WS-353 rho" (tokvec eval; the same rules as eval_vectors.py).
quality() {
    local run=$1 label=$2
    "$TOKVEC" eval "$run" --analogies "$BENCH_ANALOGIES" --pairs "$BENCH_PAIRS" --threads 2 --json >"$OUT/$label.eval.json" 2>"$OUT/$label.eval.err" \
        || { echo "- / -"; return; }
    "$BENCH_PYTHON" -c '
import json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
p = [v for k, v in d.items() if k.startswith("pairs:")][0]
print("%.2f / %.3f" % (d["analogy_total"], p["spearman"]))
' "$OUT/$label.eval.json"
}

printf '| run | mode | train s | target flagged share | analogy %% / WS-353 |\n| --- | --- | ---: | --- | --- |\n' >"$OUT/table.md"
for mode in $MODES; do
    pre=$OUT/pre-$mode
    if [[ $mode == words ]]; then
        flags=(--words)
        [[ -n ${PRETRAINED_WORDS:-} ]] && pre=$PRETRAINED_WORDS
    else
        flags=(--bpe-vocab-size 32000)
        [[ -n ${PRETRAINED_BPE:-} ]] && pre=$PRETRAINED_BPE
    fi
    pre_s="-"
    if [[ ! -s $pre/state.tkv ]]; then
        bench_log "pretraining $mode on gut100m"
        bench_timed "pre-$mode" "$OUT" -- "$TOKVEC" train --input "$OUT/gut100m.txt" --output "$pre" "${flags[@]}" \
            --epochs 1 --threads 2 --quiet --force
        [[ $BENCH_RC == 0 ]] || bench_die "pretraining $mode failed: $OUT/pre-$mode.log"
        pre_s=$BENCH_WALL
    fi
    bench_log "adapting $mode ($ADAPT_EPOCHS epochs, lr $ADAPT_LR)"
    bench_timed "adapt-$mode" "$OUT" -- "$TOKVEC" train --init-from "$pre" --input "$OUT/adapt.txt" --output "$OUT/adapt-$mode" \
        --epochs "$ADAPT_EPOCHS" --lr "$ADAPT_LR" --threads 2 --quiet --force
    [[ $BENCH_RC == 0 ]] || bench_die "adapting $mode failed: $OUT/adapt-$mode.log"
    adapt_s=$BENCH_WALL
    printf '| pretrained on gut100m | %s | %s | %s | %s |\n' "$mode" "$pre_s" "$(target_share "$pre" "pre-$mode")" \
        "$(quality "$pre" "pre-$mode")" >>"$OUT/table.md"
    printf '| adapted (%s epochs, lr %s) | %s | %s | %s | %s |\n' "$ADAPT_EPOCHS" "$ADAPT_LR" "$mode" "$adapt_s" \
        "$(target_share "$OUT/adapt-$mode" "adapt-$mode")" "$(quality "$OUT/adapt-$mode" "adapt-$mode")" >>"$OUT/table.md"
done
if [[ " $MODES " == *" words "* ]]; then
    # The words runs also through the neutral evaluator (gensim).
    for run in pre adapt; do
        r=$OUT/$run-words
        [[ $run == pre && -n ${PRETRAINED_WORDS:-} ]] && r=$PRETRAINED_WORDS
        "$TOKVEC" export "$r" --output "$OUT/$run-words.vec" >/dev/null
        if bench_eval "$OUT/$run-words.vec" "$OUT" "$run-words-gensim"; then
            printf '%s words, eval_vectors.py: analogy %s %% (%s questions), WS-353 %s\n' "$run" "$BENCH_ANALOGY" "$BENCH_ANALOGY_N" \
                "$BENCH_WS" >>"$OUT/gensim.txt"
        fi
    done
fi
cat "$OUT/table.md"
[[ -s $OUT/gensim.txt ]] && cat "$OUT/gensim.txt"
[[ $has_target == 1 ]] || bench_log "this build has no audit --target: the target columns are '-'"
