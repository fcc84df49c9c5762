#!/usr/bin/env bash
# Two (or more) tokvec builds side by side: `train --words` end to end on one text, in
# alternating rounds (the order rotates each round, so a busy moment of a shared machine
# falls on every build alike). Prints each run's wall time, time before training
# (vocabulary and corpus), training tokens/s and peak RSS, then the medians and, per
# round, each build's training tokens/s over the first build's.
#
#   tools/bench_ab.sh TEXT THREADS ROUNDS NAME=TOKVEC [NAME=TOKVEC ...]
#   e.g. tools/bench_ab.sh /tmp/data/g20.txt 2 5 old=/tmp/old/tokvec new=build/tokvec
#
# Settings: train's defaults (dim 100, window 5, negative 5, sample 1e-4, min-count 5,
# 1 epoch), checkpoints off. Runs go to a temporary folder under ${TMPDIR:-/tmp}.
set -euo pipefail
if (($# < 4)); then sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; fi
text=$1 threads=$2 rounds=$3
shift 3
names=() bins=()
for nb in "$@"; do
  [[ $nb == *=* ]] || { echo "bench_ab: expected NAME=TOKVEC, got $nb" >&2; exit 2; }
  names+=("${nb%%=*}")
  bins+=("${nb#*=}")
done
out=$(mktemp -d "${TMPDIR:-/tmp}/tokvec-bench-ab.XXXXXX")
k=${#names[@]}
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
for ((r = 0; r < rounds; r++)); do
  for ((j = 0; j < k; j++)); do
    i=$(((j + r) % k))
    d=$out/${names[i]}-$r
    s=$(date +%s.%N)
    /usr/bin/time -v -o "$d.time" "${bins[i]}" train --input "$text" --output "$d" --words --threads "$threads" \
      --checkpoint-every off --force >"$d.log" 2>&1
    e=$(date +%s.%N)
    tps=$(grep -o 'trained [0-9]* tokens in [0-9.]*s ([0-9]* tokens/s' "$d/train.log" | head -1 | grep -o '([0-9]*' | tr -d '(')
    before=$(grep 'corpus: ' "$d/train.log" | head -1 | grep -o '^\[ *[0-9.]*s' | tr -d '[ s')
    rss=$(grep -o 'Maximum resident set size (kbytes): [0-9]*' "$d.time" | grep -o '[0-9]*$')
    echo "$r ${names[i]} wall_s $(echo "$e - $s" | bc) before_training_s $before train_tokens_s $tps peak_rss_kb $rss" |
      tee -a "$out/results.txt"
    rm -f "$d/corpus.tkc"
  done
done
echo "medians:"
for n in "${names[@]}"; do
  col() { awk -v n="$n" -v c="$1" '$2 == n {print $c}' "$out/results.txt" | median; }
  echo "  $n: wall $(col 4) s, before training $(col 6) s, training $(col 8) tokens/s, peak RSS $(col 10) kB"
done
echo "training tokens/s over ${names[0]}'s, per round:"
for ((r = 0; r < rounds; r++)); do
  base=$(awk -v n="${names[0]}" -v r="$r" '$1 == r && $2 == n {print $8}' "$out/results.txt")
  line="  round $r:"
  for n in "${names[@]:1}"; do
    v=$(awk -v n="$n" -v r="$r" '$1 == r && $2 == n {print $8}' "$out/results.txt")
    line+=" $n $(echo "scale=3; $v / $base" | bc)"
  done
  echo "$line"
done
echo "runs in $out"
