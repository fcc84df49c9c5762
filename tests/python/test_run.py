"""tokvec.Run against the CLI's export and audit, and the errors tokvec raises."""

import csv
import json
import io
import re

import numpy as np
import pytest

import tokvec


def test_vectors_equal_the_clis_export(cli, run_dir, tmp_path):
    run = tokvec.Run(run_dir)
    for matrix, vectors in (("input", run.vectors), ("output", run.output_vectors)):
        out = tmp_path / f"{matrix}.npy"
        cli("export", run_dir, "--format", "npy", "--matrix", matrix, "--output", out)
        exported = np.load(out)
        assert vectors.dtype == np.float32
        assert vectors.shape == exported.shape == (len(run), 20)
        assert np.array_equal(vectors, exported)
    vocab = (tmp_path / "input.vocab.txt").read_text(encoding="utf-8").split("\n")[:-1]
    unescape = {"\\\\": "\\", "\\n": "\n", "\\r": "\r"}  # the vocabulary file's escapes
    assert run.tokens == [re.sub(r"\\[\\nr]", lambda m: unescape[m.group()], t) for t in vocab]
    # Read-only views of the loaded state, not copies.
    assert not run.vectors.flags.writeable
    with pytest.raises(ValueError):
        run.vectors[0, 0] = 1.0
    assert run.vectors.base is not None


def test_tokenizer_counts_and_config(cli, run_dir):
    run = tokvec.Run(run_dir)
    assert run.kind == "bpe" and run.finished and run.note == ""
    tok = run.tokenizer
    assert tok.serialize() == (run_dir / "tokenizer.bpe").read_bytes()
    assert run.tokens == [tok.id_to_piece(i) for i in range(len(tok))]
    counts = run.counts
    assert sorted(counts) == ["frequency", "input_updates", "output_negative_updates", "output_positive_updates"]
    assert all(a.dtype == np.uint64 and a.shape == (len(run),) for a in counts.values())
    assert counts["frequency"].sum() > 0
    config = run.config
    assert config["dim"] == 20 and config["seed"] == 7 and config["window"] == 3


def test_audit_has_the_clis_columns_and_values(cli, run_dir, tmp_path):
    run = tokvec.Run(run_dir)
    cli("audit", run_dir, "--min-updates", 50, "--csv", tmp_path / "a.csv")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "a.csv").read_text(encoding="utf-8"))))
    table = run.audit(threshold=50)
    columns = ["id", "token", "frequency", "input_updates", "output_positive_updates", "output_negative_updates", "norm", "drift",
               "flagged"]
    assert list(rows[0].keys()) == columns
    names = list(table.columns) if hasattr(table, "columns") else list(table.dtype.names)
    assert names == columns
    assert len(table) == len(rows) == len(run)
    for c in ("id", "frequency", "input_updates", "output_positive_updates", "output_negative_updates"):
        assert [int(x) for x in table[c]] == [int(r[c]) for r in rows], c
    assert [str(x) for x in table["token"]] == [r["token"] for r in rows]
    assert np.allclose(np.asarray(table["norm"], dtype=float), [float(r["norm"]) for r in rows], rtol=1e-5)
    assert np.allclose(np.asarray(table["drift"], dtype=float), [float(r["drift"]) for r in rows], rtol=1e-5)
    assert [bool(x) for x in table["flagged"]] == [r["flagged"] in ("1", "true") for r in rows]


def test_word_vectors_and_neighbours(cli, run_dir):
    run = tokvec.Run(run_dir)
    v = run.word_vector("whale")  # composed from its pieces
    assert v.shape == (20,) and v.dtype == np.float32
    found, vs = run.word_vectors(["whale", "zqxjkv"])  # a BPE run composes any word
    assert found == ["whale", "zqxjkv"] and np.array_equal(vs[0], v)
    best = run.most_similar("whale", k=5)
    assert len(best) == 5 and all(isinstance(t, str) for t, _ in best)
    assert [s for _, s in best] == sorted((s for _, s in best), reverse=True)
    # A row's own vector finds that row first.
    assert run.most_similar(run.vectors[300], k=1)[0][0] == run.tokens[300]


def test_export_writes_what_the_cli_writes(cli, run_dir, tmp_path):
    run = tokvec.Run(run_dir)
    run.export(tmp_path / "py.vec")
    cli("export", run_dir, "--output", tmp_path / "cli.vec")
    assert (tmp_path / "py.vec").read_bytes() == (tmp_path / "cli.vec").read_bytes()
    run.export(tmp_path / "py.bin", format="word2vec-binary", order="frequency")
    cli("export", run_dir, "--format", "word2vec-binary", "--order", "frequency", "--output", tmp_path / "cli.bin")
    assert (tmp_path / "py.bin").read_bytes() == (tmp_path / "cli.bin").read_bytes()


def test_to_gensim(run_dir):
    pytest.importorskip("gensim")
    run = tokvec.Run(run_dir)
    kv = run.to_gensim()
    assert len(kv) == len(run)
    assert np.array_equal(kv[run.tokens[10]], run.vectors[10])


