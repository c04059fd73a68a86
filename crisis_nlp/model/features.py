"""Feature extraction: feature strings -> one sparse matrix.

Channels: word uni/bigrams over the feature string (shorthand expanded, negated words
and concepts marked); optionally the concept tokens on their own; optionally character
n-grams over the non-negated words, which carry misspellings ("suicidial") and unseen
inflections to known features.

How a channel is normalised decides how evidence adds up with length. L2-normalised
TF-IDF lets weak evidence pile up: n everyday words of small positive weight w score
about sqrt(n) * w, so a long post of ordinary words reads as a crisis. With
``word_norm="l1"`` the word channel scores the *mean* weight of its words, whatever the
length, and with ``concept_features="binary"`` a concept the knowledge layer found
(``C_SUICIDE``) counts 1 whether the note is one line or forty, so neither a long note
nor an appended status line can dilute it. But a long page of everyday incidents finds
many concepts, each of small weight, and binary values add them all up: with
``concept_cap`` K, a note with k > K concepts has each concept's value scaled by K / k,
so the concept channel's total is bounded like the word channel's. ``concept_value`` is the value a present
concept takes there: the L2 penalty of the logistic regressions then costs a concept's
weight ``concept_value``**2 times less than a word's of the same effect, so the model
leans on what the lexicons know (which travels to other writers) more than on template
words (which do not). The concept tokens are a bag appended after the words, so a word
pair that holds one ("C_PUBLIC C_PUBLIC", "home C_SUICIDE") says nothing about the
language of the note, only about which concepts a template put side by side;
``concept_pairs=False`` leaves such pairs out of the vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

from ..errors import InputError
from ..preprocess import plain_words
from ..preprocess.pipeline import CONCEPT_PREFIX, CONCEPT_PREFIXES
from ..preprocess.tables import function_words
from .artifact import CONCEPT_FEATURES, WORD_NORMS, is_concept_term

#: the prefixes of concept tokens that carry a context modifier (all but the plain C_)
_MODIFIED_PREFIXES = tuple(p for p in CONCEPT_PREFIXES if p != CONCEPT_PREFIX)


class NoteFeaturizer(TransformerMixin, BaseEstimator):
    """TF-IDF over word n-grams and character n-grams of feature strings.

    Parameters are those of the two ``TfidfVectorizer`` channels; ``char_ngram_range=None``
    turns the character channel off. ``min_groups`` keeps only the n-grams seen in at
    least that many groups of the training notes (``fit(X, groups=...)``: the phrase bank
    each note was made from), so that a phrase one template family happened to use does
    not become evidence; concept tokens (upper case: ``C_SUICIDE``, ``NEG_C_WEAPON``) are
    knowledge, not template artefacts, and are always kept. ``modifier_min_df`` drops the
    concept tokens that carry a context modifier (``NEG_C_X``, ``OTHER_C_X``, ``HIST_C_X``,
    ``HYP_C_X``, ``UNC_C_X``) seen in fewer training notes than that: a rare combination,
    such as someone else's benzodiazepine in 16 notes, has no evidence of its own and its
    weight would be chance (2.18.0 weighted ``OTHER_C_BENZO`` toward violence). The plain
    concept tokens are always kept.
    """

    def __init__(
        self,
        *,
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
    ) -> None:
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

    def fit(self, X: Sequence[str], y: object = None, groups: Sequence[object] | None = None) -> "NoteFeaturizer":
        if tuple(self.word_ngram_range) not in ((1, 1), (1, 2)):
            raise InputError(f"word_ngram_range must be (1, 1) or (1, 2) (what the inference scorer counts); "
                             f"got {self.word_ngram_range!r}.")
        if self.concept_features not in CONCEPT_FEATURES or self.word_norm not in WORD_NORMS:
            raise InputError(f"concept_features must be one of {CONCEPT_FEATURES} and word_norm one of "
                             f"{WORD_NORMS}; got {self.concept_features!r}, {self.word_norm!r}.")
        if self.length_cap is not None and not (isinstance(self.length_cap, int) and self.length_cap >= 1):
            raise InputError(f"length_cap must be None or an integer >= 1; got {self.length_cap!r}.")
        if self.concept_cap is not None and not (isinstance(self.concept_cap, int) and self.concept_cap >= 1
                                                 and self.concept_features == "binary"):
            raise InputError(f"concept_cap must be None or an integer >= 1, with concept_features='binary'; "
                             f"got {self.concept_cap!r}.")
        if not (isinstance(self.modifier_min_df, int) and self.modifier_min_df >= 1):
            raise InputError(f"modifier_min_df must be an integer >= 1; got {self.modifier_min_df!r}.")
        if not (isinstance(self.concept_value, (int, float)) and 0 < self.concept_value <= 100):
            raise InputError(f"concept_value must be a number in (0, 100]; got {self.concept_value!r}.")
        self.word_vectorizer_ = TfidfVectorizer(
            tokenizer=str.split,
            token_pattern=None,
            lowercase=False,
            ngram_range=tuple(self.word_ngram_range),
            min_df=self.word_min_df,
            sublinear_tf=True,
            norm=None,  # normalised in transform(), channel by channel
            dtype=np.float32,
        ).fit(X)
        self.word_vectorizer_ = _most_frequent(self.word_vectorizer_, X, self.max_word_features)
        self.char_vectorizer_ = None
        if self.char_ngram_range is not None:
            self.char_vectorizer_ = TfidfVectorizer(
                analyzer="char_wb",
                preprocessor=plain_words,
                ngram_range=tuple(self.char_ngram_range),
                min_df=self.char_min_df,
                sublinear_tf=True,
                dtype=np.float32,
            ).fit(X)
            self.char_vectorizer_ = _most_frequent(self.char_vectorizer_, X, self.max_char_features)
        if self.drop_function_words:
            self.word_vectorizer_ = _drop_terms(self.word_vectorizer_, X, function_words())
        if not self.concept_pairs:
            self.word_vectorizer_ = _refit_on(self.word_vectorizer_, X, [
                t for t in self.word_vectorizer_.get_feature_names_out()
                if " " not in t or not any(w[:1].isupper() for w in t.split())])
        if self.modifier_min_df > 1:
            self.word_vectorizer_ = _drop_rare_modified_concepts(self.word_vectorizer_, X, self.modifier_min_df)
        if self.min_groups > 1 and groups is not None:
            self.word_vectorizer_ = _keep_shared_terms(self.word_vectorizer_, X, groups, self.min_groups)
            if self.char_vectorizer_ is not None:
                self.char_vectorizer_ = _keep_shared_terms(self.char_vectorizer_, X, groups, self.min_groups)
        # the discarded-terms sets are only for introspection
        for vec in (self.word_vectorizer_, self.char_vectorizer_):
            if vec is not None and hasattr(vec, "stop_words_"):
                del vec.stop_words_
        self.n_word_features_ = len(self.word_vectorizer_.vocabulary_)
        self.concept_columns_ = (is_concept_term(self.word_vectorizer_.get_feature_names_out())
                                 if self.concept_features == "binary" else None)
        return self

    def transform(self, X: Sequence[str]) -> sp.csr_matrix:
        check_is_fitted(self, "word_vectorizer_")
        parts = [normalise_words(self.word_vectorizer_.transform(X), self.concept_columns_, self.word_norm,
                                 self.length_cap, self.concept_value, self.concept_cap)]
        if self.char_vectorizer_ is not None:
            parts.append(self.char_vectorizer_.transform(X))
        return sp.hstack(parts, format="csr", dtype=np.float32)

    def word_feature_names(self) -> np.ndarray:
        """Names of the word-channel features, in column order (they come first)."""
        check_is_fitted(self, "word_vectorizer_")
        return self.word_vectorizer_.get_feature_names_out()


def normalise_words(X: sp.csr_matrix, concept_columns: np.ndarray | None, norm: str,
                    length_cap: int | None = None, concept_value: float = 1.0,
                    concept_cap: int | None = None) -> sp.csr_matrix:
    """Raw word-channel TF-IDF rows -> their features: concept columns set to ``concept_value`` (when
    ``concept_columns`` marks them; times K / k in a row of k > K = ``concept_cap`` concepts),
    every other column divided by its row's ``norm`` (for L2 with ``length_cap`` M, times
    sqrt(m / M) when the row has m > M such columns)."""
    X = sp.csr_matrix(X, dtype=np.float64, copy=True)
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    is_con = concept_columns[X.indices] if concept_columns is not None else np.zeros(X.nnz, dtype=bool)
    size = np.abs(X.data) if norm == "l1" else X.data ** 2
    total = np.bincount(rows[~is_con], weights=size[~is_con], minlength=X.shape[0])
    if norm == "l2":
        total = np.sqrt(total)
        if length_cap is not None:
            m = np.bincount(rows[~is_con], minlength=X.shape[0])
            total *= np.sqrt(np.maximum(1.0, m / length_cap))
    total[total == 0] = 1.0
    X.data = np.where(is_con, float(concept_value), X.data / total[rows])
    if concept_cap is not None and is_con.any():
        k = np.bincount(rows[is_con], minlength=X.shape[0])
        X.data[is_con] *= np.minimum(1.0, concept_cap / np.maximum(k, 1))[rows[is_con]]
    return X.astype(np.float32)


def _drop_terms(vec: TfidfVectorizer, X: Sequence[str], drop: frozenset[str]) -> TfidfVectorizer:
    """``vec`` refitted without the single-word terms in ``drop`` (pairs are kept)."""
    return _refit_on(vec, X, [t for t in vec.get_feature_names_out() if t not in drop])


#: the parameters a CountVectorizer shares with a TfidfVectorizer
_COUNT_PARAMS = frozenset(("input", "encoding", "decode_error", "strip_accents", "lowercase", "preprocessor",
                           "tokenizer", "stop_words", "token_pattern", "ngram_range", "analyzer", "binary", "dtype"))


def _most_frequent(vec: TfidfVectorizer, X: Sequence[str], limit: int | None) -> TfidfVectorizer:
    """``vec`` refitted on its ``limit`` most frequent terms, ties broken by the term.

    Why not the vectorizer's own ``max_features``: scikit-learn cuts with an unstable
    ``argsort``, and numpy's sort breaks ties by the CPU's vector instructions, so the
    same notes gave a different vocabulary on an AVX-512 machine and on one without
    (stop 32: 2.13.0 could not be retrained to itself on an AMD EPYC without AVX-512).
    """
    terms = vec.get_feature_names_out()
    if limit is None or len(terms) <= limit:
        return vec
    counts = CountVectorizer(**{k: v for k, v in vec.get_params().items() if k in _COUNT_PARAMS},
                             vocabulary=vec.vocabulary_).transform(X)
    frequency = np.asarray(counts.sum(axis=0)).ravel()
    order = np.lexsort((terms, -frequency))  # most frequent first; equal counts in term order
    return _refit_on(vec, X, sorted(terms[order[:limit]].tolist()))


def _keep_shared_terms(vec: TfidfVectorizer, X: Sequence[str], groups: Sequence[object],
                       min_groups: int) -> TfidfVectorizer:
    """``vec`` refitted on the terms that occur in at least ``min_groups`` groups (or
    that hold a concept token)."""
    present = (vec.transform(X) > 0).astype(np.float32).tocsc()
    _, g = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
    G = sp.csr_matrix((np.ones(len(g), dtype=np.float32), (g, np.arange(len(g)))), shape=(g.max() + 1, len(g)))
    n_groups = np.asarray(((G @ present) > 0).sum(axis=0)).ravel()
    terms = vec.get_feature_names_out()
    keep = [t for t, n in zip(terms, n_groups) if n >= min_groups or any(w[:1].isupper() for w in t.split())]
    return _refit_on(vec, X, keep)


def _drop_rare_modified_concepts(vec: TfidfVectorizer, X: Sequence[str], min_df: int) -> TfidfVectorizer:
    """``vec`` refitted without the modified concept tokens (``NEG_C_X`` ..., see
    :class:`NoteFeaturizer`) that occur in fewer than ``min_df`` notes."""
    terms = vec.get_feature_names_out()
    df = np.asarray((vec.transform(X) > 0).sum(axis=0)).ravel()
    keep = [t for t, n in zip(terms, df) if n >= min_df or not t.startswith(_MODIFIED_PREFIXES)]
    return _refit_on(vec, X, keep)


def _refit_on(vec: TfidfVectorizer, X: Sequence[str], terms: list[str]) -> TfidfVectorizer:
    """A vectorizer like ``vec`` with exactly ``terms`` as its vocabulary, its IDF fitted on ``X``."""
    params = vec.get_params()
    params.update(vocabulary=terms, min_df=1, max_features=None)
    return TfidfVectorizer(**params).fit(X)



def label_consistent_mask(M: sp.spmatrix, Y: np.ndarray, families: Sequence[str], min_families: int,
                          keep_columns: np.ndarray | None = None, ratio: float = 2.0,
                          min_notes: int = 2) -> np.ndarray:
    """Which feature may carry weight for which output (outputs x features, bool).

    Why: a word that one template family happened to put beside a label is not evidence
    of that label ("living" beside psychosis, "further" beside suicide). A feature is
    kept for an output where it predicts that output the same way - its rate among the
    output's notes at least ``ratio`` times its rate among the others, or the reverse -
    in at least ``min_families`` phrase banks AND at least ``min_families`` styles
    (``families``: "style|bank" per note; a group counts only where it has ``min_notes``
    notes with the feature on the predicting side). ``keep_columns`` (the concept
    tokens: knowledge, not template words) are always kept.
    """
    Y = np.asarray(Y)
    present = sp.csr_matrix((M != 0).astype(np.float32))
    fam = np.asarray(families, dtype=str)
    up_in, down_in = {}, {}
    for part in (0, 1):  # 0: the style, 1: the bank of "style|bank"
        names = np.array([f.split("|", 1)[part] if "|" in f else f for f in fam])
        _, g = np.unique(names, return_inverse=True)
        G = sp.csr_matrix((np.ones(len(g), dtype=np.float32), (g, np.arange(len(g)))), shape=(g.max() + 1, len(g)))
        c_all = (G @ present).toarray()  # groups x features: notes with the feature
        n_all = np.asarray(G.sum(axis=1))
        for j in range(Y.shape[1]):
            pos = Y[:, j].astype(np.float32)
            c_pos = (G @ sp.csr_matrix(present.multiply(pos[:, None]))).toarray()
            c_neg = c_all - c_pos
            n_pos = (G @ pos)[:, None]
            r_pos = (c_pos + 0.5) / (n_pos + 1.0)
            r_neg = (c_neg + 0.5) / (n_all - n_pos + 1.0)
            up_in[part, j] = ((r_pos >= ratio * r_neg) & (c_pos >= min_notes)).sum(axis=0) >= min_families
            down_in[part, j] = ((r_neg >= ratio * r_pos) & (c_neg >= min_notes)
                                & (n_pos >= min_notes)).sum(axis=0) >= min_families
    keep = np.array([(up_in[0, j] & up_in[1, j]) | (down_in[0, j] & down_in[1, j]) for j in range(Y.shape[1])])
    if keep_columns is not None:
        cols = np.zeros(M.shape[1], dtype=bool)
        cols[:len(keep_columns)] = np.asarray(keep_columns, dtype=bool)
        keep[:, cols] = True
    return keep
