"""tokvec.train and tokvec.resume against the CLI."""

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import tokvec

SETTINGS = dict(bpe_vocab_size=500, threads=1, dim=20, epochs=1, seed=7, min_count=2, window=3, negative=3)


def test_train_gives_the_clis_run(data, run_dir, tmp_path):
    run = tokvec.train(data / "train.txt", tmp_path / "run", progress=False, **SETTINGS)
    cli_run = tokvec.Run(run_dir)  # the same settings through `tokvec train`
    assert (tmp_path / "run" / "tokenizer.bpe").read_bytes() == (run_dir / "tokenizer.bpe").read_bytes()
    assert (tmp_path / "run" / "corpus.tkc").read_bytes() == (run_dir / "corpus.tkc").read_bytes()
    assert (tmp_path / "run" / "state.tkv").read_bytes() == (run_dir / "state.tkv").read_bytes()
    assert np.array_equal(run.vectors, cli_run.vectors)
    assert run.config == cli_run.config


def test_bad_settings_raise_usage_errors_naming_the_argument(data, tmp_path):
    with pytest.raises(tokvec.UsageError, match="dim must be in"):
        tokvec.train(data / "train.txt", tmp_path / "a", dim=0, progress=False)
    with pytest.raises(tokvec.UsageError, match="words=True cannot be combined"):
        tokvec.train(data / "train.txt", tmp_path / "a", words=True, bpe_vocab_size=300, progress=False)
    with pytest.raises(tokvec.IOError, match=str(tmp_path / "missing.txt")):
        tokvec.train(tmp_path / "missing.txt", tmp_path / "b", progress=False)
    assert not (tmp_path / "b").exists()


def test_gil_is_released_while_training(data, tmp_path):
    """train reads a FIFO that this thread writes only after the call began: with the GIL
    held the writer could never run (faulthandler ends a hung test)."""
    import faulthandler

    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    result = {}

    def work():
        try:
            result["run"] = tokvec.train(fifo, tmp_path / "run", words=True, threads=1, dim=8, progress=False)
        except BaseException as e:  # noqa: BLE001 - reported below
            result["error"] = e

    faulthandler.dump_traceback_later(300, exit=True)
    try:
        t = threading.Thread(target=work)
        t.start()
        with open(fifo, "wb") as f:
            f.write((data / "train.txt").read_bytes())
        t.join()
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert "error" not in result, result.get("error")
    assert result["run"].kind == "words" and result["run"].finished


def test_ctrl_c_writes_a_checkpoint_and_resume_finishes(data, tmp_path):
    text = tmp_path / "small.txt"
    text.write_bytes((data / "train.txt").read_bytes()[:60_000])
    out = tmp_path / "run"
    script = (
        "import tokvec\n"
        f"tokvec.train({str(text)!r}, {str(out)!r}, words=True, min_count=1, dim=8, epochs=400, threads=1,\n"
        "             checkpoint_every='1000', progress=False)\n"
    )
    p = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE)
    # Training (and its signal guard) has begun once the first checkpoint is there.
    deadline = time.monotonic() + 300
    while not list(out.glob("checkpoint-*.tkv")):
        assert p.poll() is None, p.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=300)
    err = err.decode()
    assert p.returncode != 0
    assert "KeyboardInterrupt: training stopped by SIGINT; progress saved in " + str(out / "checkpoint-") in err, err
    assert not (out / "state.tkv").exists()
    run = tokvec.resume(out, checkpoint_every="off", progress=False)
    assert run.finished and (out / "state.tkv").exists()


def _small_words_run(data, tmp_path, name, **kw):
    return tokvec.train(data / "train.txt", tmp_path / name, words=True, threads=1, dim=8, checkpoint_every="off", **kw)


def test_progress_in_a_notebook_is_redrawn_in_pythons_stderr(data, tmp_path, monkeypatch, capsys):
    """In a Jupyter kernel (ipykernel loaded, stderr not a terminal) the progress goes through
    sys.stderr, which the notebook shows, as lines that each replace the last ("\\r")."""
    import types

    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    _small_words_run(data, tmp_path, "nb", progress=True)
    err = capsys.readouterr().err
    assert "\rtrain: " in err, repr(err)
    assert err.endswith("\n")


