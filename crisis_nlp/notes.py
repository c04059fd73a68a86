"""What a note must be to be classified: the one note validation of every entry point
(Python API, CLI, HTTP, stdio, EIDO, relabel, training data). Messages never quote the
note."""

from __future__ import annotations

from .errors import InputError

MAX_NOTE_CHARS = 20_000


def note_problem(value: object) -> str | None:
    """Why ``value`` cannot be classified, or None."""
    if value is None or (isinstance(value, float) and value != value):  # None or NaN
        return "the note is missing"
    if not isinstance(value, str):
        return f"the note is {type(value).__name__}, not text"
    if not value.strip():
        return "the note is empty"
    if len(value) > MAX_NOTE_CHARS:
        return f"the note has {len(value):,} characters, over the limit of {MAX_NOTE_CHARS:,}; split it"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: bytes that were not decoded (surrogateescape)
            return ("the note is not valid UTF-8 text (it holds a lone surrogate, left by undecodable input); "
                    "decode the input with its real encoding (e.g. --encoding cp1252 or latin-1)")
    return None


def check_note(note: object, i: int = 0) -> str:
    """``note`` itself when it can be classified, else :class:`InputError` naming note ``i``."""
    if not isinstance(note, str):
        raise InputError(f"note {i} is {type(note).__name__}, not text; pass the note as a string.")
    problem = note_problem(note)
    if problem is not None:
        raise InputError(f"note {i}: {problem}.")
    return note  # type: ignore[return-value]
