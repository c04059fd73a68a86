"""A model version's learned state as plain data: arrays and JSON, never a pickle.

Loading a pickle runs whatever code the file names, so a model someone else trained
would be code we execute. Here a version holds only:

- ``model.json``: outputs, thresholds, the feature settings (n-gram ranges);
- ``vocabulary.json``: the feature names of each channel, in column order;
- ``weights.npz``: coefficients, intercepts, IDF weights and the calibration table,
  read with ``numpy.load(..., allow_pickle=False)``.

scikit-learn is needed to *train* (:class:`crisis_nlp.model.estimator.CrisisClassifier`), not to
classify: :class:`ModelArrays` is all the scorer reads.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IntegrityError
from ..preprocess.pipeline import CONCEPT_PREFIXES

MODEL_JSON = "model.json"
VOCABULARY = "vocabulary.json"
WEIGHTS = "weights.npz"
FILES = (MODEL_JSON, VOCABULARY, WEIGHTS)
#: the raw-probability grid on which calibration maps are stored (see :func:`calibrate`)
CALIBRATION_GRID = np.linspace(0.0, 1.0, 201)
#: ``settings["concept_features"]``: the concept tokens inside the word channel's TF-IDF
#: ("tfidf", versions before 2.1) or as 0/1 columns outside any norm ("binary")
CONCEPT_FEATURES = ("tfidf", "binary")
#: ``settings["word_norm"]``: how the word channel is normalised per note (characters: L2)
WORD_NORMS = ("l2", "l1")
# ``settings["length_cap"]``: None, or M: an L2 word channel of m > M distinct features is
# further divided by sqrt(m / M) (see model/features.py); ``settings["concept_value"]``: the
# value of a present concept in "binary" mode (1 when absent); ``settings["concept_cap"]``:
# None, or K: in a note of k > K concepts each concept's value is times K / k;
# ``settings["window_tokens"]``: None (absent), or W: a note of more than W tokens is also read
# in stretches of W and scored by the lower of the whole and its best stretch (model/stretches.py)


def is_concept_term(terms: Sequence[str]) -> np.ndarray:
    """Which vocabulary terms are single concept tokens (``C_SUICIDE``, ``NEG_C_WEAPON``)."""
    return np.array([" " not in t and t.startswith(CONCEPT_PREFIXES) for t in terms], dtype=bool)


@dataclass(frozen=True)
class ModelArrays:
    """Everything the scorer needs, as arrays (see the module docstring)."""

    outputs: tuple[str, ...]
    thresholds: np.ndarray  # one per output, applied to calibrated probabilities
    word_vocab: list[str]
    word_idf: np.ndarray
    word_ngram_range: tuple[int, int]
    char_vocab: list[str] | None
    char_idf: np.ndarray | None
    char_ngram_range: tuple[int, int] | None
    coef: np.ndarray  # (n_outputs, n_features), float32: word columns, then char columns
    intercept: np.ndarray  # (n_outputs,)
    # calibrated value of each output at each point of CALIBRATION_GRID; None = raw scores
    calibration: np.ndarray | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # feature settings beyond n-grams

    @classmethod
    def from_classifier(cls, clf: Any, thresholds: Mapping[str, float] | None = None,
                        calibration: np.ndarray | None = None) -> "ModelArrays":
        """The arrays of a fitted :class:`crisis_nlp.model.estimator.CrisisClassifier`."""
        fz = clf.featurizer_
        wv, cv = fz.word_vectorizer_, fz.char_vectorizer_
        t = dict(clf.thresholds or {}) if thresholds is None else dict(thresholds)
        return cls(
            outputs=tuple(clf.outputs_),
            thresholds=np.array([float(t.get(o, 0.5)) for o in clf.outputs_]),
            word_vocab=_in_column_order(wv.vocabulary_),
            word_idf=np.asarray(wv.idf_, dtype=np.float64),
            word_ngram_range=tuple(wv.ngram_range),
            char_vocab=_in_column_order(cv.vocabulary_) if cv is not None else None,
            char_idf=np.asarray(cv.idf_, dtype=np.float64) if cv is not None else None,
            char_ngram_range=tuple(cv.ngram_range) if cv is not None else None,
            coef=np.asarray(clf.classifier_.coef_, dtype=np.float32),
            intercept=np.asarray(clf.classifier_.intercept_, dtype=np.float32),
            calibration=calibration,
            settings={"concept_features": fz.concept_features, "word_norm": fz.word_norm,
                      "length_cap": fz.length_cap, "concept_value": float(fz.concept_value),
                      # only when set, so versions without it keep their settings; getattr: a
                      # featurizer unpickled by `models convert` predates the parameter
                      **({"concept_cap": fz.concept_cap} if getattr(fz, "concept_cap", None) is not None else {})},
        )

    @property
    def n_features(self) -> int:
        return len(self.word_vocab) + (len(self.char_vocab) if self.char_vocab is not None else 0)

    def threshold_map(self) -> dict[str, float]:
        return {o: float(t) for o, t in zip(self.outputs, self.thresholds)}

    def calibrate(self, P: np.ndarray) -> np.ndarray:
        """Raw probabilities (last axis = outputs; one note or many) -> calibrated ones."""
        if self.calibration is None:
            return P
        out = np.empty_like(P)
        for j in range(P.shape[-1]):
            out[..., j] = np.interp(P[..., j], CALIBRATION_GRID, self.calibration[j])
        return out

    # -- files ------------------------------------------------------------------------
    def write(self, folder: str | Path) -> list[str]:
        """Write the three files into ``folder``; return their names."""
        folder = Path(folder)
        meta = {
            "outputs": list(self.outputs),
            "thresholds": self.threshold_map(),
            "word_ngram_range": list(self.word_ngram_range),
            "char_ngram_range": list(self.char_ngram_range) if self.char_ngram_range else None,
            "calibrated": self.calibration is not None,
            "settings": self.settings,
        }
        (folder / MODEL_JSON).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        vocab = {"word": self.word_vocab, "char": self.char_vocab}
        (folder / VOCABULARY).write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        arrays = {"coef": self.coef, "intercept": self.intercept, "word_idf": self.word_idf}
        if self.char_idf is not None:
            arrays["char_idf"] = self.char_idf
        if self.calibration is not None:
            arrays["calibration"] = self.calibration
        _write_npz(folder / WEIGHTS, arrays)
        return list(FILES)

    @classmethod
    def read(cls, folder: str | Path) -> "ModelArrays":
        """Read a version's arrays. Nothing here can run code: JSON and ``allow_pickle=False``."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / MODEL_JSON).read_text(encoding="utf-8"))
            vocab = json.loads((folder / VOCABULARY).read_text(encoding="utf-8"))
            with np.load(folder / WEIGHTS, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError, KeyError) as exc:
            raise IntegrityError(f"{folder}: the model files cannot be read ({type(exc).__name__}: {exc}); "
                                 "reinstall the package or retrain the version.") from None
        outputs = tuple(meta["outputs"])
        t = meta["thresholds"]
        char = meta.get("char_ngram_range")
        out = cls(
            outputs=outputs,
            thresholds=np.array([float(t.get(o, 0.5)) for o in outputs]),
            word_vocab=list(vocab["word"]),
            word_idf=arrays["word_idf"].astype(np.float64),
            word_ngram_range=tuple(meta["word_ngram_range"]),
            char_vocab=list(vocab["char"]) if vocab.get("char") is not None else None,
            char_idf=arrays["char_idf"].astype(np.float64) if "char_idf" in arrays else None,
            char_ngram_range=tuple(char) if char else None,
            coef=arrays["coef"],
            intercept=arrays["intercept"],
            calibration=arrays.get("calibration"),
            settings=dict(meta.get("settings") or {}),
        )
        _check_shapes(out, folder)
        return out


