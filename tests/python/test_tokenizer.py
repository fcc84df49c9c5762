"""tokvec.Tokenizer against the CLI: the same ids, the same model bytes, from many threads."""

import threading

import pytest

import tokvec


def cli_ids(cli, model, text_path):
    out = cli("encode", "--model", model, "--print", "ids", "--input", text_path).stdout.decode()
    return [[int(x) for x in line.split()] for line in out.split("\n")[:-1]]


def lines_of(path):
    return path.read_text(encoding="utf-8").splitlines()


def test_ids_equal_the_clis_on_held_text(cli, model, data):
    tok = tokvec.Tokenizer(model)
    expected = cli_ids(cli, model, data / "held.txt")
    lines = lines_of(data / "held.txt")
    assert len(lines) == len(expected) > 100
    assert [tok.encode(line) for line in lines] == expected
    assert tok.encode(lines) == expected
    assert tok.encode(lines, threads=1) == expected
    # A text of several lines: its lines' ids one after the other.
    assert tok.encode("\n".join(lines[:50])) == [i for ids in expected[:50] for i in ids]


def test_pieces_decode_and_vocabulary(cli, model, data):
    tok = tokvec.Tokenizer(model)
    printed = cli("encode", "--model", model, "--print", "pieces", "--input", data / "held.txt").stdout.decode("utf-8")
    assert [tok.pieces(line) for line in lines_of(data / "held.txt")] == [l.split(" ") if l else [] for l in printed.split("\n")[:-1]]
    assert len(tok) == tok.vocab_size == 1000
    text = "The whale, said Ishmael, was white."
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    pieces = tok.pieces(text)
    assert pieces == [tok.id_to_piece(i) for i in ids]
    assert [tok.piece_to_id(p) for p in pieces] == ids
    assert pieces[0].startswith("\u2581")
    with pytest.raises(IndexError):
        tok.id_to_piece(1000)
    with pytest.raises(KeyError):
        tok.piece_to_id("no such piece")
    with pytest.raises(ValueError, match="not a token id below 1000"):
        tok.decode([1, 1000])
    # Any text encodes (byte fallback), and comes back.
    odd = "naïve — 東京 \U0001F600"
    assert tok.decode(tok.encode(odd)) == odd


def test_trained_model_bytes_equal_the_clis(cli, model, data, tmp_path):
    tok = tokvec.Tokenizer.train([data / "train.txt"], vocab_size=1000, min_frequency=2, threads=2)
    tok.save(tmp_path / "py.bpe")
    assert (tmp_path / "py.bpe").read_bytes() == model.read_bytes()
    assert tok.serialize() == model.read_bytes()
    assert tok.checksum == tokvec.Tokenizer(model).checksum
    # One path instead of a list, one thread: the same model.
    assert tokvec.Tokenizer.train(str(data / "train.txt"), vocab_size=1000, threads=1).serialize() == model.read_bytes()


def test_eight_python_threads_encoding_at_once_agree(cli, model, data):
    tok = tokvec.Tokenizer(model)
    lines = lines_of(data / "held.txt")
    expected = cli_ids(cli, model, data / "held.txt")
    results = [None] * 8
    start = threading.Barrier(8)

    def work(k):
        start.wait()
        if k % 2:
            results[k] = tok.encode(lines, threads=2)
        else:
            results[k] = [tok.encode(line) for line in lines]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(8):
        assert results[k] == expected, f"thread {k}"


def test_the_gil_is_released_during_encode(model, data):
    """Another Python thread runs while encode works: a profile hook marks the call's
    entry and return, and the other thread, woken at the entry, must run before the return.
    With a long switch interval a thread waiting for the GIL gets it only when the holder
    lets it go, so if encode held the GIL the other thread could run only after the return,
    every time; a few attempts absorb a machine too loaded to wake it in time."""
    import sys

    tok = tokvec.Tokenizer(model)
    lines = lines_of(data / "held.txt") * 40
    # The C++ function itself: the profile hook's c_call/c_return events name it.
    target = type(tok._t).__dict__["encode_many"].__func__

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        for attempt in range(5):
            entered, returned = threading.Event(), threading.Event()
            seen = []

            def hook(frame, event, arg):
                if event == "c_call" and arg is target:
                    entered.set()
                elif event == "c_return" and arg is target:
                    returned.set()

            def other():
                if entered.wait(timeout=600):
                    seen.append(not returned.is_set())

            t = threading.Thread(target=other)
            t.start()
            sys.setprofile(hook)
            try:
                tok.encode(lines, threads=1)
            finally:
                sys.setprofile(None)
            t.join()
            if seen == [True]:
                return
    finally:
        sys.setswitchinterval(interval)
    pytest.fail("no other Python thread ran while encode worked")


def test_encode_flat_gives_the_same_ids_as_numpy_arrays(cli, model, data):
    import numpy as np

    tok = tokvec.Tokenizer(model)
    expected = cli_ids(cli, model, data / "held.txt")
    lines = lines_of(data / "held.txt")
    for threads in (0, 1, 2):
        ids, offsets = tok.encode_flat(lines, threads=threads)
        assert ids.dtype == np.int32 and offsets.dtype == np.int64
        assert offsets.shape == (len(lines) + 1,) and offsets[0] == 0 and offsets[-1] == len(ids)
        assert [ids[offsets[i]:offsets[i + 1]].tolist() for i in range(len(lines))] == expected
    ids, offsets = tok.encode_flat(tuple(lines[:3]))
    assert ids.tolist() == [i for row in expected[:3] for i in row]
    ids, offsets = tok.encode_flat([])
    assert ids.shape == (0,) and offsets.tolist() == [0]
    with pytest.raises(TypeError, match="not a str"):
        tok.encode_flat("one text")


def test_batch_encode_of_any_str_equals_one_call_each(model):
    """A batch reads each str's own code units (Latin-1, UCS-2, UCS-4, with line breaks)
    and must give what encoding it alone gives."""
    tok = tokvec.Tokenizer(model)
    texts = ["plain ascii", "naïve café", "— em dash and 東京", "emoji \U0001F600 here", "", "two\nlines\r\nand\rthree",
             "x" * 70_000 + " é", "ß" * 3]
    texts = texts * 40  # several chunks
    expected = [tok.encode(t) for t in texts]
    assert tok.encode(texts) == expected
    assert tok.encode(iter(texts), threads=2) == expected
    ids, offsets = tok.encode_flat(texts, threads=2)
    assert [ids[offsets[i]:offsets[i + 1]].tolist() for i in range(len(texts))] == expected
    # A lone surrogate has no UTF-8 form: Python's own error, as for one str.
    with pytest.raises(UnicodeEncodeError):
        tok.encode("a\ud800b")
    with pytest.raises(UnicodeEncodeError):
        tok.encode(["fine", "a\ud800b"])
    with pytest.raises(TypeError, match="item 1 is bytes, not str"):
        tok.encode(["fine", b"bytes"])


def test_a_tokenizer_pickles_as_its_model(model):
    import pickle

    tok = tokvec.Tokenizer(model)
    copy = pickle.loads(pickle.dumps(tok))
    assert copy.serialize() == tok.serialize() == model.read_bytes()
    assert copy.encode("The whale, said Ishmael.") == tok.encode("The whale, said Ishmael.")