def test_progress_in_a_log_is_plain_lines_on_stderr(data, tmp_path, capfd):
    assert "ipykernel" not in sys.modules
    _small_words_run(data, tmp_path, "log", progress=True)
    err = capfd.readouterr().err
    assert "train: " in err and "\r" not in err, repr(err)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_progress_callable_gets_each_line(data, tmp_path, capfd):
    lines = []
    _small_words_run(data, tmp_path, "cb", progress=lines.append)
    assert any(l.startswith("train: ") for l in lines), lines
    assert all("\r" not in l and "\n" not in l for l in lines)
    assert capfd.readouterr().err == ""
    # A callable that raises does not stop training.
    def bad(line):
        raise RuntimeError("callback failed")
    run = _small_words_run(data, tmp_path, "cb2", progress=bad)
    assert run.finished


def test_subwords_gives_the_clis_run_and_composes_any_word(cli, data, tmp_path):
    settings = dict(SETTINGS, bpe_vocab_size=300)
    run = tokvec.train(data / "train.txt", tmp_path / "run", subwords=True, subword_compose="sum", subword_own_rows=3,
                       progress=False, **settings)
    cli("train", "--subwords", "--input", str(data / "train.txt"), "--output", str(tmp_path / "cli"), "--bpe-vocab-size", "300",
        "--threads", "1", "--dim", "20", "--epochs", "1", "--seed", "7", "--min-count", "2", "--window", "3", "--negative", "3",
        "--subword-compose", "sum", "--subword-own-rows", "3", "--quiet")
    assert (tmp_path / "run" / "state.tkv").read_bytes() == (tmp_path / "cli" / "state.tkv").read_bytes()
    assert run.config["mode"] == "subwords" and run.config["subword_compose"] == "sum"
    assert run.config["subword_own_min_count"] == 3 and run.config["subword_ancestors"] is True
    # Any word, seen or not, gets the trained composition: the CLI's export of the same words.
    words = ["the", "zqxjkvw"]
    (tmp_path / "words.txt").write_text("\n".join(words) + "\n")
    cli("export", str(tmp_path / "cli"), "--words", str(tmp_path / "words.txt"), "--output", str(tmp_path / "w.vec"))
    lines = (tmp_path / "w.vec").read_text().splitlines()[1:]
    exported = {ln.split(" ")[0]: np.array([float(x) for x in ln.split(" ")[1:]], dtype=np.float32) for ln in lines}
    for w in words:
        v = run.word_vector(w)
        assert v.shape == (20,) and np.all(np.isfinite(v))
        np.testing.assert_allclose(v, exported[w], rtol=1e-5, atol=1e-6)
    with pytest.raises(tokvec.UsageError, match="subwords=True trains on text"):
        tokvec.train(data / "train.txt", tmp_path / "a", subwords=True, words=True, progress=False)
    with pytest.raises(tokvec.UsageError, match="subword_step must be 'gradient' or 'unit'"):
        tokvec.train(data / "train.txt", tmp_path / "a", subwords=True, subword_step="big", progress=False)
    with pytest.raises(tokvec.UsageError, match="apply to subwords=True runs"):
        tokvec.train(data / "train.txt", tmp_path / "a", subword_compose="sum", progress=False)
    with pytest.raises(tokvec.UsageError, match="subword_compose must be 'sum', 'mean', 'own-plus-mean' or 'own-plus-scaled'"):
        tokvec.train(data / "train.txt", tmp_path / "a", subwords=True, subword_compose="max", progress=False)


