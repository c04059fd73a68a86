"""The trainable classifier: raw note texts -> a probability for every label and cue.

Follows scikit-learn's conventions (parameters stored in ``__init__``, learned state in
``*_`` attributes set by ``fit``), so it works with ``clone``, ``Pipeline`` and
``GridSearchCV``. One logistic regression per output, its coefficients stacked into one
matrix so that scoring a note is one sparse product: the single-note and batch paths are
the same computation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted as _sk_check_is_fitted

from ..errors import InputError, LabelError, NotFittedError
from .artifact import is_concept_term
from .features import NoteFeaturizer, label_consistent_mask
from ..labels import CATEGORIES, CUES, HIGH_RISK, LABELS
from ..preprocess import NotePreprocessor

DEFAULT_OUTPUTS: tuple[str, ...] = LABELS + CUES


def check_is_fitted(estimator: BaseEstimator, attribute: str) -> None:
    try:
        _sk_check_is_fitted(estimator, attribute)
    except Exception as exc:  # sklearn's NotFittedError, re-raised as ours
        raise NotFittedError(
            f"this {type(estimator).__name__} is not fitted yet; call fit(texts, Y) first "
            "or load a trained model with crisis_nlp.load_model()."
        ) from exc


def _fit_one(X: sp.csr_matrix, y: np.ndarray, C: float, class_weight, max_iter: int, w: np.ndarray | None = None,
             columns: np.ndarray | None = None):
    """One output's regression; ``columns`` (bool): the features it may use (others get 0)."""
    n_features = X.shape[1]
    if columns is not None:
        X = X[:, np.flatnonzero(columns)]
    if w is not None and not w.all():  # weight 0 = label unknown for that row: leave the row out
        keep = np.flatnonzero(w)
        X, y, w = X[keep], y[keep], w[keep]
    if not len(y) or y.min() == y.max():  # a constant column: no model, a fixed log-odds
        return np.zeros(n_features, dtype=np.float64), (10.0 if len(y) and y[0] else -10.0)
    clf = LogisticRegression(C=C, class_weight=class_weight, solver="liblinear", max_iter=max_iter,
                             random_state=0)  # liblinear shuffles: fixed for reproducible retraining
    clf.fit(X, y, sample_weight=w)
    if columns is None:
        return clf.coef_[0], float(clf.intercept_[0])
    coef = np.zeros(n_features, dtype=np.float64)
    coef[np.flatnonzero(columns)] = clf.coef_[0]
    return coef, float(clf.intercept_[0])


def rule_only_columns(terms: Sequence[str], concepts: Sequence[str]) -> np.ndarray:
    """Which vocabulary terms carry one of ``concepts`` (``IN_PERSON`` -> ``C_IN_PERSON``,
    ``NEG_C_IN_PERSON`` ...): columns the learner may not weigh, kept in the vocabulary for
    the knowledge rules that read them."""
    names = tuple(f"C_{c}" for c in concepts)
    modified = tuple(f"_{n}" for n in names)  # NEG_C_X, UNC_C_X, HIST_C_X ...
    return np.array([any(tok in names or tok.endswith(modified) for tok in t.split()) for t in terms], dtype=bool)


def _check_sample_weight(sample_weight, shape: tuple[int, int]) -> np.ndarray | None:
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim == 1 and len(w) == shape[0]:
        w = np.repeat(w[:, None], shape[1], axis=1)
    if w.shape != shape or not np.isfinite(w).all() or (w < 0).any():
        raise InputError(f"sample_weight must hold finite weights >= 0, shaped ({shape[0]},) or {shape}; "
                         f"got shape {w.shape}.")
    return w


