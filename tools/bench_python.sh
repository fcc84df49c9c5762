#!/usr/bin/env bash
# The Python module's encoding speed against sentencepiece's Python module, in one process,
# on the same text, with models of the same vocabulary size.
#
#   tools/bench_python.sh [DATA_DIR]      (DATA_DIR default /tmp/data)
#
# Text: $TOKVEC_DATA (a text file, or .xz), else DATA_DIR/gut-raw-50m.txt, decompressed from
# $TOKVEC_SHARED_DIR/corpora/gut-raw-50m.txt.xz when missing (TOKVEC_SHARED_DIR defaults to
# ../shared beside this checkout; docs/benchmarks.md says what the data is).
# Environment: VOCAB (32000), THREADS (2: tokvec's batch encode and sentencepiece's
# num_threads), SPM_TRAIN_MB (10: sentencepiece trains on the text's first 10 MB, which takes
# it about 25 s; tokvec trains on the same bytes), PYTHON (/usr/bin/python3).
# Needs the module built (tools/build.sh builds it into build/python) and Debian's
# python3-sentencepiece. Prints seconds, MB/s and the per-call overhead for:
#   batch   one call with the list of every line
#   loop    one call per line
#   call    one call on a one-word text, averaged over 200,000 calls
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$here/tools/bench_common.sh"
data_dir="${1:-/tmp/data}"
python="${PYTHON:-/usr/bin/python3}"
build="${TOKVEC_BUILD_DIR:-$here/build}"
[[ -f $build/python/tokvec/__init__.py ]] || bench_die "no Python module in $build/python (tools/build.sh builds it when pybind11 and python3-dev are installed)"
"$python" -c 'import sentencepiece' 2>/dev/null || bench_die "$python cannot import sentencepiece (apt-get install python3-sentencepiece)"
if [[ -n ${TOKVEC_DATA:-} ]]; then
  data=$TOKVEC_DATA
else
  bench_prepare_corpus "$data_dir" gut-raw-50m.txt
  data=$data_dir/gut-raw-50m.txt
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/tokvec-bench-python-XXXXXX")
trap 'rm -rf "$work"' EXIT
PYTHONPATH="$build/python" "$python" - "$data" "$work" "${VOCAB:-32000}" "${THREADS:-2}" "${SPM_TRAIN_MB:-10}" <<'PY'
import lzma, sys, time
import sentencepiece as spm
import tokvec

data, work, vocab, threads, train_mb = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
raw = lzma.open(data).read() if data.endswith(".xz") else open(data, "rb").read()
text = raw.decode("utf-8")
lines = text.splitlines()
mb = len(raw) / 1e6
sample = f"{work}/sample.txt"
cut = raw.find(b"\n", train_mb * 1000000) + 1 or len(raw)
with open(sample, "wb") as f:
    f.write(raw[:cut])
print(f"text: {data}: {mb:.1f} MB, {len(lines):,} lines; models: vocabulary {vocab}, trained on its first {cut/1e6:.1f} MB; {threads} threads")

t = time.perf_counter()
tok = tokvec.Tokenizer.train([sample], vocab_size=vocab, threads=threads)
print(f"train: tokvec {time.perf_counter() - t:.2f} s", end="", flush=True)
t = time.perf_counter()
spm.SentencePieceTrainer.Train(input=sample, model_prefix=f"{work}/spm", vocab_size=vocab, model_type="bpe",
                               num_threads=threads, max_sentence_length=200000, character_coverage=1.0,
                               minloglevel=2)
print(f", sentencepiece {time.perf_counter() - t:.2f} s")
sp = spm.SentencePieceProcessor(model_file=f"{work}/spm.model")

def timed(f):
    t = time.perf_counter()
    r = f()
    return time.perf_counter() - t, r

rows = []
tv_batch, ids = timed(lambda: tok.encode(lines, threads=threads))
tv_tokens = sum(map(len, ids)); del ids
sp_batch, ids = timed(lambda: sp.encode(lines, num_threads=threads))
sp_tokens = sum(map(len, ids)); del ids
enc = tok.encode
tv_loop, _ = timed(lambda: [enc(l) for l in lines])
spe = sp.encode
sp_loop, _ = timed(lambda: [spe(l) for l in lines])
n = 200000
tv_call, _ = timed(lambda: [enc("sea") for _ in range(n)])
sp_call, _ = timed(lambda: [spe("sea") for _ in range(n)])

print(f"tokens: tokvec {tv_tokens:,}, sentencepiece {sp_tokens:,}")
print("| encoding from Python | tokvec s | tokvec MB/s | sentencepiece s | sentencepiece MB/s | tokvec / sentencepiece |")
print("| --- | --- | --- | --- | --- | --- |")
for name, a, b in (("batch: one call, a list of every line", tv_batch, sp_batch), ("loop: one call per line", tv_loop, sp_loop)):
    print(f"| {name} | {a:.2f} | {mb/a:.1f} | {b:.2f} | {mb/b:.1f} | {b/a:.1f}x |")
print(f"| per call, one word (mean of {n:,}) | {tv_call/n*1e6:.2f} us | | {sp_call/n*1e6:.2f} us | | {sp_call/tv_call:.1f}x |")
PY
