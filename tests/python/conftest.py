"""Fixtures for the Python package's tests: the CLI to compare with, and small inputs.

TOKVEC_CLI names the tokvec binary of the same build (tools/test_python.sh sets it).
"""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpora" / "gutenberg-3m.txt"


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("TOKVEC_CLI", str(ROOT / "build" / "tokvec"))
    if not os.access(path, os.X_OK):
        pytest.fail(f"no tokvec binary at {path}: set TOKVEC_CLI")

    def run(*args, check=True):
        r = subprocess.run([path, *map(str, args)], capture_output=True)
        if check and r.returncode != 0:
            raise AssertionError(f"tokvec {' '.join(map(str, args))}: exit {r.returncode}: {r.stderr.decode()}")
        return r

    return run


def _slice(path: Path, start: int, size: int) -> bytes:
    """`size` bytes of the corpus from `start`, cut at line ends."""
    with open(CORPUS, "rb") as f:
        f.seek(start)
        data = f.read(size + 4096)
    data = data[data.index(b"\n") + 1 if start else 0:]
    cut = data.index(b"\n", size) + 1
    path.write_bytes(data[:cut])
    return data[:cut]


@pytest.fixture(scope="session")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    _slice(d / "train.txt", 0, 300_000)
    _slice(d / "held.txt", 2_000_000, 60_000)
    return d


@pytest.fixture(scope="session")
def model(cli, data):
    """A 1000-token model trained by the CLI."""
    path = data / "cli.bpe"
    cli("bpe-train", "--input", data / "train.txt", "--vocab-size", 1000, "--output", path, "--quiet", "--threads", 2)
    return path


@pytest.fixture(scope="session")
def run_dir(cli, data):
    """A small BPE run trained by the CLI (1 thread: deterministic)."""
    path = data / "run"
    cli("train", "--input", data / "train.txt", "--bpe-vocab-size", 500, "--output", path, "--threads", 1, "--dim", 20,
        "--epochs", 1, "--seed", 7, "--min-count", 2, "--window", 3, "--negative", 3, "--quiet")
    return path
