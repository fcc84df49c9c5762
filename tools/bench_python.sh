#!/usr/bin/env bash
# tokvec's Python module against its peers' Python modules, in one run:
#   encode  encoding 50 MB of raw English against sentencepiece's Python module, with
#           models of the same vocabulary size
#   train   tokvec.train against fasttext.train_unsupervised and gensim's Word2Vec with the
#           same settings
#
#   tools/bench_python.sh [DATA_DIR]      (DATA_DIR default /tmp/data)
#
# Environment: PARTS ("encode train"), ROUNDS (1: each part's measurements repeated, the
# tools alternating), PYTHON (/usr/bin/python3), BASELINE (a folder holding another build's
# tokvec package, e.g. an older checkout's build/python: measured beside this build's, in
# the same rounds).
# encode: $TOKVEC_DATA (a text file, or .xz), else DATA_DIR/gut-raw-50m.txt, decompressed
#   from $TOKVEC_SHARED_DIR/corpora/gut-raw-50m.txt.xz when missing (TOKVEC_SHARED_DIR
#   defaults to ../shared beside this checkout). VOCAB (32000), THREADS (2: tokvec's batch
#   encode and sentencepiece's num_threads), SPM_TRAIN_MB (10: both models are trained on the
#   text's first 10 MB; sentencepiece takes about 25 s). Needs python3-sentencepiece.
#   Prints seconds, MB/s and tokvec / sentencepiece for:
#     batch        one call with the list of every line (a list of id lists)
#     batch, flat  one encode_flat call with that list (numpy ids + offsets)
#     loop         one call per line
#     call         one call on a one-word text, averaged over 200,000 calls
# train: DATA_DIR/gut100m.txt (from gut100m.txt.xz), its first TRAIN_MB (20) megabytes;
#   skip-gram, dim 100, window 5, negative 5, 1 epoch, min-count 5, sample 1e-4, learning
#   rate 0.025, TRAIN_THREADS (2) threads; fastText without character n-grams (maxn=0), so
#   all three train the same model. Needs python3-fasttext and python3-gensim. Prints each
#   tool's wall seconds (vocabulary and training, one call each) and its ratio to tokvec's.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$here/tools/bench_common.sh"
data_dir="${1:-/tmp/data}"
python="${PYTHON:-/usr/bin/python3}"
build="${TOKVEC_BUILD_DIR:-$here/build}"
parts="${PARTS:-encode train}"
rounds="${ROUNDS:-1}"
baseline="${BASELINE:-}"
[[ -f $build/python/tokvec/__init__.py ]] || bench_die "no Python module in $build/python (tools/build.sh builds it when pybind11 and python3-dev are installed)"
[[ -z $baseline || -f $baseline/tokvec/__init__.py ]] || bench_die "BASELINE=$baseline holds no tokvec package"
work=$(mktemp -d "${TMPDIR:-/tmp}/tokvec-bench-python-XXXXXX")
trap 'rm -rf "$work"' EXIT

if [[ " $parts " == *" encode "* ]]; then
  "$python" -c 'import sentencepiece' 2>/dev/null || bench_die "$python cannot import sentencepiece (apt-get install python3-sentencepiece)"
  if [[ -n ${TOKVEC_DATA:-} ]]; then
    data=$TOKVEC_DATA
  else
    bench_prepare_corpus "$data_dir" gut-raw-50m.txt
    data=$data_dir/gut-raw-50m.txt
  fi
  "$python" - "$data" "$work" "${VOCAB:-32000}" "${THREADS:-2}" "${SPM_TRAIN_MB:-10}" "$rounds" "$build/python" "$baseline" <<'PY'
import lzma, os, subprocess, sys, time

data, work, vocab, threads, train_mb, rounds, current, baseline = sys.argv[1:9]
vocab, threads, train_mb, rounds = int(vocab), int(threads), int(train_mb), int(rounds)
raw = lzma.open(data).read() if data.endswith(".xz") else open(data, "rb").read()
mb = len(raw) / 1e6
cut = raw.find(b"\n", train_mb * 1000000) + 1 or len(raw)
with open(f"{work}/sample.txt", "wb") as f:
    f.write(raw[:cut])
lines = raw.decode("utf-8").splitlines()
print(f"text: {data}: {mb:.1f} MB, {len(lines):,} lines; models: vocabulary {vocab}, trained on its first {cut/1e6:.1f} MB; {threads} threads")
del raw, lines

# Each measurement in a process of its own (the same text, the same models), so that two
# builds of tokvec can be compared in one run.
MEASURE = r'''
import lzma, sys, time
data, work, tool, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
raw = lzma.open(data).read() if data.endswith(".xz") else open(data, "rb").read()
lines = raw.decode("utf-8").splitlines()
del raw
if tool == "sentencepiece":
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=f"{work}/spm.model")
    batch = lambda: sp.encode(lines, num_threads=threads)
    flat = None
    enc = sp.encode
else:
    import tokvec
    tok = tokvec.Tokenizer(f"{work}/tokvec.bpe")
    batch = lambda: tok.encode(lines, threads=threads)
    flat = (lambda: tok.encode_flat(lines, threads=threads)) if hasattr(tok, "encode_flat") else None
    enc = tok.encode
def timed(f):
    t = time.perf_counter()
    r = f()
    return time.perf_counter() - t, r
out = {}
out["batch"], ids = timed(batch)
out["tokens"] = sum(map(len, ids))
del ids
if flat:
    out["flat"], r = timed(flat)
    del r
out["loop"], r = timed(lambda: [enc(l) for l in lines])
del r
n = 200000
out["call"] = timed(lambda: [enc("sea") for _ in range(n)])[0] / n
print(repr(out))
'''