class MultiLabelLogistic(ClassifierMixin, BaseEstimator):
    """One L2 logistic regression per output column, stored as one stacked matrix."""

    def __init__(
        self, *, C: float = 4.0, class_weight: str | None = "balanced", max_iter: int = 1000,
        n_jobs: int | None = None,
    ) -> None:
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.n_jobs = n_jobs

    def fit(self, X: sp.spmatrix, Y: np.ndarray, sample_weight: np.ndarray | None = None,
            feature_mask: np.ndarray | None = None) -> "MultiLabelLogistic":
        """``sample_weight``: one weight per row, or one per row and output (0 = unknown there);
        ``feature_mask`` (outputs x features, bool): which features each output may use."""
        Y = np.asarray(Y)
        if Y.ndim != 2 or X.shape[0] != Y.shape[0]:
            raise InputError(f"Y must be a 2-D 0/1 array with one row per note; got shape {Y.shape}.")
        W = _check_sample_weight(sample_weight, Y.shape)
        if self.C <= 0:
            raise InputError(f"C must be > 0, got {self.C!r}.")
        X = sp.csr_matrix(X)
        fits = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_one)(X, Y[:, j].astype(int), self.C, self.class_weight, self.max_iter,
                              None if W is None else W[:, j], None if feature_mask is None else feature_mask[j])
            for j in range(Y.shape[1])
        )
        # float32 halves the artifact; scores are computed from exactly these values
        self.coef_ = np.vstack([c for c, _ in fits]).astype(np.float32)
        self.intercept_ = np.array([b for _, b in fits], dtype=np.float32)
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X: sp.spmatrix) -> np.ndarray:
        check_is_fitted(self, "coef_")
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def predict_proba(self, X: sp.spmatrix) -> np.ndarray:
        return expit(self.decision_function(X))

    def predict(self, X: sp.spmatrix) -> np.ndarray:
        return (self.predict_proba(X) >= 0.5).astype(int)