def _write_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """``np.savez_compressed`` with fixed member timestamps, so that the same model gives
    the same bytes (and the same sha256) every time it is written."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asarray(arr), allow_pickle=False)


def _in_column_order(vocab: Mapping[str, int]) -> list[str]:
    terms = sorted(vocab, key=vocab.__getitem__)
    if [vocab[t] for t in terms] != list(range(len(terms))):
        raise ValueError("a vocabulary must map its terms to the columns 0..n-1")
    return terms


def _check_shapes(a: ModelArrays, folder: Path) -> None:
    n_out, n_feat = len(a.outputs), a.n_features
    problems = []
    if a.coef.shape != (n_out, n_feat):
        problems.append(f"coef is {a.coef.shape}, expected {(n_out, n_feat)}")
    if a.intercept.shape != (n_out,):
        problems.append(f"intercept is {a.intercept.shape}, expected {(n_out,)}")
    if len(a.word_idf) != len(a.word_vocab):
        problems.append("word_idf and the word vocabulary differ in length")
    if a.char_vocab is not None and (a.char_idf is None or len(a.char_idf) != len(a.char_vocab)):
        problems.append("char_idf and the char vocabulary differ in length")
    if a.calibration is not None and a.calibration.shape != (n_out, len(CALIBRATION_GRID)):
        problems.append(f"calibration is {a.calibration.shape}, expected {(n_out, len(CALIBRATION_GRID))}")
    if problems:
        raise IntegrityError(f"{folder}: inconsistent model files ({'; '.join(problems)}); retrain the version.")


def platt_calibration(Y: np.ndarray, P: np.ndarray) -> np.ndarray:
    """One sigmoid per output (Platt scaling: a logistic regression on the logit of the
    out-of-family score), tabulated on :data:`CALIBRATION_GRID`. Smooth and increasing, so
    it keeps the order of the notes; isotonic regression was tried first and flattened
    whole ranges of scores into one value (16 suicidal notes of the gold set sat on one
    step, below the threshold)."""
    from sklearn.linear_model import LogisticRegression

    grid = np.clip(CALIBRATION_GRID, 1e-6, 1 - 1e-6)
    table = np.empty((P.shape[1], len(CALIBRATION_GRID)))
    for j in range(P.shape[1]):
        y = np.asarray(Y[:, j], dtype=int)
        if y.min() == y.max():
            table[j] = CALIBRATION_GRID
            continue
        z = np.log(np.clip(P[:, j], 1e-6, 1 - 1e-6) / (1 - np.clip(P[:, j], 1e-6, 1 - 1e-6)))
        lr = LogisticRegression(C=1e6, max_iter=1000).fit(z[:, None], y)
        table[j] = lr.predict_proba(np.log(grid / (1 - grid))[:, None])[:, 1]
        table[j, 0], table[j, -1] = 0.0, 1.0  # the ends of the raw range stay the ends
    return table


def expected_calibration_error(y: Sequence[int], p: Sequence[float], bins: int = 10) -> float:
    """ECE with equal-width bins: the share-weighted gap between mean score and hit rate."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    if not len(y):
        return float("nan")
    idx = np.minimum((p * bins).astype(int), bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs(p[m].mean() - y[m].mean())
    return float(ece)
