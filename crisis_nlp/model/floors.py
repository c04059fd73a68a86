"""Knowledge floors: an affirmed concept that sets a label whatever the learned score.

Why: missing a weapon costs more than a false alarm, and the learner alone weighs the
weapon lexicon by how often a weapon word in the synthetic notes carries the flag, where
the generator plants many on purpose ("water gun", "took all the guns out of the house").
In a long note the rest of the words then pull one clause with a pistol below the
threshold. A floor says: when the lexicon finds the concept, and ConText finds it neither
denied, historical nor hypothetical, the label is on; its score is raised to the label's
threshold (the learned score is kept when higher).

The floors are data: ``settings["label_floors"]`` in a version's ``model.json``
(label -> concept tokens), hashed with the rest. Versions without the key have none.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from ..errors import InputError

#: the floors ``train`` writes unless told otherwise: an affirmed weapon sets ``weapon``
DEFAULT_FLOORS: dict[str, tuple[str, ...]] = {"weapon": ("C_WEAPON", "C_WEAPON_SELF", "C_WEAPON_OTHERS")}


def check_floors(floors: Mapping[str, Sequence[str]], outputs: Sequence[str]) -> dict[str, list[str]]:
    """``floors`` as stored: known outputs, affirmed concept tokens (``C_...``) only."""
    out = {}
    for label, tokens in floors.items():
        if label not in outputs:
            raise InputError(f"label_floors names {label!r}, which is not an output; use ids of {list(outputs)}.")
        tokens = list(tokens)
        bad = [t for t in tokens if not (isinstance(t, str) and t.startswith("C_") and " " not in t)]
        if bad or not tokens:
            raise InputError(f"label_floors[{label!r}] must list affirmed concept tokens such as 'C_WEAPON'; "
                             f"got {bad or tokens!r}.")
        out[label] = tokens
    return out


class Floors:
    """The floors of one version, as column ids of its word vocabulary."""

    def __init__(self, floors: Mapping[str, Sequence[str]], outputs: Sequence[str], word_vocab: Sequence[str],
                 thresholds: np.ndarray) -> None:
        col = {t: i for i, t in enumerate(word_vocab) if t.startswith("C_")}
        out = {o: j for j, o in enumerate(outputs)}
        rules = [(out[label], np.array(sorted(col[t] for t in tokens if t in col), dtype=np.intp))
                 for label, tokens in floors.items()]
        self.rules = [(j, cols) for j, cols in rules if len(cols)]  # (output, concept columns)
        self.thresholds = thresholds

    def __bool__(self) -> bool:
        return bool(self.rules)

    def raise_one(self, p: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """One note: ``p`` (calibrated, every output) with its floors applied; ``cols``
        are the note's sorted feature columns."""
        for j, fc in self.rules:
            if np.isin(fc, cols, assume_unique=True).any():
                p[j] = max(p[j], self.thresholds[j])
        return p

    def hits(self, X: sp.csr_matrix) -> np.ndarray:
        """Many notes: which floor holds for which row of the feature matrix (rows x rules)."""
        if not self.rules:
            return np.zeros((X.shape[0], 0), dtype=bool)
        return np.column_stack([X[:, fc].getnnz(axis=1) > 0 for _j, fc in self.rules])

    def raise_many(self, P: np.ndarray, hits: np.ndarray) -> np.ndarray:
        """Many notes: ``P`` (calibrated, rows x outputs) with the floors that ``hits`` found applied."""
        for k, (j, _fc) in enumerate(self.rules):
            P[hits[:, k], j] = np.maximum(P[hits[:, k], j], self.thresholds[j])
        return P


def raise_by_features(P: np.ndarray, features: Sequence[str], floors: Mapping[str, Sequence[str]],
                      outputs: Sequence[str], thresholds: Mapping[str, float]) -> np.ndarray:
    """Training's view of the same rule, on feature strings (the out-of-family predictions
    of fold models, each with its own vocabulary)."""
    P = P.copy()
    for label, tokens in floors.items():
        j = list(outputs).index(label)
        want = set(tokens)
        hit = np.array([not want.isdisjoint(f.split()) for f in features], dtype=bool)
        P[hit, j] = np.maximum(P[hit, j], thresholds.get(label, 0.5))
    return P


def with_floors(arrays, floors: Mapping[str, Sequence[str]] | None):
    """``arrays`` (a :class:`~crisis_nlp.model.artifact.ModelArrays`) with ``floors``
    recorded in its settings (none: unchanged)."""
    if not floors:
        return arrays
    return dataclasses.replace(arrays, settings={**arrays.settings,
                                                 "label_floors": check_floors(floors, arrays.outputs)})
