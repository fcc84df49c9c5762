#!/usr/bin/env bash
# Scale benchmark: words-mode training with a 1,000,000-word vocabulary and 300
# dimensions on synthetic Zipf corpora of growing length, to show that tokvec's memory is
# that of its matrices and does not grow with the corpus (the ids are streamed into
# corpus.tkc and trained through its memory map, pages released as they are read).
#
#   tools/bench_scale.sh [DATA_DIR]          (default /tmp/scale; needs ~15 GB free at 200 M)
#
# For each size in SIZES (millions of tokens) it generates DATA_DIR/zipf-vV-sS-Nm.txt with
# build/tokvec_gen_zipf (kept for the next run; --floor MIN_COUNT, so --min-count MIN_COUNT
# keeps exactly VOCAB words at every size), then runs
#   tokvec train --words --input TEXT --output RUN --dim DIM --threads THREADS --epochs 1
#                --min-count MIN_COUNT --checkpoint-every off
# (its progress lines go to DATA_DIR/run-Nm.progress) under /usr/bin/time -v, sampling /proc/PID/status every 0.2 s for the resident set split
# into anonymous memory (matrices, counts, vocabulary) and file-backed pages (the mapped
# corpus). The run folder is removed afterwards (its state.tkv is VOCAB x DIM x 8 bytes).
# Environment: TOKVEC (build/tokvec), GEN (build/tokvec_gen_zipf), VOCAB (1000000), DIM (300),
# THREADS (2), SIZES ("50 100 200"), MIN_COUNT (5), EXPONENT (1.0), SEED (1),
# WORDS_PER_LINE (100), KEEP_RUNS (0), TOKVEC_ARGS (more train options, e.g. "--sample 1e-3").
# Prints one table row per size, then the spread of the peaks across sizes.
#
# GENSIM=1: after each tokvec run, the same training in gensim on the same text
# (tools/peers/gensim_train.py: Word2Vec(corpus_file=TEXT, sg=1, hs=0) with the same dim,
# window 5, negative 5, sample 1e-4, min-count, threads, 1 epoch; vectors not saved), also
# under /usr/bin/time -v, and a second table: training tokens/s of both (corpus tokens /
# training seconds: tokvec's from train.log, gensim's from its train() call; neither counts
# making and initialising the matrices), the ratio, the set-up before training of both
# (tokvec: vocabulary, corpus.tkc, matrices; gensim: import and build_vocab, which makes its
# matrices) and the peak RSS of both. ROUNDS (1) repeats the tokvec/gensim pair, alternating, per size.
# PYTHON (/usr/bin/python3) runs gensim. Use sizes gensim trains in minutes, e.g. SIZES=20.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data_dir="${1:-/tmp/scale}"
tokvec="${TOKVEC:-$here/build/tokvec}"
gen="${GEN:-$here/build/tokvec_gen_zipf}"
vocab="${VOCAB:-1000000}"
dim="${DIM:-300}"
threads="${THREADS:-2}"
sizes="${SIZES:-50 100 200}"
min_count="${MIN_COUNT:-5}"
exponent="${EXPONENT:-1.0}"
seed="${SEED:-1}"
per_line="${WORDS_PER_LINE:-100}"

gensim="${GENSIM:-0}"
rounds="${ROUNDS:-1}"
python="${PYTHON:-/usr/bin/python3}"
read -r -a extra_args <<< "${TOKVEC_ARGS:-}"

[ -x /usr/bin/time ] || { echo "bench_scale: /usr/bin/time not found (apt-get install time)" >&2; exit 1; }
for b in "$tokvec" "$gen"; do
  [ -x "$b" ] || { echo "bench_scale: $b not built (tools/build.sh)" >&2; exit 1; }
done
mkdir -p "$data_dir"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Bytes of the two matrices (rows padded to 16 floats) and of the per-row count vectors
# (frequencies + 3 update counts in the state, 3 more per thread while training).
stride=$(( (dim + 15) / 16 * 16 ))
matrices=$(( 2 * vocab * stride * 4 ))
counts=$(( (4 + 3 * threads) * vocab * 8 ))
mb() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }

echo "scale: vocab $vocab, dim $dim (stride $stride), $threads threads, min-count $min_count, Zipf s=$exponent, seed $seed, $per_line words/line"
echo "matrices 2 x $vocab x $stride x 4 B = $(mb $matrices) MiB; count vectors $(mb $counts) MiB; $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| tokens | text MiB | corpus.tkc MiB | words kept | corpus build s | training s | tokens/s | peak RSS MiB | peak anon MiB | peak file MiB | peak RSS / (matrices + counts) |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"

# Waits for the /usr/bin/time process $1, sampling its child's resident set every 0.2 s
# into max_anon / max_file (KiB).
sample_rss() {
  local timer=$1 pid="" anon file
  for _ in $(seq 50); do pid=$(pgrep -P "$timer" || true); [ -n "$pid" ] && break; sleep 0.1; done
  max_anon=0; max_file=0
  while [ -n "$pid" ] && [ -r "/proc/$pid/status" ]; do
    read -r anon file < <(awk '/^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 } END { print a + 0, f + 0 }' "/proc/$pid/status" 2>/dev/null || echo "0 0")
    [ "$anon" -gt "$max_anon" ] && max_anon=$anon
    [ "$file" -gt "$max_file" ] && max_file=$file
    sleep 0.2
  done
  wait "$timer"
}

