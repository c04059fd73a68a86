"""Result columns for a list of notes, with a model already loaded: what ``relabel``,
pandas and Dask write for each row (a bad row gets ``error`` and no labels)."""

from __future__ import annotations

from typing import Any

from ..labels import LABELS
from ..notes import note_problem
from .formats import BadRow

CHUNK_SIZE = 2048


def result_columns(explain: bool = False) -> list[str]:
    """The columns ``relabel`` adds, in order (``reason`` only when asked for)."""
    return (["categories", "flags", "response_mode"] + [f"score_{x}" for x in LABELS]
            + ["model_version", "error"] + (["reason"] if explain else []))


def row_problem(value: Any) -> str | None:
    """Why the note of a row cannot be labelled, or None. Never quotes the note."""
    if isinstance(value, BadRow):
        return value.reason
    return note_problem(value)


def label_texts(model, texts: list[Any], *, explain: bool = False) -> dict[str, list]:
    """Result columns (see :func:`result_columns`) for a list of notes. A bad note gets
    ``error`` and empty labels; the others are labelled in one ``classify_batch``."""
    n = len(texts)
    cols: dict[str, list] = {c: [None] * n for c in result_columns(explain)}
    cols["model_version"] = [model.version] * n
    good: list[int] = []
    errors = cols["error"]
    for i, t in enumerate(texts):
        problem = row_problem(t)
        if problem is None:
            good.append(i)
        else:
            errors[i] = problem
    if not good:
        return cols
    cats, flags, modes = cols["categories"], cols["flags"], cols["response_mode"]
    if explain:
        reasons = cols["reason"]
        for i, r in zip(good, model.classify_batch([texts[i] for i in good], explain=True)):
            cats[i], flags[i], modes[i], reasons[i] = r.categories, r.flags, r.response_mode, r.reason
            for x in LABELS:
                cols[f"score_{x}"][i] = r.scores[x]
        return cols
    # the bulk path straight into columns: no result object per row
    decisions, scores = model._bulk([texts[i] for i in good])
    for i, (c, f, mode, _head, _labels) in zip(good, decisions):
        cats[i], flags[i], modes[i] = list(c), list(f), mode
    for x, column in zip(LABELS, scores.T.tolist()):
        if len(good) == n:
            cols[f"score_{x}"] = column
        else:
            col = cols[f"score_{x}"]
            for i, v in zip(good, column):
                col[i] = v
    return cols
