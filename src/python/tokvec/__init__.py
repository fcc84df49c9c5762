"""tokvec from Python: the BPE tokenizer, trained runs' vectors, counts and audit.

    >>> import tokvec
    >>> tok = tokvec.Tokenizer.train(["corpus.txt"], vocab_size=8000)
    >>> tok.encode("The sea was calm.")
    [...]
    >>> run = tokvec.Run("run/")          # a folder written by `tokvec train`
    >>> run.vectors.shape                 # float32, row i is token i
    (8000, 100)
    >>> run.most_similar("sea", k=5)

The work is done by tokvec's C++ library (no command is run); long calls release the GIL.
Errors are :class:`tokvec.Error` subclasses whose message names the file and the place.
"""

from __future__ import annotations

import json as _json
import os as _os
import sys as _sys
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as _np

from ._errors import (
    CorruptError,
    Error,
    InputError,
    InternalError,
    InterruptedError,
    IOError,
    UsageError,
)
from . import _tokvec

__all__ = [
    "Tokenizer",
    "Run",
    "train",
    "resume",
    "Error",
    "UsageError",
    "InputError",
    "IOError",
    "CorruptError",
    "InterruptedError",
    "InternalError",
]

__version__ = "0.1.0"

PathLike = Union[str, "_os.PathLike[str]"]


def _path(p: PathLike) -> str:
    return _os.fspath(p)


class Tokenizer:
    """A byte-pair-encoding tokenizer (a ``tokvec bpe-train`` model file).

    ``Tokenizer(path)`` loads a model; :meth:`Tokenizer.train` trains one. Ids are those
    ``tokvec encode --print ids`` prints. Every method may be called from many Python
    threads at once; :meth:`encode` releases the GIL while it works.
    """

    __slots__ = ("_t",)

    def __init__(self, path: PathLike) -> None:
        self._t = _tokvec.Tokenizer.load(_path(path))

    @classmethod
    def _wrap(cls, t: "_tokvec.Tokenizer") -> "Tokenizer":
        self = cls.__new__(cls)
        self._t = t
        return self

    @classmethod
    def train(
        cls,
        files: Union[PathLike, Sequence[PathLike]],
        vocab_size: int = 32000,
        min_frequency: int = 2,
        threads: int = 0,
        *,
        allow_binary: bool = False,
    ) -> "Tokenizer":
        """Trains a tokenizer on UTF-8 text files, as ``tokvec bpe-train`` does.

        ``files``: a path or a list of paths. ``vocab_size`` in [257, 1,000,000];
        ``min_frequency``: a pair seen fewer times is never merged; ``threads``: 0 = all
        cores. After :meth:`save` the file holds the same bytes as ``tokvec bpe-train
        --input FILES --vocab-size N --min-frequency F --output PATH`` writes.
        """
        if isinstance(files, (str, bytes, _os.PathLike)):
            files = [files]
        paths = [_path(f) for f in files]
        return cls._wrap(_tokvec.Tokenizer.train(paths, vocab_size, min_frequency, threads, allow_binary))

    def save(self, path: PathLike) -> None:
        """Writes the model file (atomically: the old file or the whole new one)."""
        self._t.save(_path(path))

    def encode(self, text: Union[str, Sequence[str]], threads: int = 0) -> Union[List[int], List[List[int]]]:
        """Token ids of a str, or of each str of a list (encoded in parallel).

        Line breaks separate words and are not tokens: a text of several lines gives the
        ids of its lines one after the other, as ``tokvec encode --print ids`` prints them.
        ``threads`` (lists only): 0 = all cores.
        """
        if isinstance(text, str):
            return self._t.encode_one(text)
        if not isinstance(text, (list, tuple)):
            text = list(text)
        return self._t.encode_many(text, threads)

    def encode_flat(self, texts: Sequence[str], threads: int = 0) -> Tuple[_np.ndarray, _np.ndarray]:
        """The ids of a list of str as two numpy arrays, without a Python int per id:
        ``ids`` (int32, every text's ids one after the other) and ``offsets`` (int64,
        ``len(texts) + 1``), so that text i's ids are ``ids[offsets[i]:offsets[i + 1]]``
        (the ids :meth:`encode` gives it). The fastest way to encode many texts; ``ids``
        and ``offsets[:-1]`` are the input of an ``EmbeddingBag``-style lookup.
        ``threads``: 0 = all cores.
        """
        if isinstance(texts, str):
            raise TypeError("encode_flat: a list of str, not a str (encode(text) encodes one)")
        if not isinstance(texts, (list, tuple)):
            texts = list(texts)
        return self._t.encode_flat(texts, threads)

    def pieces(self, text: str) -> List[str]:
        """The tokens of ``text`` in display form (word start shown as "▁", raw bytes as "<0xAB>")."""
        return self._t.pieces(text)

    def decode(self, ids: Iterable[int]) -> str:
        """The text of a sequence of ids (a word-start marker becomes a space, except first)."""
        return self._t.decode(list(ids))

    def id_to_piece(self, id: int) -> str:  # noqa: A002
        """The display form of token ``id`` (IndexError outside [0, len(self)))."""
        return self._t.id_to_piece(id)

    def piece_to_id(self, piece: str) -> int:
        """The id of the token whose display form is ``piece`` (KeyError if none)."""
        return self._t.piece_to_id(piece)

    def __len__(self) -> int:
        return self._t.vocab_size

    @property
    def vocab_size(self) -> int:
        """Number of tokens (ids are 0 .. vocab_size - 1)."""
        return self._t.vocab_size

    @property
    def checksum(self) -> str:
        """The model's checksum (16 hex digits), as corpora and runs record it."""
        return self._t.checksum

    def serialize(self) -> bytes:
        """The bytes :meth:`save` writes."""
        return self._t.serialize()

    def __repr__(self) -> str:
        return f"<tokvec.Tokenizer vocab_size={len(self)} checksum={self.checksum}>"

    def __reduce__(self) -> Tuple[Any, Tuple[bytes]]:
        # Pickled as the model file's bytes, so that a tokenizer goes to worker processes
        # (multiprocessing, a data loader's workers).
        return _tokenizer_from_bytes, (self.serialize(),)


