#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job on the bundled corpus:
# raw text -> BPE tokenizer -> token corpus -> skip-gram vectors -> export -> neighbours.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
tools/build.sh
tokvec=${TOKVEC_BUILD_DIR:-build}/tokvec
run=runs/demo
mkdir -p runs
"$tokvec" train --input corpora/gutenberg-3m.txt --output "$run" --bpe-vocab-size 8000 --epochs 3 --force
"$tokvec" export "$run" --format word2vec-text --output "$run/tokens.vec"
printf '%s\n' king queen love sea ship night dreadful unbelievable | sed 's/$//' > "$run/words.txt"
"$tokvec" export "$run" --format word2vec-text --words "$run/words.txt" --output "$run/words.vec"
"$tokvec" neighbors "$run" sea love night -k 8
echo "demo: vectors in $run/tokens.vec (tokens) and $run/words.vec (words composed from pieces)"
