#!/usr/bin/env python3
"""The skip-gram negative-sampling loss of a trained words model on a text: a measure of the
final model's quality that needs no evaluation data, used by tests/mpi_test.sh to compare a
distributed run with a single process (the training log's mean loss cannot: it is measured
on each rank's replica during training, so it stays the same even when the ranks never
sync and the combined model is broken).

usage: model_loss.py PREFIX TEXT [--window 5] [--negative 5] [--seed 1]
  PREFIX.in.npy / PREFIX.in.vocab.txt:  `tokvec export RUN --format npy --output PREFIX.in.npy`
  PREFIX.out.npy:                       `tokvec export RUN --format npy --matrix output --output PREFIX.out.npy`

For every token c of TEXT (whitespace-split; tokens outside the vocabulary are dropped) and
every token w at distance 1..window from it, with K negatives n_k drawn from the text's own
unigram^0.75 distribution, the loss of the pair is

    -log σ(u_w·v_c) - Σ_k log σ(-u_{n_k}·v_c)

(v: input rows, u: output rows), the function training minimises, without subsampling or
window shrinking. Prints the mean over pairs. The negatives depend only on the text and the
seed, so two models of the same vocabulary are scored on exactly the same pairs.
"""
import argparse

import numpy as np


def unescape(s):  # the npy vocabulary escapes only \\ \n \r
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\":
            out.append({"\\": "\\", "n": "\n", "r": "\r"}[s[i + 1]])
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("prefix")
    p.add_argument("text")
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--negative", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    V = np.load(a.prefix + ".in.npy").astype(np.float64)
    U = np.load(a.prefix + ".out.npy").astype(np.float64)
    with open(a.prefix + ".in.vocab.txt", encoding="utf-8", newline="") as f:
        vocab = [unescape(line[:-1]) for line in f]
    if V.shape != U.shape or V.shape[0] != len(vocab):
        raise SystemExit(f"{a.prefix}: input {V.shape}, output {U.shape} and {len(vocab)} tokens do not match")
    # Both exports are in frequency order, but rows are matched by token, not by position.
    ids = {w: i for i, w in enumerate(vocab)}
    with open(a.text, encoding="utf-8") as f:
        tokens = np.array([ids[w] for w in f.read().split() if w in ids], dtype=np.int64)
    if len(tokens) <= a.window:
        raise SystemExit(f"{a.text}: fewer than {a.window + 1} tokens of the vocabulary")
    weights = np.bincount(tokens, minlength=len(vocab)).astype(np.float64) ** 0.75
    weights /= weights.sum()
    rng = np.random.default_rng(a.seed)

    def neg_log_sigmoid(z):
        return np.logaddexp(0.0, -z)

    total, pairs = 0.0, 0
    for offset in range(1, a.window + 1):
        for c, w in ((tokens[:-offset], tokens[offset:]), (tokens[offset:], tokens[:-offset])):
            vc = V[c]
            total += neg_log_sigmoid(np.einsum("ij,ij->i", vc, U[w])).sum()
            for _ in range(a.negative):
                n = rng.choice(len(vocab), size=len(c), p=weights)
                total += neg_log_sigmoid(-np.einsum("ij,ij->i", vc, U[n])).sum()
            pairs += len(c)
    print(f"{total / pairs:.4f}")


if __name__ == "__main__":
    main()