def _tokenizer_from_bytes(data: bytes) -> Tokenizer:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tokvec-") as d:
        path = _os.path.join(d, "model.bpe")
        with open(path, "wb") as f:
            f.write(data)
        return Tokenizer(path)


_AUDIT_COLUMNS = (
    "id",
    "token",
    "frequency",
    "input_updates",
    "output_positive_updates",
    "output_negative_updates",
    "norm",
    "drift",
    "flagged",
)


class Run:
    """A trained run: a folder written by ``tokvec train`` (or one of its state files).

    An unfinished run (stopped, with checkpoints but no ``state.tkv``) is read from its
    newest checkpoint; :attr:`note` then says so. Arrays are read-only views of the loaded
    state (no copy); ``numpy.array(run.vectors)`` makes a writable copy.
    """

    __slots__ = ("_r", "_unit", "_index")

    def __init__(self, path: PathLike) -> None:
        self._r = _tokvec.Run.load(_path(path))
        self._unit: Optional[_np.ndarray] = None
        self._index: Optional[Dict[str, int]] = None

    # -- what the run holds ----------------------------------------------------------------

    @property
    def path(self) -> str:
        """The state file the run was read from."""
        return self._r.state_path

    @property
    def note(self) -> str:
        """"" for a finished run; else which checkpoint was read and how to resume."""
        return self._r.note

    @property
    def kind(self) -> str:
        """The tokenizer kind: "bpe" or "words"."""
        return self._r.tokenizer_kind

    @property
    def vectors(self) -> _np.ndarray:
        """Input (centre-token) vectors, float32, vocab_size x dim; row i is token i."""
        return self._r.vectors()

    @property
    def output_vectors(self) -> _np.ndarray:
        """Output (context) vectors, float32, vocab_size x dim."""
        return self._r.output_vectors()

    @property
    def dim(self) -> int:
        """Vector dimension (columns of :attr:`vectors`)."""
        return self._r.dim

    @property
    def tokens(self) -> List[str]:
        """Each row's token (BPE: display form, as :meth:`Tokenizer.id_to_piece` gives it)."""
        return self._r.tokens

    @property
    def counts(self) -> Dict[str, _np.ndarray]:
        """uint64 arrays by row: ``frequency`` (in the corpus), ``input_updates``,
        ``output_positive_updates`` and ``output_negative_updates`` (gradient updates)."""
        return self._r.counts()

    @property
    def config(self) -> Dict[str, Any]:
        """The run's settings, as its config.json records them."""
        return _json.loads(self._r.config_json)

    @property
    def tokenizer(self) -> Optional[Tokenizer]:
        """The run's BPE tokenizer (None for a ``--words`` run)."""
        t = self._r.tokenizer
        return None if t is None else Tokenizer._wrap(t)

    @property
    def finished(self) -> bool:
        """Whether training ran to the end (False for a run read from a checkpoint)."""
        return self._r.finished

    def __len__(self) -> int:
        return self._r.vocab_size

    def __repr__(self) -> str:
        return f"<tokvec.Run {self.path!r} kind={self.kind} vocab_size={len(self)} dim={self.dim}>"

    # -- the audit --------------------------------------------------------------------------

    def audit(self, threshold: Any = 100, target: Optional[str] = None, stability: Optional[str] = None,
              k: int = 10) -> Any:
        """Every row's counts, norm and drift, flagged when its input row received fewer
        than ``threshold`` updates: the columns of ``tokvec audit --csv``.

        ``target``: a text file to audit (adds ``target_frequency``; the shares are in
        ``.attrs["target"]``). ``stability``: another run of the same settings and another
        seed (adds ``stability``, the overlap of each row's ``k`` nearest neighbours; the
        curve and the derived threshold in ``.attrs["stability"]``); then ``threshold="auto"``
        takes the derived threshold. ``.attrs["geometry"]``: anisotropy and hubness.

        A pandas DataFrame when pandas is installed (the summary in ``.attrs``), else a
        numpy structured array.
        """
        if isinstance(threshold, str):
            if threshold != "auto":
                raise ValueError(f"threshold must be an integer or 'auto', got {threshold!r}")
            threshold = -1
        elif int(threshold) < 0:
            raise ValueError(f"threshold must be >= 0, got {threshold!r}")
        result = self._r.audit(int(threshold), None if target is None else _os.fspath(target),
                               None if stability is None else _os.fspath(stability), k)
        rows = result["rows"]
        columns = _AUDIT_COLUMNS + tuple(c for c in ("target_frequency", "stability") if c in rows)
        try:
            import pandas as pd  # type: ignore
        except ImportError:
            pd = None
        if pd is not None:
            frame = pd.DataFrame({c: rows[c] for c in columns})
            frame.attrs.update(result["summary"])
            return frame
        n = len(rows["id"])
        dtype = [(c, _np.asarray(rows[c]).dtype if c != "token" else object) for c in columns]
        out = _np.empty(n, dtype=dtype)
        for c in columns:
            out[c] = rows[c]
        return out

    # -- words and neighbours ---------------------------------------------------------------

    def word_vectors(self, words: Sequence[str]) -> Tuple[List[str], _np.ndarray]:
        """Vectors for words: a BPE run composes each word from its pieces (every word gets
        one, seen or not); a words run looks them up and leaves out missing ones. Returns
        (the words found, float32 array)."""
        return self._r.word_vectors(list(words))

    def word_vector(self, word: str) -> _np.ndarray:
        """The vector of one word (KeyError for a word a words run does not have)."""
        found, vecs = self._r.word_vectors([word])
        if not found:
            raise KeyError(word)
        return vecs[0]

    def _unit_rows(self) -> _np.ndarray:
        if self._unit is None:
            v = _np.asarray(self.vectors, dtype=_np.float32)
            norms = _np.linalg.norm(v, axis=1, keepdims=True)
            norms[norms == 0] = 1
            self._unit = v / norms
        return self._unit

    def _row_of(self, token: str) -> Optional[int]:
        if self._index is None:
            self._index = {t: i for i, t in enumerate(self.tokens)}
        return self._index.get(token)

    def most_similar(self, word_or_vector: Union[str, _np.ndarray], k: int = 10) -> List[Tuple[str, float]]:
        """The ``k`` tokens whose input vectors are closest by cosine, as (token, cosine),
        best first. A word is looked up (a words run) or composed (a BPE run) and its own
        row is left out; a vector is compared as given."""
        exclude = set()
        if isinstance(word_or_vector, str):
            query = self.word_vector(word_or_vector)
            for t in (word_or_vector, "\u2581" + word_or_vector):
                row = self._row_of(t)
                if row is not None:
                    exclude.add(row)
        else:
            query = _np.asarray(word_or_vector, dtype=_np.float32)
            if query.shape != (self.dim,):
                raise ValueError(f"most_similar: a vector of {self.dim} floats, got shape {query.shape}")
        unit = self._unit_rows()
        n = float(_np.linalg.norm(query))
        sims = unit @ (query / (n if n > 0 else 1.0))
        k = max(0, min(int(k), len(sims) - len(exclude)))
        if k == 0:
            return []
        take = min(len(sims), k + len(exclude))
        best = _np.argpartition(-sims, take - 1)[:take]
        best = best[_np.lexsort((best, -sims[best]))]
        tokens = self.tokens
        return [(tokens[i], float(sims[i])) for i in best if i not in exclude][:k]

    # -- other tools ------------------------------------------------------------------------

    def to_gensim(self) -> Any:
        """The token vectors as a gensim ``KeyedVectors`` (rows in id order)."""
        from gensim.models import KeyedVectors  # type: ignore

        kv = KeyedVectors(vector_size=self.dim)
        kv.add_vectors(self.tokens, _np.ascontiguousarray(self.vectors))
        return kv

    def export(
        self,
        path: PathLike,
        format: Optional[str] = None,  # noqa: A002
        *,
        matrix: str = "input",
        order: Optional[str] = None,
    ) -> None:
        """Writes the token vectors as ``tokvec export`` does: ``format`` "word2vec-text",
        "word2vec-binary" or "npy" (default: by the name's extension, else text);
        ``matrix`` "input" or "output"; ``order`` "id" or "frequency" (default: id for BPE
        runs, frequency for words runs). Written atomically."""
        self._r.export(_path(path), format, matrix, order)


