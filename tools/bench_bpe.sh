#!/usr/bin/env bash
# BPE benchmark: tokvec and sentencepiece side by side, in the same run, on the same data.
#
#   tools/bench_bpe.sh [DATA_DIR]        (or TOKVEC_BENCH_DATA=DATA_DIR tools/bench_bpe.sh)
#
# DATA_DIR (default /tmp/data) must hold gut-raw-50m.txt or will receive it, decompressed
# from $TOKVEC_SHARED_CORPORA/gut-raw-50m.txt.xz (default: $TOKVEC_SHARED_DIR/corpora, and
# TOKVEC_SHARED_DIR defaults to ../shared beside this checkout; docs/benchmarks.md says where
# the corpora come from). Settings: vocabulary 32000, 2 threads.
# Environment: TOKVEC (the binary, default build/tokvec), THREADS (2), VOCAB (32000).
# Prints train seconds, train peak RSS, encode seconds and MB/s, token counts and ratios.
# Timings on a shared machine are noisy: compare the ratios, and run it more than once.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data_dir="${1:-${TOKVEC_BENCH_DATA:-/tmp/data}}"
shared="${TOKVEC_SHARED_CORPORA:-${TOKVEC_SHARED_DIR:-$here/../shared}/corpora}"
tokvec="${TOKVEC:-$here/build/tokvec}"
threads="${THREADS:-2}"
vocab="${VOCAB:-32000}"

command -v spm_train >/dev/null || { echo "bench_bpe: spm_train not found (apt-get install sentencepiece)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench_bpe: /usr/bin/time not found (apt-get install time)" >&2; exit 1; }
[ -x "$tokvec" ] || { echo "bench_bpe: $tokvec not built (cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build)" >&2; exit 1; }

mkdir -p "$data_dir"
data="$data_dir/gut-raw-50m.txt"
if [ ! -s "$data" ]; then
  [ -f "$shared/gut-raw-50m.txt.xz" ] || { echo "bench_bpe: $data missing and no $shared/gut-raw-50m.txt.xz" >&2; exit 1; }
  echo "decompressing $shared/gut-raw-50m.txt.xz -> $data" >&2
  xz -dc "$shared/gut-raw-50m.txt.xz" > "$data.tmp" && mv "$data.tmp" "$data"
fi
bytes=$(stat -c %s "$data")

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# run NAME CMD...: wall seconds and peak RSS (KB) of CMD into $work/NAME.time
run() {
  local name="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/$name.time" "$@"
}

echo "data: $data ($bytes bytes), vocab $vocab, $threads threads, $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"

run tv_train "$tokvec" bpe-train --input "$data" --vocab-size "$vocab" --output "$work/tv.model" --threads "$threads" --quiet
run spm_train spm_train --input="$data" --model_prefix="$work/spm" --vocab_size="$vocab" --model_type=bpe \
  --num_threads="$threads" --max_sentence_length=200000 --character_coverage=1.0 >/dev/null 2>&1
run tv_encode "$tokvec" encode --model "$work/tv.model" --input "$data" --output "$work/tv.corpus" --threads "$threads" --quiet
run spm_encode sh -c "spm_encode --model='$work/spm.model' --output_format=id < '$data' > '$work/spm.ids'"

tv_tokens=$("$tokvec" inspect "$work/tv.corpus" | sed -n 's/^ *tokens: \([0-9]*\) in.*/\1/p')
spm_tokens=$(wc -w < "$work/spm.ids")
# Round trip check: decode(encode(x)) == normalise(x) is tested in the unit tests; here
# only that decode runs and gives back as many lines.
"$tokvec" decode --model "$work/tv.model" --input "$work/tv.corpus" --output "$work/tv.back"

python3 - "$work" "$bytes" "$tv_tokens" "$spm_tokens" <<'EOF'
import sys
work, size, tv_tokens, spm_tokens = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def t(name):
    s, kb = open(f"{work}/{name}.time").read().split()[-2:]
    return float(s), int(kb) / 1024
tvt, tvm = t("tv_train"); spt, spm = t("spm_train")
tve, tvem = t("tv_encode"); spe, spem = t("spm_encode")
mb = size / 1e6
print(f"{'tool':<14}{'train s':>9}{'train RSS MB':>14}{'encode s':>10}{'encode MB/s':>13}{'enc RSS MB':>12}{'tokens':>12}")
print(f"{'tokvec':<14}{tvt:>9.2f}{tvm:>14.0f}{tve:>10.2f}{mb / tve:>13.1f}{tvem:>12.0f}{tv_tokens:>12}")
print(f"{'sentencepiece':<14}{spt:>9.2f}{spm:>14.0f}{spe:>10.2f}{mb / spe:>13.1f}{spem:>12.0f}{spm_tokens:>12}")
print(f"ratios (sentencepiece / tokvec): train {spt / tvt:.1f}x faster, encode {spe / tve:.1f}x faster, "
      f"tokens {tv_tokens / spm_tokens:.4f} of sentencepiece's")
EOF