def measure(tool, path):
    env = dict(os.environ, PYTHONPATH=path) if path else dict(os.environ)
    r = subprocess.run([sys.executable, "-c", MEASURE, data, work, "sentencepiece" if tool == "sentencepiece" else "tokvec", str(threads)],
                       env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"bench_python: {tool}: {r.stderr}")
    return eval(r.stdout.strip().splitlines()[-1])

t = time.perf_counter()
env = dict(os.environ, PYTHONPATH=current)
subprocess.run([sys.executable, "-c", f"import tokvec; tokvec.Tokenizer.train([{work!r} + '/sample.txt'], vocab_size={vocab}, threads={threads}).save({work!r} + '/tokvec.bpe')"],
               env=env, check=True)
print(f"train: tokvec {time.perf_counter() - t:.2f} s", end="", flush=True)
import sentencepiece as spm
t = time.perf_counter()
spm.SentencePieceTrainer.Train(input=f"{work}/sample.txt", model_prefix=f"{work}/spm", vocab_size=vocab, model_type="bpe",
                               num_threads=threads, max_sentence_length=200000, character_coverage=1.0, minloglevel=2)
print(f", sentencepiece {time.perf_counter() - t:.2f} s")

tools = [("sentencepiece", None)] + ([("tokvec (BASELINE)", baseline)] if baseline else []) + [("tokvec", current)]
rows = []
for round_ in range(rounds):
    got = {name: measure(name, path) for name, path in tools}
    sp = got["sentencepiece"]
    if round_ == 0:
        print("tokens: " + ", ".join(f"{name} {r['tokens']:,}" for name, r in got.items()))
    for name, _ in tools[1:]:
        r = got[name]
        rows.append((round_ + 1, name, "batch: one call, a list of every line", r["batch"], sp["batch"]))
        if "flat" in r:
            rows.append((round_ + 1, name, "batch, flat: encode_flat (numpy ids + offsets)", r["flat"], sp["batch"]))
        rows.append((round_ + 1, name, "loop: one call per line", r["loop"], sp["loop"]))
        rows.append((round_ + 1, name, "per call, one word (mean of 200,000)", r["call"], sp["call"]))
print("| round | module | encoding from Python | tokvec | tokvec MB/s | sentencepiece | sentencepiece MB/s | tokvec / sentencepiece |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for round_, name, what, a, b in rows:
    if what.startswith("per call"):
        print(f"| {round_} | {name} | {what} | {a*1e6:.2f} us | | {b*1e6:.2f} us | | {b/a:.1f}x |")
    else:
        print(f"| {round_} | {name} | {what} | {a:.2f} s | {mb/a:.1f} | {b:.2f} s | {mb/b:.1f} | {b/a:.1f}x |")
PY
fi

if [[ " $parts " == *" train "* ]]; then
  "$python" -c 'import fasttext' 2>/dev/null || bench_die "$python cannot import fasttext (apt-get install python3-fasttext)"
  "$python" -c 'import gensim' 2>/dev/null || bench_die "$python cannot import gensim (apt-get install python3-gensim)"
  bench_prepare_corpus "$data_dir" gut100m.txt
  train_mb=${TRAIN_MB:-20}
  head -c $((train_mb * 1000000)) "$data_dir/gut100m.txt" > "$work/train.txt"
  "$python" - "$work" "${TRAIN_THREADS:-2}" "$rounds" "$build/python" <<'PY'
import os, subprocess, sys

work, threads, rounds, current = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
text = f"{work}/train.txt"
# One process per run, timed inside it around the one call (imports and start-up left out).
RUNS = {
    "tokvec": f"""
import tokvec
tokvec.train({text!r}, {work!r} + '/tv', words=True, dim=100, window=5, negative=5, sample=1e-4, min_count=5, epochs=1,
             threads={threads}, lr=0.025, checkpoint_every="off", progress=False, force=True)
""",
    "fastText": f"""
import fasttext
fasttext.train_unsupervised({text!r}, model="skipgram", dim=100, ws=5, neg=5, t=1e-4, minCount=5, epoch=1,
                            thread={threads}, lr=0.025, minn=0, maxn=0, verbose=0)
""",
    "gensim": f"""
from gensim.models import Word2Vec
Word2Vec(corpus_file={text!r}, sg=1, vector_size=100, window=5, negative=5, sample=1e-4, min_count=5, epochs=1,
         workers={threads}, alpha=0.025)
""",
}
def run(name):
    code = RUNS[name].strip().split("\n", 1)
    program = f"import time\n{code[0]}\nt = time.perf_counter()\n{code[1]}\nprint(time.perf_counter() - t)"
    r = subprocess.run([sys.executable, "-c", program], env=dict(os.environ, PYTHONPATH=current), capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"bench_python: {name}: {r.stderr}")
    return float(r.stdout.strip().splitlines()[-1])

words = sum(len(l.split()) for l in open(text, encoding="utf-8"))
print(f"training text: {text}: {os.path.getsize(text)/1e6:.1f} MB, {words:,} words; {threads} threads")
print("| round | tokvec.train s | fasttext.train_unsupervised s | gensim Word2Vec s | fastText / tokvec | gensim / tokvec |")
print("| --- | --- | --- | --- | --- | --- |")
for round_ in range(rounds):
    t = {name: run(name) for name in ("tokvec", "fastText", "gensim")}
    print(f"| {round_ + 1} | {t['tokvec']:.2f} | {t['fastText']:.2f} | {t['gensim']:.2f} | {t['fastText']/t['tokvec']:.2f}x | {t['gensim']/t['tokvec']:.2f}x |", flush=True)
PY
fi
