#!/usr/bin/env bash
# BPE at scale: training on text with no spaces (Chinese-like) and on a corpus
# with millions of distinct words, where trainers that work per distinct word blow up.
#
#   tools/bench_bpe_scale.sh [WORK_DIR]          (default /tmp/tokvec-bpe-scale)
#
# Generates, once, into WORK_DIR with tools/gen_bpe_scale.py (seed 1):
#   cjk-run.txt    100 MB of CJK characters, no space, no punctuation, no line break
#   cjk-prose.txt  100 MB of CJK clauses with '，' '。' and line breaks, no space
#   words.txt      gut-raw-50m.txt with 6 M insertions from a pool of 4 M random words
#                  (letters, numbers, capitalised): about 3.3 M distinct pre-tokens
# then for each: bpe-train (time, peak RSS), encode (time, peak RSS, tokens), decode,
# and checks that the decoded text is exactly normalise(input) (docs/cli.md, bpe-train: normalisation).
# Environment: TOKVEC (binary, default build/tokvec), BASELINE (a second tokvec binary to
# run first, e.g. an older build, for a before/after table), THREADS (2), VOCAB (32000),
# INPUTS (default "cjk-run cjk-prose words"), SPM=1 to also run sentencepiece's BPE
# trainer on cjk-prose.txt (SPM_TIMEOUT seconds, default 1800), ENGLISH (default
# /tmp/data/gut-raw-50m.txt, decompressed from $TOKVEC_SHARED_DIR/corpora if missing).
# Timings on a shared machine are noisy: the script prints the load; read user CPU time too.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=tools/bench_common.sh
source "$here/tools/bench_common.sh"
work="${1:-/tmp/tokvec-bpe-scale}"
tokvec="${TOKVEC:-$here/build/tokvec}"
threads="${THREADS:-2}"
vocab="${VOCAB:-32000}"
inputs="${INPUTS:-cjk-run cjk-prose words}"
english="${ENGLISH:-/tmp/data/gut-raw-50m.txt}"
py=$(command -v python3 || echo /usr/bin/python3)

[ -x /usr/bin/time ] || bench_die "/usr/bin/time not found (apt-get install time)"
[ -x "$tokvec" ] || bench_die "$tokvec not built (tools/build.sh)"
mkdir -p "$work"
gen="$here/tools/gen_bpe_scale.py"
[ -s "$work/cjk-run.txt" ] || "$py" "$gen" cjk "$work/cjk-run.txt" --style run --seed 1
[ -s "$work/cjk-prose.txt" ] || "$py" "$gen" cjk "$work/cjk-prose.txt" --style prose --seed 1
if [[ " $inputs " == *" words "* && ! -s "$work/words.txt" ]]; then
  [ -s "$english" ] || bench_prepare_corpus "$(dirname "$english")" "$(basename "$english")"
  "$py" "$gen" words "$work/words.txt" --english "$english" --seed 1
fi

# bpe-train's normalisation (docs/cli.md), independently of tokvec: lines end at \n, \r\n or \r; runs
# of Unicode White_Space become one space; no leading or trailing space; every line ends
# in \n. Compares it with the decoded file; prints "ok" or where they differ.
check_round_trip() {
  "$py" - "$1" "$2" <<'EOF'
import re, sys
ws = "[ \t\x0b\x0c\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+"
raw = open(sys.argv[1], "rb").read().decode("utf-8", "surrogateescape")
lines = re.split("\r\n|\r|\n", raw)
if raw.endswith(("\n", "\r")):
    lines.pop()
sp = re.compile(ws)
norm = "".join(sp.sub(" ", l).strip(" ") + "\n" for l in lines).encode("utf-8", "surrogateescape")
back = open(sys.argv[2], "rb").read()
if back == norm:
    print("ok")
else:
    i = next((k for k in range(min(len(back), len(norm))) if back[k] != norm[k]), min(len(back), len(norm)))
    print(f"DIFFERS at byte {i} (decoded {len(back)} bytes, normalised {len(norm)})")
EOF
}

# timed NAME CMD...: wall s, user s, peak RSS KB into $work/NAME.time
timed() {
  local name="$1"; shift
  /usr/bin/time -f "%e %U %M" -o "$work/$name.time" "$@"
}
field() { cut -d' ' -f"$2" "$work/$1.time"; }

echo "vocab $vocab, $threads threads, $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %-9s %12s %9s %9s %9s %9s %9s %12s %s\n' input build "distinct" "train s" "user s" "RSS MB" "enc s" "enc MB" tokens "round trip"
for name in $inputs; do
  data="$work/$name.txt"
  for which in ${BASELINE:+baseline} tokvec; do
    bin="$tokvec"
    [ "$which" = baseline ] && bin="$BASELINE"
    tag="$name.$which"
    timed "$tag.train" "$bin" bpe-train --input "$data" --output "$work/$tag.model" --vocab-size "$vocab" \
      --threads "$threads" 2> "$work/$tag.train.log"
    distinct=$(sed -n 's/.* \([0-9.]* [kM]\) distinct pre-tokens.*/\1/p' "$work/$tag.train.log" | tail -1)
    timed "$tag.encode" "$bin" encode --model "$work/$tag.model" --input "$data" --output "$work/$tag.corpus" \
      --threads "$threads" --quiet
    tokens=$("$bin" inspect "$work/$tag.corpus" | sed -n 's/^ *tokens: \([0-9]*\) in.*/\1/p')
    "$bin" decode --model "$work/$tag.model" --input "$work/$tag.corpus" --output "$work/$tag.back"
    rt=$(check_round_trip "$data" "$work/$tag.back")
    printf '%-10s %-9s %12s %9s %9s %9d %9s %9d %12s %s\n' "$name" "$which" "${distinct:--}" \
      "$(field "$tag.train" 1)" "$(field "$tag.train" 2)" $(( $(field "$tag.train" 3) / 1024 )) \
      "$(field "$tag.encode" 1)" $(( $(field "$tag.encode" 3) / 1024 )) "$tokens" "$rt"
    rm -f "$work/$tag.corpus" "$work/$tag.back"
  done
  if [ -n "${BASELINE:-}" ]; then
    if cmp -s "$work/$name.baseline.model" "$work/$name.tokvec.model"; then
      echo "$name: the two builds wrote the same model bytes"
    else
      echo "$name: the two builds wrote DIFFERENT models"
    fi
  fi
done

if [ "${SPM:-0}" = 1 ]; then
  command -v spm_train >/dev/null || bench_die "spm_train not found (apt-get install sentencepiece)"
  # No whitespace to split on: each line is one "sentence" (max_sentence_length raised
  # above the longest line, about 2 KB here; cjk-run.txt's single 100 MB line could not be
  # given to it at all). --input_sentence_size=0 reads every line.
  set +e
  timed spm.train timeout "${SPM_TIMEOUT:-1800}" spm_train --input="$work/cjk-prose.txt" --model_prefix="$work/spm" \
    --vocab_size="$vocab" --model_type=bpe --num_threads="$threads" --character_coverage=0.9995 \
    --max_sentence_length=20000 --input_sentence_size=0 > "$work/spm.log" 2>&1
  rc=$?
  set -e
  echo "sentencepiece bpe on cjk-prose: exit $rc, $(field spm.train 1) s wall, $(field spm.train 2) s user," \
    "$(( $(field spm.train 3) / 1024 )) MB peak (124 = stopped by the timeout)"
fi