# -- training ------------------------------------------------------------------------------


def _in_notebook() -> bool:
    """A Jupyter kernel (or another ipykernel front end) whose stderr is not a terminal: the
    progress line then goes through Python's sys.stderr, which the notebook shows."""
    if "ipykernel" not in _sys.modules:
        return False
    try:
        return not _sys.stderr.isatty()
    except (AttributeError, ValueError):
        return True


def _redraw_on_stderr(line: str, redraw: bool) -> None:
    # A notebook's output area takes "\r" as "back to the start of the line", so each
    # progress line replaces the previous one; a whole line ends with a newline.
    err = _sys.stderr
    err.write("\r" + line + ("" if redraw else "\n"))
    err.flush()


ProgressArg = Union[bool, Callable[[str], Any]]


def _progress(progress: ProgressArg) -> Tuple[bool, Optional[Callable[[str, bool], Any]], bool]:
    """(whether the library reports, the Python callable it reports to or None for stderr,
    whether it redraws)."""
    if callable(progress):
        return True, (lambda line, redraw: progress(line)), False
    if not progress:
        return False, None, False
    if _in_notebook():
        return True, _redraw_on_stderr, True
    return True, None, False


def _finish(result: Dict[str, Any], output: str) -> "Run":
    if result["outcome"] == "stopped":
        raise KeyboardInterrupt(
            f"training stopped by {result['signal']}; progress saved in {result['checkpoint']}; "
            f"resume with tokvec.resume({output!r})"
        )
    return Run(output)


