#!/usr/bin/env bash
# The stability curve: for each mode and epoch count, two runs that differ only in the seed,
# then `tokvec audit RUN --stability OTHER`. Prints each curve (median neighbour overlap per
# bucket of updates), the derived threshold, and the time of the audit beside the time of
# the training run it audits. Usage: tools/bench_stability.sh --help
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: tools/bench_stability.sh [options]

  --tokvec PATH   tokvec binary (default $TOKVEC, else build/tokvec)
  --data DIR      folder holding gut100m.txt (decompressed there from
                  $TOKVEC_SHARED_DIR/corpora/gut100m.txt.xz when missing; default out/data)
  --modes LIST    words and/or bpe (default "words bpe")
  --epochs LIST   epoch counts (default "1 5")
  --threads N     training and audit threads (default 2)
  --k N           neighbours compared (default 10)
  --out DIR       output folder (default out/bench-stability)
  -h, --help      this text

Runs: `train --input gut100m.txt --words` (dim 100, window 5, negative 5, sample 1e-4,
min-count 5: the defaults) or `--bpe-vocab-size 32000` (the second seed reuses the first
run's tokenizer, so both have the same rows), `--seed 1` and `--seed 2`.
USAGE
}

source "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"
TOKVEC_BIN=${TOKVEC:-$BENCH_REPO_DIR/build/tokvec}
DATA=$BENCH_REPO_DIR/out/data
MODES="words bpe"
EPOCHS="1 5"
THREADS=2
K=10
OUT=$BENCH_REPO_DIR/out/bench-stability
while (($#)); do
    case $1 in
        --tokvec) TOKVEC_BIN=${2:?}; shift 2 ;;
        --data) DATA=${2:?}; shift 2 ;;
        --modes) MODES=${2:?}; shift 2 ;;
        --epochs) EPOCHS=${2:?}; shift 2 ;;
        --threads) THREADS=${2:?}; shift 2 ;;
        --k) K=${2:?}; shift 2 ;;
        --out) OUT=${2:?}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) bench_die "unknown option $1 (see --help)" ;;
    esac
done
bench_prepare_corpus "$DATA" gut100m.txt
mkdir -p "$OUT"
PY=/usr/bin/python3

for mode in $MODES; do
    for epochs in $EPOCHS; do
        name=$mode-e$epochs
        for seed in 1 2; do
            run=$OUT/$name-s$seed
            if [[ $mode == words ]]; then
                how=(--words)
            elif [[ $seed == 1 ]]; then
                how=(--bpe-vocab-size 32000)
            else
                how=(--tokenizer "$OUT/$name-s1/tokenizer.bpe")
            fi
            bench_timed "$name-s$seed.train" "$OUT" -- "$TOKVEC_BIN" train --input "$DATA/gut100m.txt" --output "$run" \
                "${how[@]}" --epochs "$epochs" --seed "$seed" --threads "$THREADS" --force --quiet
            [[ $BENCH_RC == 0 ]] || bench_die "training $run failed (see $OUT/$name-s$seed.train.log)"
            [[ $seed == 1 ]] && train_wall=$BENCH_WALL
        done
        bench_timed "$name.audit" "$OUT" -- "$TOKVEC_BIN" audit "$OUT/$name-s1" --stability "$OUT/$name-s2" --k "$K" \
            --threads "$THREADS" --json "$OUT/$name.json" --svg "$OUT/$name.svg"
        [[ $BENCH_RC == 0 ]] || bench_die "audit of $name failed (see $OUT/$name.audit.log)"
        audit_wall=$BENCH_WALL
        bench_timed "$name.plain-audit" "$OUT" -- "$TOKVEC_BIN" audit "$OUT/$name-s1" --threads "$THREADS" --json "$OUT/$name.plain.json"
        plain_wall=$BENCH_WALL
        "$PY" - "$OUT/$name.json" "$name" "$train_wall" "$audit_wall" "$plain_wall" <<'PY'
import json, sys
path, name, train, audit, plain = sys.argv[1:]
j = json.load(open(path))
st, g = j["stability"], j["geometry"]
print(f"### {name}: {j['vocab_size']} rows, derived threshold {st['threshold']} updates "
      f"(first bucket whose median overlap of k={st['k']} neighbours reaches {st['needed']:.2f} = "
      f"{st['level']} x the plateau {st['plateau']:.2f}), {st['rows_compared']} rows compared")
print(f"train (seed 1) {float(train):.1f} s, audit --stability {float(audit):.1f} s "
      f"({float(audit) / float(train):.2f}x), audit without it {float(plain):.2f} s; "
      f"anisotropy {g['anisotropy']:.3f}, hubness {g['hubness']:.2f} (top hub {g['top_hub']!r}, in {g['max_occurrence']} lists)")
print()
print("| updates | rows | median overlap | mean overlap |")
print("| --- | --- | --- | --- |")
for b in st["bins"]:
    print(f"| {b['updates']} | {b['rows']} | {b['median']:.2f} | {b['mean']:.2f} |")
print()
PY
    done
done