peaks=()
compare=()
for m in $sizes; do
  tokens=$(( m * 1000000 ))
  text="$data_dir/zipf-v$vocab-s$exponent-${m}m.txt"
  if [ ! -s "$text" ]; then
    "$gen" --output "$text.tmp" --vocab "$vocab" --tokens "$tokens" --exponent "$exponent" --seed "$seed" \
      --words-per-line "$per_line" --floor "$min_count" --min-count "$min_count" > /dev/null 2> "$work/gen.log"
    mv "$text.tmp" "$text"
    sed 's/^/  /' "$work/gen.log" >&2
  fi
  for round in $(seq "$rounds"); do
    run="$data_dir/run-${m}m"
    rm -rf "$run"
    /usr/bin/time -v -o "$work/time.txt" "$tokvec" train --words --input "$text" --output "$run" --dim "$dim" \
      --threads "$threads" --epochs 1 --min-count "$min_count" --checkpoint-every off "${extra_args[@]}" \
      2> "$data_dir/run-${m}m.progress" &
    sample_rss $!
    peak_kb=$(sed -n 's/^\s*Maximum resident set size (kbytes): //p' "$work/time.txt")
    wall=$(sed -n 's/^\s*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/time.txt")
    log="$run/train.log"
    kept=$(sed -n 's/.*vocabulary: \([0-9]*\) words.*/\1/p' "$log")
    build_s=$(sed -n 's/^\[ *\([0-9.]*\)s\] corpus: .*streamed.*/\1/p' "$log")
    train_s=$(sed -n 's/.*trained [0-9]* tokens in \([0-9.]*\)s.*/\1/p' "$log")
    rate=$(sed -n 's/.*tokens in [0-9.]*s (\([0-9]*\) tokens\/s).*/\1/p' "$log")
    text_mb=$(mb "$(stat -c %s "$text")")
    tkc_mb=$(mb "$(stat -c %s "$run/corpus.tkc")")
    ratio=$(awk -v p="$peak_kb" -v m="$((matrices + counts))" 'BEGIN { printf "%.3f", p * 1024 / m }')
    echo "| $m M | $text_mb | $tkc_mb | $kept | $build_s | $train_s | $rate | $((peak_kb / 1024)) | $((max_anon / 1024)) | $((max_file / 1024)) | $ratio |"
    echo "  ($m M: wall $wall; $(grep -E 'wrote .*state.tkv' "$log" | sed 's/^\[[^]]*\] //'))" >&2
    if [ "$gensim" = 1 ]; then
      /usr/bin/time -v -o "$work/gtime.txt" "$python" "$here/tools/peers/gensim_train.py" --input "$text" \
        --output "$work/gensim.vec" --no-save --threads "$threads" --dim "$dim" --window 5 --negative 5 \
        --sample 1e-4 --min-count "$min_count" --epochs 1 --timings "$work/gensim.json" \
        2> "$data_dir/gensim-${m}m.log" &
      sample_rss $!
      g_peak_kb=$(sed -n 's/^\s*Maximum resident set size (kbytes): //p' "$work/gtime.txt")
      read -r g_words g_vocab g_train_s g_setup_s < <("$python" -c 'import json, sys; t = json.load(open(sys.argv[1])); print(t["corpus_words"], t["vocab_size"], t["train_s"], round(t["import_s"] + t["vocab_s"], 2))' "$work/gensim.json")
      # tokvec's set-up: from the start to the start of training (vocabulary, corpus.tkc,
      # both matrices made and initialised), as gensim's import + build_vocab (which also
      # makes and initialises its matrices).
      setup_s=$(sed -n 's/^\[ *\([0-9.]*\)s\] trained [0-9]* tokens in \([0-9.]*\)s.*/\1 \2/p' "$log" | awk '{ printf "%.2f", $1 - $2 }')
      tokens_done=$(sed -n 's/.*trained \([0-9]*\) tokens in.*/\1/p' "$log")
      compare+=("$(awk -v m="$m" -v r="$round" -v tt="$train_s" -v tn="$tokens_done" -v tp="$peak_kb" -v gk="$g_vocab" \
        -v gt="$g_train_s" -v gn="$g_words" -v gp="$g_peak_kb" -v k="$kept" -v ts="$setup_s" -v gs="$g_setup_s" 'BEGIN {
        tr = tn / tt; gr = gn / gt
        printf "| %s M | %s | %s / %s | %.1f | %.1f | %.0f | %.1f | %.1f | %.0f | %.2fx | %.0f | %.0f |", m, r, k, gk, ts, tt, tr, gs, gt, gr, tr / gr, tp / 1024, gp / 1024 }')")
      echo "  ($m M round $round: gensim trained $g_words words in ${g_train_s}s, peak $((g_peak_kb / 1024)) MiB)" >&2
    fi
    [ "${KEEP_RUNS:-0}" = 1 ] || rm -rf "$run"
  done
  peaks+=("$peak_kb")
done

printf '%s\n' "${peaks[@]}" | awk '{ if (NR == 1 || $1 < lo) lo = $1; if ($1 > hi) hi = $1 }
  END { printf "\npeak RSS across sizes: %.0f to %.0f MiB (spread %.2f%% of the smallest)\n", lo / 1024, hi / 1024, (hi - lo) * 100 / lo }'

if [ "$gensim" = 1 ]; then
  echo
  echo "| tokens | round | words kept tokvec / gensim | tokvec set-up s | tokvec training s | tokvec tokens/s | gensim set-up s | gensim training s | gensim tokens/s | tokvec / gensim | tokvec peak RSS MiB | gensim peak RSS MiB |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${compare[@]}"
fi