class CrisisClassifier(ClassifierMixin, BaseEstimator):
    """Call-note classifier: preprocessing + features + stacked logistic regressions.

    ``fit(texts, Y)`` takes raw notes and a 0/1 matrix with one column per name in
    ``outputs``; ``predict_proba`` gives that matrix's probabilities and ``predict``
    applies ``thresholds`` (a mapping output -> threshold; 0.5 where missing), which
    :func:`tune_thresholds` chooses on validation data. ``rule_only_concepts`` (concept
    names, e.g. ``("IN_PERSON",)``): concepts only the knowledge rules read; their columns
    stay in the vocabulary with no weight (a request for a visit co-occurs with police
    requests in the synthetic notes, and a learned weight for it moved response modes the
    wrong way: stop 39).
    """

    def __init__(
        self,
        *,
        outputs: Sequence[str] = DEFAULT_OUTPUTS,
        C: float = 4.0,
        class_weight: str | None = "balanced",
        word_ngram_range: tuple[int, int] = (1, 2),
        word_min_df: int = 2,
        max_word_features: int | None = 60000,
        char_ngram_range: tuple[int, int] | None = (3, 5),
        char_min_df: int = 3,
        max_char_features: int | None = 60000,
        min_groups: int = 1,
        drop_function_words: bool = False,
        concept_features: str = "tfidf",
        word_norm: str = "l2",
        length_cap: int | None = None,
        concept_value: float = 1.0,
        concept_pairs: bool = True,
        concept_cap: int | None = None,
        modifier_min_df: int = 1,
        label_consistency: int | None = None,
        rule_only_concepts: Sequence[str] = (),
        thresholds: Mapping[str, float] | None = None,
        n_jobs: int | None = None,
    ) -> None:
        self.outputs = outputs
        self.C = C
        self.class_weight = class_weight
        self.word_ngram_range = word_ngram_range
        self.word_min_df = word_min_df
        self.max_word_features = max_word_features
        self.char_ngram_range = char_ngram_range
        self.char_min_df = char_min_df
        self.max_char_features = max_char_features
        self.min_groups = min_groups
        self.drop_function_words = drop_function_words
        self.concept_features = concept_features
        self.word_norm = word_norm
        self.length_cap = length_cap
        self.concept_value = concept_value
        self.concept_pairs = concept_pairs
        self.concept_cap = concept_cap
        self.modifier_min_df = modifier_min_df
        self.label_consistency = label_consistency
        self.rule_only_concepts = rule_only_concepts
        self.thresholds = thresholds
        self.n_jobs = n_jobs

    # -- fitting -----------------------------------------------------------------
    def fit(self, X: Sequence[str], Y: np.ndarray, sample_weight: np.ndarray | None = None,
            groups: Sequence[object] | None = None, families: Sequence[str] | None = None) -> "CrisisClassifier":
        """``groups``: the phrase bank of each note, for ``min_groups``; ``families``: its
        "style|bank", for ``label_consistency``."""
        texts = _check_texts(X)
        return self.fit_features(NotePreprocessor().transform(texts), Y, sample_weight, groups, families)

    def fit_features(self, features: Sequence[str], Y: np.ndarray,
                     sample_weight: np.ndarray | None = None,
                     groups: Sequence[object] | None = None,
                     families: Sequence[str] | None = None) -> "CrisisClassifier":
        """``fit`` on feature strings already made by :class:`NotePreprocessor`.

        Lets training code preprocess a corpus once and fit several models on it.
        """
        Y = np.asarray(Y)
        outputs = tuple(self.outputs)
        if Y.ndim != 2 or Y.shape != (len(features), len(outputs)):
            raise InputError(
                f"Y must have shape (n_notes, {len(outputs)}) = ({len(features)}, {len(outputs)}); "
                f"got {Y.shape}. Columns follow `outputs`: {', '.join(outputs)}."
            )
        if not np.isin(Y, (0, 1)).all():
            raise InputError("Y must hold only 0 and 1.")
        if groups is not None and len(groups) != len(features):
            raise InputError(f"groups must give one group per note: {len(groups)} for {len(features)} notes.")
        self._check_thresholds(outputs)
        self.preprocessor_ = NotePreprocessor()
        self.featurizer_ = NoteFeaturizer(
            word_ngram_range=self.word_ngram_range,
            word_min_df=self.word_min_df,
            max_word_features=self.max_word_features,
            char_ngram_range=self.char_ngram_range,
            char_min_df=self.char_min_df,
            max_char_features=self.max_char_features,
            min_groups=self.min_groups,
            drop_function_words=self.drop_function_words,
            concept_features=self.concept_features,
            word_norm=self.word_norm,
            length_cap=self.length_cap,
            concept_value=self.concept_value,
            concept_pairs=self.concept_pairs,
            concept_cap=self.concept_cap,
            modifier_min_df=self.modifier_min_df,
        ).fit(features, groups=groups)
        M = self.featurizer_.transform(features)
        mask = None
        if self.label_consistency:
            if families is None or len(families) != len(features):
                raise InputError("label_consistency needs families: the 'style|bank' of each note.")
            names = self.featurizer_.word_feature_names()
            mask = label_consistent_mask(M, Y, families, self.label_consistency,
                                         keep_columns=is_concept_term(names))
        if self.rule_only_concepts:
            names = self.featurizer_.word_feature_names()
            keep = np.ones((len(outputs), M.shape[1]), dtype=bool)
            keep[:, np.flatnonzero(rule_only_columns(names, self.rule_only_concepts))] = False
            mask = keep if mask is None else mask & keep
        self.classifier_ = MultiLabelLogistic(
            C=self.C, class_weight=self.class_weight, n_jobs=self.n_jobs
        ).fit(M, Y, sample_weight, feature_mask=mask)
        self.outputs_ = outputs
        self.classes_ = np.array(outputs)
        return self

    def _check_thresholds(self, outputs: tuple[str, ...]) -> None:
        for name, value in (self.thresholds or {}).items():
            if name not in outputs:
                raise LabelError(f"thresholds names {name!r}, which is not an output ({', '.join(outputs)}).")
            if not 0.0 < float(value) < 1.0:
                raise InputError(f"threshold for {name!r} must be in (0, 1), got {value!r}.")

    # -- prediction ----------------------------------------------------------------
    @property
    def thresholds_(self) -> np.ndarray:
        check_is_fitted(self, "outputs_")
        t = self.thresholds or {}
        return np.array([float(t.get(o, 0.5)) for o in self.outputs_])

    def transform_features(self, features: Sequence[str]) -> sp.csr_matrix:
        check_is_fitted(self, "featurizer_")
        return self.featurizer_.transform(features)

    def predict_proba_matrix(self, M: sp.spmatrix) -> np.ndarray:
        return self.classifier_.predict_proba(M)

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        check_is_fitted(self, "featurizer_")
        feats = self.preprocessor_.transform(_check_texts(X))
        return self.predict_proba_matrix(self.transform_features(feats))

    def predict(self, X: Sequence[str]) -> np.ndarray:
        return (self.predict_proba(X) >= self.thresholds_).astype(int)

    def score(self, X: Sequence[str], Y: np.ndarray, sample_weight=None) -> float:
        """Micro-averaged F1 over all outputs (more useful than subset accuracy here)."""
        from sklearn.metrics import f1_score

        return float(f1_score(np.asarray(Y), self.predict(X), average="micro", zero_division=0))

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.target_tags.multi_output = True
        return tags


