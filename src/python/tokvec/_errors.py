"""The exceptions tokvec raises: one class per kind of error the library reports.

Each carries the library's message, which names the file and the place (line, byte
offset, section), the same text ``tokvec`` prints after ``error:``.
"""

import builtins


class Error(Exception):
    """Any error tokvec reports. ``exit_code`` is what the command line would exit with."""

    exit_code = 1


class UsageError(Error, ValueError):
    """A bad argument value (out of range, unknown format name, no input files)."""

    exit_code = 2


class InputError(Error, ValueError):
    """Input that cannot be used: an empty or binary text, a bad value in a file."""

    exit_code = 3


class IOError(Error, builtins.OSError):  # noqa: A001 - the kind's name; also an OSError
    """The operating system refused a read or write: a missing file, a full disk."""

    exit_code = 4


class CorruptError(Error):
    """A tokvec file that is truncated, altered or of another version."""

    exit_code = 5


class InterruptedError(Error):  # noqa: A001
    """The work was stopped (SIGINT/SIGTERM)."""

    exit_code = 130


class InternalError(Error):
    """A bug in tokvec: an invariant it should have kept."""

    exit_code = 70
