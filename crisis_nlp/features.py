"""Feature extraction: feature strings -> one sparse matrix.

Two channels: word uni/bigrams over the feature string (shorthand expanded, negated words
and concepts marked), and character n-grams over the non-negated words only, which carry
misspellings ("suicidial") and unseen inflections to known features.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

from .preprocess import plain_words


class NoteFeaturizer(TransformerMixin, BaseEstimator):
    """TF-IDF over word n-grams and character n-grams of feature strings.

    Parameters are those of the two ``TfidfVectorizer`` channels; ``char_ngram_range=None``
    turns the character channel off.
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
    ) -> None:
        self.word_ngram_range = word_ngram_range
        self.word_min_df = word_min_df
        self.max_word_features = max_word_features
        self.char_ngram_range = char_ngram_range
        self.char_min_df = char_min_df
        self.max_char_features = max_char_features

    def fit(self, X: Sequence[str], y: object = None) -> "NoteFeaturizer":
        self.word_vectorizer_ = TfidfVectorizer(
            tokenizer=str.split,
            token_pattern=None,
            lowercase=False,
            ngram_range=tuple(self.word_ngram_range),
            min_df=self.word_min_df,
            max_features=self.max_word_features,
            sublinear_tf=True,
            dtype=np.float32,
        ).fit(X)
        self.char_vectorizer_ = None
        if self.char_ngram_range is not None:
            self.char_vectorizer_ = TfidfVectorizer(
                analyzer="char_wb",
                preprocessor=plain_words,
                ngram_range=tuple(self.char_ngram_range),
                min_df=self.char_min_df,
                max_features=self.max_char_features,
                sublinear_tf=True,
                dtype=np.float32,
            ).fit(X)
        # the discarded-terms sets are only for introspection and make pickles large
        for vec in (self.word_vectorizer_, self.char_vectorizer_):
            if vec is not None and hasattr(vec, "stop_words_"):
                del vec.stop_words_
        self.n_word_features_ = len(self.word_vectorizer_.vocabulary_)
        return self

    def transform(self, X: Sequence[str]) -> sp.csr_matrix:
        check_is_fitted(self, "word_vectorizer_")
        parts = [self.word_vectorizer_.transform(X)]
        if self.char_vectorizer_ is not None:
            parts.append(self.char_vectorizer_.transform(X))
        return sp.hstack(parts, format="csr", dtype=np.float32)

    def word_feature_names(self) -> np.ndarray:
        """Names of the word-channel features, in column order (they come first)."""
        check_is_fitted(self, "word_vectorizer_")
        return self.word_vectorizer_.get_feature_names_out()

