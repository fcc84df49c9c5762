#!/usr/bin/python3
"""Peer runner for tokvec's training benchmark: gensim skip-gram with negative sampling.

usage: gensim_train.py --input LINES.txt --output VEC [--threads 2] [--dim 100] [--window 5]
                       [--negative 5] [--sample 1e-4] [--min-count 5] [--epochs 1]
                       [--timings FILE] [--no-save]

Trains Word2Vec(corpus_file=INPUT, sg=1, hs=0, ...) with gensim's default learning rate
and writes the vectors in word2vec text format. INPUT must be in lines of at most a few
thousand words: corpus_file mode silently trains only the start of a very long line.
Writes a JSON object with the phases' seconds (vocab, train, save) to --timings, so a
caller timing the whole process can also report training alone. --no-save skips writing
the vectors (the scale benchmark compares training only: a 1 M x 300 text file takes
longer to write than the training it follows).
"""
import argparse
import json
import logging
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--input", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--dim", type=int, default=100)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--negative", type=int, default=5)
    p.add_argument("--sample", type=float, default=1e-4)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--timings")
    p.add_argument("--no-save", action="store_true")
    a = p.parse_args()

    logging.basicConfig(format="%(asctime)s %(levelname)s %(message)s", level=logging.INFO)
    t0 = time.monotonic()
    from gensim.models import Word2Vec  # imported here: the import is part of the timed run
    from gensim.models.word2vec_corpusfile import CORPUSFILE_VERSION

    if CORPUSFILE_VERSION < 0:
        print("gensim_train.py: this gensim has no compiled corpus_file support", file=sys.stderr)
        return 2
    t_import = time.monotonic()
    # The one-call form Word2Vec(corpus_file=..., ...) builds the vocabulary and trains;
    # split here into the same two calls so that the phases can be timed.
    model = Word2Vec(sg=1, vector_size=a.dim, window=a.window, negative=a.negative, hs=0,
                     sample=a.sample, min_count=a.min_count, workers=a.threads, epochs=a.epochs)
    model.build_vocab(corpus_file=a.input)
    t_vocab = time.monotonic()
    model.train(corpus_file=a.input, total_examples=model.corpus_count,
                total_words=model.corpus_total_words, epochs=a.epochs)
    t_train = time.monotonic()
    if not a.no_save:
        model.wv.save_word2vec_format(a.output, binary=False)
    t_save = time.monotonic()

    timings = {
        "import_s": round(t_import - t0, 3),
        "vocab_s": round(t_vocab - t_import, 3),
        "train_s": round(t_train - t_vocab, 3),
        "save_s": round(t_save - t_train, 3),
        "corpus_words": int(model.corpus_total_words),
        "vocab_size": len(model.wv.index_to_key),
        "alpha": model.alpha,
    }
    print(json.dumps(timings), file=sys.stderr)
    if a.timings:
        with open(a.timings, "w") as f:
            f.write(json.dumps(timings) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