def _subword_run_equals_the_clis(cli, data, tmp_path, **subword):
    """Trains with the subword keyword arguments from Python and with their flags from the CLI; the two
    state.tkv files must be byte-identical. Returns the Python run."""
    run = tokvec.train(data / "train.txt", tmp_path / "run", subwords=True, progress=False,
                       **dict(SETTINGS, bpe_vocab_size=300), **subword)
    flags = [part for key, value in subword.items() for part in ("--" + key.replace("_", "-"), str(value))]
    cli("train", "--subwords", "--input", str(data / "train.txt"), "--output", str(tmp_path / "cli"), "--bpe-vocab-size", "300",
        "--threads", "1", "--dim", "20", "--epochs", "1", "--seed", "7", "--min-count", "2", "--window", "3", "--negative", "3",
        *flags, "--quiet")
    assert (tmp_path / "run" / "state.tkv").read_bytes() == (tmp_path / "cli" / "state.tkv").read_bytes()
    return run


def test_subwords_defaults_are_the_clis(cli, data, tmp_path):
    run = _subword_run_equals_the_clis(cli, data, tmp_path)
    assert run.config["subword_compose"] == "own-plus-scaled" and run.config["subword_ancestor_min_chars"] == 3
    assert run.config["subword_step"] == "unit" and run.config["subword_piece_damping_count"] == 1
    # Without ancestors the default filter has nothing to filter.
    run = tokvec.train(data / "train.txt", tmp_path / "noanc", subwords=True, subword_ancestors=False, progress=False,
                       **dict(SETTINGS, bpe_vocab_size=300))
    assert run.config["subword_ancestors"] is False and "subword_ancestor_min_chars" not in run.config


def test_subwords_own_plus_scaled_is_the_clis(cli, data, tmp_path):
    run = _subword_run_equals_the_clis(cli, data, tmp_path, subword_compose="own-plus-scaled", subword_ancestor_min_chars=3)
    assert run.config["subword_compose"] == "own-plus-scaled"


def test_subwords_piece_outputs_are_the_clis(cli, data, tmp_path):
    run = _subword_run_equals_the_clis(cli, data, tmp_path, subword_outputs="pieces")
    assert run.config["subword_outputs"] == "pieces"
    with pytest.raises(tokvec.UsageError, match="subword_outputs must be 'words' or 'pieces'"):
        tokvec.train(data / "train.txt", tmp_path / "a", subwords=True, subword_outputs="rows", progress=False)
    with pytest.raises(tokvec.UsageError, match="apply to subwords=True runs"):
        tokvec.train(data / "train.txt", tmp_path / "a", subword_outputs="pieces", progress=False)


def test_subwords_own_plus_mean_and_the_ancestor_filter_are_the_clis(cli, data, tmp_path):
    run = _subword_run_equals_the_clis(cli, data, tmp_path, subword_compose="own-plus-mean", subword_ancestor_min_chars=2)
    assert run.config["subword_compose"] == "own-plus-mean" and run.config["subword_ancestor_min_chars"] == 2
    with pytest.raises(tokvec.UsageError, match="subword_ancestor_min_chars applies with subword_ancestors=True"):
        tokvec.train(data / "train.txt", tmp_path / "a", subwords=True, subword_ancestors=False,
                     subword_ancestor_min_chars=2, progress=False)


def test_subwords_piece_damping_is_the_clis(cli, data, tmp_path):
    run = _subword_run_equals_the_clis(cli, data, tmp_path, subword_compose="own-plus-scaled", subword_piece_damping=20)
    assert run.config["subword_piece_damping_count"] == 20
    with pytest.raises(tokvec.UsageError, match="subword_piece_damping applies with subword_compose"):
        tokvec.train(data / "train.txt", tmp_path / "a", subwords=True, subword_compose="sum", subword_piece_damping=5,
                     progress=False)
    run = tokvec.train(data / "train.txt", tmp_path / "sum", subwords=True, subword_compose="sum", progress=False,
                       **dict(SETTINGS, bpe_vocab_size=300))
    assert "subword_piece_damping_count" not in run.config  # the default damping: nothing to damp under the sum
    with pytest.raises(tokvec.UsageError, match="subword_piece_damping must be >= 0"):
        tokvec.train(data / "train.txt", tmp_path / "a", subwords=True, subword_piece_damping=-1, progress=False)
