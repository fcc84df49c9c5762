#!/usr/bin/env python3
"""Synthetic inputs for BPE training at scale. Deterministic for a given seed.

  gen_bpe_scale.py cjk   OUT [--bytes N] [--seed S] [--style prose|run]
  gen_bpe_scale.py words OUT --english FILE [--distinct N] [--insertions M] [--seed S]

cjk: Chinese-like text with no spaces. 6,000 code points drawn from the CJK Unified
  Ideographs block are ranked by a seeded shuffle and drawn Zipf-like (weight 1/rank); a
  lexicon of 40,000 "words" of 2 to 4 such characters is drawn Zipf-like too (weight
  1/rank^1.05), so frequent character sequences exist for merges to find. The stream is
  60 % lexicon words and 40 % single characters.
    --style prose (default): clauses of 4 to 20 characters end in '，' (or '。' for a
      sentence end, '？' '！' now and then); a line holds 3 to 12 sentences. About the
      shape of real Chinese prose: the pre-tokens are the clauses, nearly all distinct.
    --style run: no punctuation and no line break at all, one line of N bytes: every
      pre-token is a 32-character chunk, the worst case for a trainer that works on
      distinct pre-tokens.
  About 3 bytes per character, so 100 MB is about 33 M characters.

words: English text with millions of distinct words mixed in. Each whitespace-separated
  word of FILE (e.g. gut-raw-50m.txt) is preceded, with probability chosen so that about M
  insertions are made, by a token drawn uniformly from a pool of N synthetic tokens:
  lower-case letter strings of 6 to 12 letters (60 %), numbers of 7 to 12 digits (25 %)
  and capitalised letter strings (15 %). Token i of the pool is a function of (seed, i)
  (BLAKE2b), so the pool needs no memory. With M = 1.5 N, about 78 % of the pool is used,
  a third of it once, the rest two or more times (Poisson). The output holds FILE's text
  with its line breaks, plus the insertions.

Writes OUT atomically (OUT.tmp then rename). Uses only the standard library.
"""
import argparse
import bisect
import hashlib
import itertools
import os
import random
import sys


def zipf_cum(n, s):
    return list(itertools.accumulate(1.0 / (r + 1) ** s for r in range(n)))


def gen_cjk(out, nbytes, seed, style):
    rng = random.Random(seed)
    chars = [chr(c) for c in rng.sample(range(0x4E00, 0x9FA6), 6000)]
    char_cum = zipf_cum(len(chars), 1.0)

    def draw_chars(k):
        return rng.choices(chars, cum_weights=char_cum, k=k)

    lexicon = []
    for _ in range(40000):
        length = rng.choices((2, 3, 4), weights=(60, 25, 15))[0]
        lexicon.append("".join(draw_chars(length)))
    word_cum = zipf_cum(len(lexicon), 1.05)
    word_total = word_cum[-1]
    char_total = char_cum[-1]
    rand = rng.random

    written = 0
    with open(out + ".tmp", "wb") as f:
        if style == "run":
            while written < nbytes:
                parts = []
                for _ in range(200000):
                    if rand() < 0.6:
                        parts.append(lexicon[bisect.bisect(word_cum, rand() * word_total)])
                    else:
                        parts.append(chars[bisect.bisect(char_cum, rand() * char_total)])
                data = "".join(parts).encode()
                if written + len(data) > nbytes:
                    data = data[: nbytes - written]
                    data = data[: len(data) - len(data) % 3]  # every character is 3 bytes
                    f.write(data)
                    written += len(data)
                    break
                f.write(data)
                written += len(data)
        else:
            while written < nbytes:
                lines = []
                for _ in range(2000):
                    sentences = []
                    for _ in range(rng.randint(3, 12)):
                        clauses = []
                        for c in range(rng.randint(1, 4)):
                            target = rng.randint(4, 20)
                            clause = []
                            n = 0
                            while n < target:
                                if rand() < 0.6:
                                    w = lexicon[bisect.bisect(word_cum, rand() * word_total)]
                                else:
                                    w = chars[bisect.bisect(char_cum, rand() * char_total)]
                                clause.append(w)
                                n += len(w)
                            clauses.append("".join(clause))
                        end = "。" if rand() < 0.85 else ("？" if rand() < 0.5 else "！")
                        sentences.append("，".join(clauses) + end)
                    lines.append("".join(sentences) + "\n")
                data = "".join(lines).encode()
                f.write(data)
                written += len(data)
    os.replace(out + ".tmp", out)
    return written


LETTERS = "abcdefghijklmnopqrstuvwxyz"


def pool_token(seed_bytes, i):
    h = hashlib.blake2b(i.to_bytes(8, "little"), digest_size=16, key=seed_bytes).digest()
    kind = h[0] % 20
    if kind < 12:  # 60 %: lower-case letters
        return "".join(LETTERS[b % 26] for b in h[2 : 2 + 6 + h[1] % 7])
    if kind < 17:  # 25 %: a number, no leading zero
        n = 7 + h[1] % 6
        return str(1 + h[2] % 9) + "".join(str(b % 10) for b in h[3 : 3 + n - 1])
    s = "".join(LETTERS[b % 26] for b in h[2 : 2 + 6 + h[1] % 7])  # 15 %: Capitalised
    return s[0].upper() + s[1:]


def gen_words(out, english, distinct, insertions, seed):
    rng = random.Random(seed)
    seed_bytes = seed.to_bytes(8, "little", signed=False)
    with open(english, "rb") as f:
        text = f.read().decode("utf-8", errors="surrogateescape")
    lines = text.split("\n")
    nwords = sum(len(line.split()) for line in lines)
    p = min(1.0, insertions / max(1, nwords))
    rand = rng.random
    randrange = rng.randrange
    made = 0
    written = 0
    with open(out + ".tmp", "wb") as f:
        buf = []
        for k, line in enumerate(lines):
            words = line.split()
            outw = []
            for w in words:
                if rand() < p:
                    outw.append(pool_token(seed_bytes, randrange(distinct)))
                    made += 1
                outw.append(w)
            buf.append(" ".join(outw))
            if len(buf) >= 10000 or k == len(lines) - 1:
                data = ("\n".join(buf) + ("\n" if k < len(lines) - 1 else "")).encode("utf-8", errors="surrogateescape")
                f.write(data)
                written += len(data)
                buf = []
    os.replace(out + ".tmp", out)
    print(f"gen_bpe_scale words: {nwords} English words, {made} insertions from a pool of {distinct}", file=sys.stderr)
    return written


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="kind", required=True)
    c = sub.add_parser("cjk")
    c.add_argument("out")
    c.add_argument("--bytes", type=int, default=100_000_000)
    c.add_argument("--seed", type=int, default=1)
    c.add_argument("--style", choices=("prose", "run"), default="prose")
    w = sub.add_parser("words")
    w.add_argument("out")
    w.add_argument("--english", required=True)
    w.add_argument("--distinct", type=int, default=4_000_000)
    w.add_argument("--insertions", type=int, default=6_000_000)
    w.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.kind == "cjk":
        n = gen_cjk(a.out, a.bytes, a.seed, a.style)
    else:
        n = gen_words(a.out, a.english, a.distinct, a.insertions, a.seed)
    print(f"gen_bpe_scale {a.kind}: wrote {n} bytes to {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