def _check_texts(X: Sequence[str]) -> list[str]:
    if isinstance(X, str):
        raise InputError("expected a list of notes, got one string; wrap it in a list.")
    texts = list(X)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise InputError(f"note {i} is {type(t).__name__}, not text.")
    return texts


#: the categories that share one threshold (``tune_thresholds``): every category that is
#: not high-risk. Why: their calibrated scores share a scale, and each one's own best
#: threshold sits on a flat F1 curve and belongs to whichever writers the tuning notes
#: came from (trauma_ptsd's moved 0.17-0.47 across data draws; per held-out fold 0.13-0.51).
#: Chosen on folds 0-1 and measured on folds 2-3 of two draws (stop 26), one shared
#: threshold gave these categories micro-F1 0.694 -> 0.713 and 0.709 -> 0.723.
SHARED_THRESHOLD: tuple[str, ...] = tuple(c for c in CATEGORIES if c not in HIGH_RISK)

#: with ``high_risk_tie`` > 0 a high-risk label's threshold is the lowest whose F-beta is
#: within that of the best. Off by default: the F2 curve of ``suicidal`` is flat, and its
#: argmax moved 0.09 -> 0.11 -> 0.14 -> 0.20 across stop 40's trainings, but with a tie of
#: 0.005 (stop 40, training H) the held-out families lost more than they gained: suicidal
#: recall unchanged (0.973), false alarms on other calls 4.7% -> 5.1%, micro-F1 0.778 ->
#: 0.773, and the medical threshold fell to 0.06. An agency that wants recall at any cost
#: can set it (``tune_thresholds(..., high_risk_tie=...)``).
HIGH_RISK_TIE = 0.0


#: ``tune_thresholds`` takes each threshold as the mean, over this many bootstrap resamples
#: of the validation notes, of the best grid point (bagging the choice). Why: the F2 and F1
#: curves are flat near their best, so their plain argmax jumps with small changes of the
#: data. Two stop-42 trainings that differ by one table of everyday blocks had argmax
#: thresholds suicidal 0.20 / 0.13, medical 0.18 / 0.07, weapon 0.21 / 0.34, shared 0.32 /
#: 0.40; the means over 200 resamples 0.20 / 0.19, 0.13 / 0.12, 0.29 / 0.29, 0.36 / 0.36.
#: Tuned on folds 0-1 and read on folds 2-3, bagged thresholds were as good as the argmax,
#: not better (F2: medical +0.03, self_harm +0.02, weapon -0.01, suicidal -0.006 with recall
#: 0.964 -> 0.973; shared micro-F1 -0.005): the gain is stability. 0 gives the plain argmax.
THRESHOLD_RESAMPLES = 200


