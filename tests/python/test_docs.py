"""The examples of docs/python.md run as written: each indented code block after a
`<!-- run by tests/python/test_docs.py -->` line, in order, in one namespace, in a folder
holding text.txt (a slice of the bundled corpus)."""

import pytest

from conftest import ROOT

MARK = "<!-- run by tests/python/test_docs.py -->"


def examples():
    text = (ROOT / "docs" / "python.md").read_text(encoding="utf-8")
    blocks = []
    for part in text.split(MARK)[1:]:
        lines = part.lstrip("\n").split("\n")
        code = []
        for line in lines:
            if line.startswith("    ") or (line == "" and code):
                code.append(line[4:])
            else:
                break
        blocks.append("\n".join(code).strip() + "\n")
    return blocks


def test_the_python_docs_examples_run(data, tmp_path, monkeypatch):
    blocks = examples()
    assert len(blocks) >= 4 and all(blocks)
    (tmp_path / "text.txt").write_bytes((data / "train.txt").read_bytes())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")  # no window
    namespace = {}
    skipped = []
    for code in blocks:
        try:
            exec(compile(code, "docs/python.md", "exec"), namespace)  # noqa: S102 - the docs' own examples
        except ImportError as e:
            # The audit's plot needs matplotlib (and the DataFrame pandas), which may be absent.
            missing = [m for m in ("matplotlib", "pandas") if m in str(e) or getattr(e, "name", None) == m]
            if not missing:
                raise
            skipped += missing
    assert (tmp_path / "run" / "state.tkv").exists()
    assert namespace["vectors"].shape[1] == 100 and namespace["sentence"].shape == (2, 100)
    assert namespace["bag"].shape == (2, 100)
    if skipped:
        pytest.skip("ran all but the lines that need " + ", ".join(skipped))