def train(
    input: Optional[PathLike],  # noqa: A002
    output: PathLike,
    *,
    words: bool = False,
    subwords: bool = False,
    bpe_vocab_size: Optional[int] = None,
    tokenizer: Optional[PathLike] = None,
    corpus: Optional[PathLike] = None,
    lowercase: bool = False,
    dim: int = 100,
    window: int = 5,
    negative: int = 5,
    sample: float = 1e-4,
    min_count: int = 5,
    epochs: int = 1,
    threads: int = 0,
    lr: float = 0.05,
    seed: int = 1,
    kernel: str = "hogbatch",
    checkpoint_every: str = "10m",
    keep: int = 2,
    progress: ProgressArg = True,
    force: bool = False,
    allow_binary: bool = False,
    subword_compose: Optional[str] = None,
    subword_ancestors: Optional[bool] = None,
    subword_own_rows: Optional[int] = None,
    subword_step: Optional[str] = None,
    subword_ancestor_min_chars: Optional[int] = None,
    subword_outputs: Optional[str] = None,
    subword_piece_damping: Optional[int] = None,
) -> "Run":
    """Trains a run into the folder ``output``, as ``tokvec train`` does with the same
    settings (the same files; with ``threads=1`` the same bytes), and returns it.

    From raw text ``input``: a BPE tokenizer of ``bpe_vocab_size`` tokens (default 32000)
    is trained, or ``tokenizer`` (a model file) is used, or ``words=True`` takes
    whitespace-separated words (``lowercase=True`` lowercases them). ``subwords=True``
    trains whitespace words whose vectors are composed of rows of their BPE pieces
    (``train --subwords``; the tokenizer as for a BPE run); ``subword_compose`` ("sum",
    "mean", "own-plus-mean" or "own-plus-scaled"), ``subword_ancestors``, ``subword_ancestor_min_chars``,
    ``subword_own_rows``, ``subword_step`` ("gradient" or "unit"), ``subword_outputs``
    ("words" or "pieces") and ``subword_piece_damping`` are ``--subword-compose``,
    ``--subword-ancestors``, ``--subword-ancestor-min-chars``, ``--subword-own-rows``,
    ``--subword-step``, ``--subword-outputs`` and ``--subword-piece-damping`` (None: the
    command's default);
    :meth:`Run.word_vector` gives the trained composition of any word. ``corpus`` (with
    ``input=None``) trains on a corpus made by ``tokvec encode``. The other settings are
    the command's options of the same name. ``checkpoint_every``: "30s", "10m", "2h", a
    number of tokens, or "off"; the ``keep`` newest checkpoints are kept. ``progress``:
    True shows the command's progress: on a terminal a line redrawn in place, in a Jupyter
    notebook the same line redrawn in the cell's output, elsewhere (a log) a line every 15
    seconds on stderr; False shows nothing; a callable is called with each line instead (a
    line every 15 seconds and the run's own lines, e.g. ``logging.info``). ``force``:
    replace the run in a non-empty folder.

    Ctrl-C (SIGINT) or SIGTERM while it trains writes a checkpoint and raises
    KeyboardInterrupt naming it; :func:`resume` continues the run. The GIL is released
    while it works.
    """
    report, write, redraw = _progress(progress)
    result = _tokvec.train(
        "" if input is None else _path(input), _path(output), words, bpe_vocab_size,
        None if tokenizer is None else _path(tokenizer), None if corpus is None else _path(corpus), lowercase,
        dim, window, negative, float(sample), min_count, epochs, threads, float(lr), seed, kernel,
        str(checkpoint_every), keep, report, force, allow_binary, write, redraw,
        subwords, subword_compose, subword_ancestors, subword_own_rows, subword_step,
        subword_ancestor_min_chars, subword_outputs, subword_piece_damping,
    )
    return _finish(result, _path(output))


def resume(path: PathLike, *, checkpoint_every: str = "10m", keep: int = 2, progress: ProgressArg = True) -> "Run":
    """Continues the run in ``path`` from its newest valid checkpoint with the settings in its
    config.json, as ``tokvec train --resume`` does, and returns it (a finished run is
    returned as it is). ``progress`` as for :func:`train`."""
    report, write, redraw = _progress(progress)
    result = _tokvec.resume(_path(path), str(checkpoint_every), keep, report, write, redraw)
    return _finish(result, _path(path))