def tune_thresholds(
    Y_true: np.ndarray,
    proba: np.ndarray,
    outputs: Sequence[str],
    *,
    high_risk: Sequence[str] = HIGH_RISK,
    high_risk_beta: float = 2.0,
    high_risk_tie: float = HIGH_RISK_TIE,
    shared: Sequence[str] = SHARED_THRESHOLD,
    grid: np.ndarray | None = None,
    resamples: int = THRESHOLD_RESAMPLES,
    random_state: int = 0,
) -> dict[str, float]:
    """Choose thresholds on validation data (never on the gold set).

    High-risk labels get each their own threshold, with the best F-beta, beta=2 (recall
    counts twice as much as precision: a missed weapon costs more than a false alarm).
    The labels in ``shared`` get one threshold together, the one with the best micro-F1
    over them; any other label its own best F1. F-beta rather than a hard recall floor,
    because synthetic validation labels are noisy and a floor such as 0.97 drives
    thresholds to near zero. With ``high_risk_tie``, the lowest threshold within that of a
    high-risk label's best F-beta (:data:`HIGH_RISK_TIE`; off by default). With
    ``resamples`` > 0 every choice is averaged over that many Poisson-bootstrap resamples
    of the notes (:data:`THRESHOLD_RESAMPLES`), seeded by ``random_state``.
    """
    grid = np.round(np.arange(0.05, 0.91, 0.01), 2) if grid is None else np.asarray(grid, dtype=float)
    if grid.ndim != 1 or len(grid) == 0 or np.any(np.diff(grid) <= 0):
        raise InputError("the threshold grid must be a non-empty, increasing list of numbers.")
    Y_true, proba = np.asarray(Y_true).astype(bool), np.asarray(proba, dtype=float)
    if Y_true.ndim != 2 or proba.shape != Y_true.shape or Y_true.shape[1] != len(outputs):
        raise InputError(f"labels {Y_true.shape} and scores {proba.shape} must both have one row per note "
                         f"and one column per output ({len(outputs)} outputs given).")
    # a note counts as predicted at every grid point at or below its score
    position = np.searchsorted(grid, proba, side="right")

    def counts(j: int, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Weighted true and false positives at every grid point, and positives, of output ``j``."""
        y, at = Y_true[:, j], position[:, j]
        pos = np.bincount(at, weights=w * y, minlength=len(grid) + 1)
        neg = np.bincount(at, weights=w * ~y, minlength=len(grid) + 1)
        return np.cumsum(pos[::-1])[::-1][1:], np.cumsum(neg[::-1])[::-1][1:], float(pos.sum())

    def best(columns: list[int], w: np.ndarray, beta: float, tie: float) -> float | None:
        tp, fp, pos = (sum(c) for c in zip(*(counts(j, w) for j in columns)))
        if pos <= 0:
            return None
        recall = tp / pos
        precision = np.divide(tp, tp + fp, out=np.zeros(len(grid)), where=(tp + fp) > 0)
        b2 = beta ** 2
        denom = b2 * precision + recall
        fbeta = np.divide((1 + b2) * precision * recall, denom, out=np.zeros(len(grid)), where=denom > 0)
        return float(grid[int(np.flatnonzero(fbeta >= fbeta.max() - tie)[0])])

    out: dict[str, float] = {}
    choices: list[tuple[list[int], float, float]] = []  # (outputs, beta, tie), one threshold each
    group = [j for j, name in enumerate(outputs) if name in shared and name not in high_risk and Y_true[:, j].any()]
    if group:
        choices.append((group, 1.0, 0.0))
    for j, name in enumerate(outputs):
        if j in group:
            continue
        if not Y_true[:, j].any():
            out[name] = 0.5
            continue
        risky = name in high_risk
        choices.append(([j], high_risk_beta if risky else 1.0, high_risk_tie if risky else 0.0))
    n = len(Y_true)
    if resamples > 0:
        rng = np.random.default_rng(random_state)
        weightings = (rng.poisson(1.0, n).astype(float) for _ in range(resamples))
    else:
        weightings = iter([np.ones(n)])
    picks: list[list[float]] = [[] for _ in choices]
    for w in weightings:
        for chosen, (cols, beta, tie) in zip(picks, choices):
            t = best(cols, w, beta, tie)
            if t is not None:  # a resample can hold no positive of a rare label
                chosen.append(t)
    for chosen, (cols, beta, tie) in zip(picks, choices):
        t = round(float(np.mean(chosen)), 2) if chosen else best(cols, np.ones(n), beta, tie)
        out.update({outputs[j]: t for j in cols})
    return {name: out[name] for name in outputs}