def test_bad_input_raises_tokvec_errors_naming_the_file(data, tmp_path):
    missing = tmp_path / "missing.bpe"
    with pytest.raises(tokvec.IOError, match=str(missing)) as e:
        tokvec.Tokenizer(missing)
    assert isinstance(e.value, tokvec.Error) and isinstance(e.value, OSError)

    bad = tmp_path / "bad.bpe"
    bad.write_text("tokvec-bpe 1\nvocab 300 chars 0 merges 43\n")
    with pytest.raises(tokvec.Error, match=str(bad)) as e:
        tokvec.Tokenizer(bad)
    assert isinstance(e.value, (tokvec.CorruptError, tokvec.InputError))

    with pytest.raises(tokvec.UsageError, match="vocab_size"):
        tokvec.Tokenizer.train([data / "train.txt"], vocab_size=7)
    with pytest.raises(tokvec.IOError, match=str(tmp_path / "nope.txt")):
        tokvec.Tokenizer.train([tmp_path / "nope.txt"], vocab_size=300)

    binary = tmp_path / "binary.txt"
    binary.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(tokvec.InputError, match=str(binary)):
        tokvec.Tokenizer.train([binary], vocab_size=300)

    with pytest.raises(tokvec.InputError, match=str(tmp_path)):
        tokvec.Run(tmp_path)
    state = tmp_path / "state.tkv"
    state.write_bytes(b"TKVSTATE" + b"\0" * 100)
    with pytest.raises(tokvec.CorruptError, match=str(state)):
        tokvec.Run(state)


def test_gil_is_released_while_training_a_tokenizer(data, tmp_path):
    """Tokenizer.train reads a FIFO that this thread writes only after the call began: with
    the GIL held the writer could never run (faulthandler ends a hung test)."""
    import faulthandler
    import os
    import threading

    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    text = (data / "train.txt").read_bytes()
    result = {}

    def train():
        try:
            result["tok"] = tokvec.Tokenizer.train([fifo], vocab_size=400, threads=1)
        except BaseException as e:  # noqa: BLE001 - reported below
            result["error"] = e

    faulthandler.dump_traceback_later(300, exit=True)
    try:
        t = threading.Thread(target=train)
        t.start()
        with open(fifo, "wb") as f:
            f.write(text)
        t.join()
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert "error" not in result, result.get("error")
    assert len(result["tok"]) == 400


def test_a_words_run(cli, data, tmp_path):
    path = tmp_path / "words"
    cli("train", "--words", "--input", data / "train.txt", "--output", path, "--threads", 1, "--dim", 16, "--epochs", 1,
        "--min-count", 3, "--quiet")
    run = tokvec.Run(path / "state.tkv")
    assert run.kind == "words" and run.tokenizer is None
    assert run.tokens[0] == "the"  # frequency order
    assert np.array_equal(run.word_vector("the"), run.vectors[0])
    with pytest.raises(KeyError):
        run.word_vector("zqxjkv")
    best = run.most_similar("the", k=3)
    assert len(best) == 3 and "the" not in [t for t, _ in best]


def test_audit_without_pandas_is_a_structured_array(run_dir, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` fails
    table = tokvec.Run(run_dir).audit(threshold=50)
    assert isinstance(table, np.ndarray) and table.dtype.names[:3] == ("id", "token", "frequency")
    assert table["flagged"].dtype == bool and len(table) == 500


def test_audit_with_pandas_is_a_dataframe(run_dir):
    pd = pytest.importorskip("pandas")
    table = tokvec.Run(run_dir).audit(threshold=50)
    assert isinstance(table, pd.DataFrame)
    assert table.attrs["threshold"] == 50 and table.attrs["vocab_size"] == 500
    assert int(table.flagged.sum()) == table.attrs["flagged_count"]


def test_audit_target_stability_and_geometry(cli, run_dir, tmp_path):
    run = tokvec.Run(run_dir)
    target = tmp_path / "target.txt"
    target.write_text("the whale and the sea\nzqxjkv whale\n", encoding="utf-8")
    cli("audit", run_dir, "--min-updates", 50, "--target", target, "--stability", run_dir, "--json", tmp_path / "a.json")
    j = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    table = run.audit(threshold=50, target=target, stability=run_dir)
    assert [int(x) for x in table["target_frequency"]] == [r["target_frequency"] for r in j["rows"]]
    compared = [float(x) for x in table["stability"] if x == x]  # NaN: not compared
    assert compared and all(x == 1.0 for x in compared)  # a run against itself
    if hasattr(table, "attrs"):
        assert table.attrs["target"]["flagged_share"] == j["target"]["flagged_share"]
        assert table.attrs["stability"]["rows_compared"] == j["stability"]["rows_compared"]
        assert table.attrs["geometry"]["anisotropy"] == j["geometry"]["anisotropy"]
        auto = run.audit(threshold="auto", stability=run_dir)
        assert auto.attrs["threshold"] == auto.attrs["stability"]["threshold"]
    with pytest.raises(Exception):
        run.audit(threshold="auto")
