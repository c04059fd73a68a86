"""Evidence must be local: a long note is read whole and in stretches.

A note longer than the version's ``window_tokens`` (W) is also read in stretches of W
tokens, each starting half a stretch after the last (``preprocess.pipeline.doc_windows``),
and each output's score is the lower of the whole note's score and the best stretch's.
So a label needs evidence that the whole note supports *and* that one stretch of a
typical note's length carries on its own: six ordinary calls on one page, or a long
post of everyday words, cannot add up weak evidence spread over their length (each
stretch alone reads as ordinary), while a crisis told in one update of a long page is
still found (its stretch reads as a crisis, and so does the whole page). Notes of at
most W tokens - nearly all dispatch notes - are read exactly as before.

Why the lower of the two and not the best stretch alone: many short stretches of a long
post give many chances for one to look like a crisis (measured on default@2.9.0's
weights, 90 everyday forum posts: 8 read as crises whole, 54-70 by the best stretch
alone, 4-6 by the lower of the two).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from ..errors import InputError

#: the stretch length of new versions: the word channel's ``length_cap``, the length of a
#: note it reads at full weight (about a median synthetic crisis note's feature tokens)
DEFAULT_WINDOW_TOKENS = 64


def local_scores(P: np.ndarray, P_windows: np.ndarray, counts: Sequence[int]) -> np.ndarray:
    """``P`` (notes x outputs) with each note that has stretches capped by its best one.

    ``P_windows`` holds the stretches' scores, note after note; ``counts[i]`` is how many
    belong to note ``i`` (0: a short note, left as it is)."""
    counts = np.asarray(counts, dtype=np.intp)
    if not counts.any():
        return P
    P = np.array(P, dtype=np.float64, copy=True)
    has = np.flatnonzero(counts)
    starts = np.concatenate([[0], np.cumsum(counts[has])[:-1]])
    P[has] = np.minimum(P[has], np.maximum.reduceat(P_windows, starts, axis=0))
    return P


def check_window_tokens(window_tokens: int | None) -> int | None:
    """``window_tokens`` if it is None or an integer >= 8 (shorter stretches would cut most
    sentences apart), else an :class:`~crisis_nlp.errors.InputError`."""
    if window_tokens is not None and not (isinstance(window_tokens, int) and not isinstance(window_tokens, bool)
                                          and window_tokens >= 8):
        raise InputError(f"window_tokens must be None or an integer >= 8; got {window_tokens!r}.")
    return window_tokens


def with_window(arrays, window_tokens: int | None):
    """``arrays`` (a :class:`~crisis_nlp.model.artifact.ModelArrays`) with ``window_tokens``
    recorded in its settings (None: unchanged, every note read only whole)."""
    if check_window_tokens(window_tokens) is None:
        return arrays
    return dataclasses.replace(arrays, settings={**arrays.settings, "window_tokens": window_tokens})


def fold_scores(clf, features: Sequence[str], windows: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
    """A fitted :class:`~crisis_nlp.model.estimator.CrisisClassifier`'s scores of notes
    (their feature strings and their stretches'): read whole, and read as inference reads
    them. Training tunes calibration and thresholds on the first, like the knowledge rules
    the stretches come after the tuning (tuned on the second, the thresholds moved with the
    draw of the data and cost short notes; see the README), and reports on the second."""
    P = clf.predict_proba_matrix(clf.transform_features(list(features)))
    flat = [w for ws in windows for w in ws]
    if not flat:
        return P, P
    return P, local_scores(P, clf.predict_proba_matrix(clf.transform_features(flat)), [len(ws) for ws in windows])
