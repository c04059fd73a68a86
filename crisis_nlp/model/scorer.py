"""The one scorer of inference: feature strings (or a batch's feature table) -> the
probability of every output, from a version's arrays (:class:`ModelArrays`).

It does the arithmetic of the training estimator (sublinear TF x IDF, each channel
normalised as the version's settings say, stacked logistic regressions) without
scikit-learn, so classifying needs no scikit-learn and loads no pickle. A test checks it against the estimator at train time.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from ..errors import IncompatibleModelError
from .artifact import CONCEPT_FEATURES, WORD_NORMS, ModelArrays, is_concept_term
from ..preprocess.pipeline import MARKED_PREFIXES, FeatureTable

# feature-string tokens that the character channel skips (see preprocess.plain_words)
_MARKED = MARKED_PREFIXES
_NO_COLS = np.empty(0, dtype=np.intp)
_NO_COUNTS = np.empty(0, dtype=np.float64)
_ONE_COUNT = np.ones(1)
#: the word n-gram ranges the scorer counts (and the estimator accepts)
SUPPORTED_WORD_NGRAMS = ((1, 1), (1, 2))


class _BoundedCache(dict):
    """``cache[key]`` computes and stores ``make(key)`` on a miss; emptied when full, so a
    long-running service cannot grow without bound. Hits cost one dict lookup."""

    def __init__(self, make, max_size: int) -> None:
        super().__init__()
        self.make, self.max_size = make, max_size

    def __missing__(self, key):
        value = self.make(key)
        if len(self) >= self.max_size:
            self.clear()
        self[key] = value
        return value


class _TypeRows:
    """What one occurrence of each word type adds to a TF-IDF row (its word column and
    its character n-grams, counted), as rows of one CSR matrix that grows as types are
    first seen, so that a batch is counted by one product with it and no per-batch
    assembly. Its first ``n_word`` rows are unit rows, one per word column, through which
    vocabulary bigrams are counted in the same product; ``crow[t]`` is type ``t``'s row
    (-1 until its row is made). Index arrays are int32, which scipy uses as they are.
    Rows are only appended (under the owner's lock); a batch's :meth:`matrix` is a view
    that later appends do not touch."""

    def __init__(self, n_word: int, n_cols: int, n_types: int) -> None:
        self.n_cols = n_cols
        self.indptr = np.arange(n_word + 1, dtype=np.int32)
        self.indices = np.arange(n_word, dtype=np.int32)
        self.data = np.ones(n_word)
        self.n_rows = self.nnz = n_word
        self.crow = np.full(max(n_types, 1024), -1, dtype=np.int32)
        self.n_types = n_types
        self.empty = -1  # the one type of every word that adds nothing (made on first use)

    def type_of(self, cols: np.ndarray, counts: np.ndarray) -> int:
        """A type id for a word whose occurrence adds ``cols``: a new one, or the shared
        empty type when it adds nothing (a word outside the vocabulary, without
        character n-grams): such words cost no row, however many a note brings."""
        if len(cols):
            return self.new_type(cols, counts)
        if self.empty < 0:
            self.empty = self.new_type(cols, counts)
        return self.empty

    def new_type(self, cols: np.ndarray, counts: np.ndarray) -> int:
        t = self.n_types
        if t == len(self.crow):
            self.crow = np.concatenate([self.crow, np.full(len(self.crow), -1, dtype=np.int32)])
        self.n_types = t + 1
        self.set_row(t, cols, counts)
        return t

    def set_row(self, t: int, cols: np.ndarray, counts: np.ndarray) -> None:
        end = self.nnz + len(cols)
        if end > len(self.indices):  # doubling keeps a view over half its buffer (scipy copies smaller ones)
            size = max(2 * len(self.indices), end)
            self.indices = np.concatenate([self.indices[:self.nnz], np.empty(size - self.nnz, dtype=np.int32)])
            self.data = np.concatenate([self.data[:self.nnz], np.empty(size - self.nnz)])
        if self.n_rows + 1 == len(self.indptr):
            self.indptr = np.concatenate([self.indptr, np.empty(len(self.indptr), dtype=np.int32)])
        self.indices[self.nnz:end] = cols
        self.data[self.nnz:end] = counts
        self.nnz = end
        self.n_rows += 1
        self.indptr[self.n_rows] = end
        self.crow[t] = self.n_rows - 1

    def matrix(self) -> sp.csr_matrix:
        return sp.csr_matrix((self.data[:self.nnz], self.indices[:self.nnz], self.indptr[:self.n_rows + 1]),
                             shape=(self.n_rows, self.n_cols), copy=False)


class _WordTypes:
    """Word -> type id, and per id what one occurrence of the word adds to a TF-IDF row
    (:class:`_TypeRows`; see :meth:`LinearScorer.matrix`). Ids below ``n_base`` are the
    words that vocabulary bigrams are made of, fixed so that a bigram is a pair of small
    ints (their rows are made on first sight); other words get the next id on first
    sight. Emptied (back to the base words) when full."""

    def __init__(self, base_words: Sequence[str], max_size: int, n_word: int, n_cols: int) -> None:
        self.base = tuple(base_words)
        self.n_base = len(self.base)
        self.max_size = max_size
        self.n_word, self.n_cols = n_word, n_cols
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        # a new pair, swapped in by one assignment: a batch in another thread keeps the pair
        # it took, and no thread can take the new dict with the old rows
        ids: dict[str, int] = {w: i for i, w in enumerate(self.base)}
        self.table: tuple[dict[str, int], _TypeRows] = (ids, _TypeRows(self.n_word, self.n_cols, self.n_base))

    def current(self) -> tuple[dict[str, int], _TypeRows]:
        """(word -> id, rows) for one batch, emptied first when full."""
        table = self.table
        if len(table[0]) > self.max_size:
            self.reset()
            table = self.table
        return table

    def add_missing(self, ids: list, words: Iterable[str], tid: dict, rows: _TypeRows, make) -> list:
        with self.lock:
            for k, (i, w) in enumerate(zip(ids, words)):
                if i is None:
                    i = tid.get(w)
                    if i is None:
                        i = tid[w] = rows.type_of(*make(w))
                    ids[k] = i
        return ids


def _dense_unique(values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` for small non-negative ints, without a
    sort: a presence table of ``size`` entries."""
    present = np.zeros(size, dtype=bool)
    present[values] = True
    return np.flatnonzero(present), (np.cumsum(present) - 1)[values]


def _rows_then(a: np.ndarray, a_lens: np.ndarray, b: np.ndarray, b_lens: np.ndarray) -> np.ndarray:
    """Row by row, ``a``'s run then ``b``'s run; both are stored row after row, with their
    run length per row. A scatter, no sort."""
    out = np.empty(len(a) + len(b), dtype=np.intp)
    out[np.arange(len(a)) + np.repeat(np.cumsum(b_lens) - b_lens, a_lens)] = a
    out[np.arange(len(b)) + np.repeat(np.cumsum(a_lens), b_lens)] = b
    return out


#: the settings a version may hold: the scorer's feature settings and the knowledge layer's
#: (a version with any other was made by a newer crisis_nlp and would be scored wrongly,
#: so it is refused)
KNOWN_SETTINGS = frozenset({"concept_features", "word_norm", "length_cap", "concept_value", "concept_cap",
                            "label_floors", "label_ceilings", "label_floor_shares", "label_fallbacks", "label_companions",
                            "window_tokens"})


class LinearScorer:
    """Scores one feature string with plain dictionaries and one small dot product.

    ``CrisisClassifier.predict_proba`` goes through two ``TfidfVectorizer.transform``
    calls, ``hstack`` and a sparse product: fine for a big batch, but milliseconds of
    fixed overhead for one note. This does the same arithmetic (sublinear TF x IDF, L2
    norm per channel, stacked coefficients) directly, in float64, and is used for both
    the single-note and the batch path of :class:`crisis_nlp.CrisisModel`, so the two
    give identical scores. A test checks it against the scikit-learn path.
    """

    def __init__(self, arrays: ModelArrays) -> None:
        self.word_vocab: dict[str, int] = {t: i for i, t in enumerate(arrays.word_vocab)}
        self.word_idf = arrays.word_idf.astype(np.float64)
        self.word_ngrams = tuple(arrays.word_ngram_range)
        if self.word_ngrams not in SUPPORTED_WORD_NGRAMS:
            raise IncompatibleModelError(
                f"word n-grams {self.word_ngrams} are not supported (only {SUPPORTED_WORD_NGRAMS}); retrain the version.")
        self.n_word = len(self.word_vocab)
        # versions before 2.1 have no settings: concepts inside the L2-normalised word channel
        self.concept_features = arrays.settings.get("concept_features", "tfidf")
        self.word_norm = arrays.settings.get("word_norm", "l2")
        self.length_cap = arrays.settings.get("length_cap")
        self.concept_value = float(arrays.settings.get("concept_value", 1.0))
        self.concept_cap = arrays.settings.get("concept_cap")
        if (self.concept_features not in CONCEPT_FEATURES or self.word_norm not in WORD_NORMS
                or not set(arrays.settings) <= KNOWN_SETTINGS):
            raise IncompatibleModelError(
                f"feature settings {arrays.settings} are not known to this crisis_nlp; upgrade the package.")
        # True at the word columns that are concept tokens counted 0/1 (None: no such columns)
        self.concept_col = (is_concept_term(arrays.word_vocab) if self.concept_features == "binary" else None)
        has_char = arrays.char_vocab is not None
        self.char_vocab: dict[str, int] | None = (
            {t: i for i, t in enumerate(arrays.char_vocab)} if has_char else None)
        self.char_idf = arrays.char_idf.astype(np.float64) if has_char else None
        self.char_range = tuple(arrays.char_ngram_range) if has_char else None
        self._word_cache = _BoundedCache(self._char_cols, 200_000)  # word -> char-gram columns
        self.idf = np.concatenate([self.word_idf] + ([self.char_idf] if has_char else []))
        # for matrix(): bigram columns by pairs of word-type ids, as a sparse (first word x
        # second word) table that holds column + 1
        bigrams = [(t.split(" "), j) for t, j in self.word_vocab.items() if " " in t]
        base = sorted({w for pair, _j in bigrams for w in pair})
        self._types = _WordTypes(base, 300_000, self.n_word, len(self.idf))
        nb, tid = len(base), self._types.table[0]
        self._bigrams = sp.csr_matrix(
            (np.array([j + 1 for _p, j in bigrams], dtype=np.intp),
             ([tid[a] for (a, _b), _j in bigrams], [tid[b] for (_a, b), _j in bigrams])),
            shape=(nb, nb)) if bigrams else None
        if self._bigrams is not None:
            self._bigrams.sort_indices()
        # coefficients as (n_features, n_outputs), float32 as stored: a note's rows are
        # gathered from all over this matrix, and half the bytes is markedly faster on a
        # cold cache. Sums stay in float64; W holds the same values for the batch
        # product, so both paths agree to ~1e-15.
        self.W32 = np.ascontiguousarray(arrays.coef.T, dtype=np.float32)
        self.W = self.W32.astype(np.float64)
        self.b = arrays.intercept.astype(np.float64)

    def _word_ids(self, toks: list[str]) -> np.ndarray:
        """Word-channel columns of a note's n-grams (repeats kept: they are the counts)."""
        get = self.word_vocab.get
        ids = [j for j in map(get, toks) if j is not None]
        if self.word_ngrams == (1, 2):
            ids += [j for j in map(get, map(" ".join, zip(toks, toks[1:]))) if j is not None]
        return np.array(ids, dtype=np.intp)

    def _char_cols(self, word: str) -> np.ndarray:
        """Columns (already offset past the word channel) of one word's char_wb n-grams,
        as scikit-learn makes them: the word padded with spaces, n from low to high, a
        word no longer than n counted once. Marked tokens (negated words, concepts) have
        none: the character channel reads plain words only."""
        if word.startswith(_MARKED):
            return _NO_COLS
        vocab, (lo, hi), off = self.char_vocab, self.char_range, self.n_word
        w = f" {word} "
        found = []
        for n in range(lo, hi + 1):
            if len(w) <= n:  # the whole padded word, counted once
                g = vocab.get(w)
                if g is not None:
                    found.append(g + off)
                break
            for i in range(len(w) - n + 1):
                g = vocab.get(w[i:i + n])
                if g is not None:
                    found.append(g + off)
        return np.array(found, dtype=np.intp)

    def vector(self, features: str) -> tuple[np.ndarray, np.ndarray]:
        """Sparse feature vector of one note: (sorted column indices, values).

        Both channels' column ids go into one array and are counted by one ``np.unique``;
        each channel is then normalised on its own, as the featurizer does.
        """
        toks = features.split()
        parts = [self._word_ids(toks)]
        if self.char_vocab is not None:
            parts += map(self._word_cache.__getitem__, toks)  # computed on a miss
        cols, tf = np.unique(np.concatenate(parts), return_counts=True)
        vals = (1.0 + np.log(tf)) * self.idf[cols]
        k = int(np.searchsorted(cols, self.n_word))
        words, chars = vals[:k], vals[k:]  # views: normalised in place, per channel
        if self.concept_col is not None:
            is_con = self.concept_col[cols[:k]]
            words[is_con] = self.concept_value
            n_concepts = int(is_con.sum())
            if self.concept_cap is not None and n_concepts > self.concept_cap:
                words[is_con] *= self.concept_cap / n_concepts
            plain = ~is_con
            total = self._word_total(words[plain])
            if total:
                words[plain] /= total
        elif len(words):
            words /= self._word_total(words)
        if len(chars):
            chars /= np.sqrt(chars @ chars)
        return cols, vals

    def _word_total(self, words: np.ndarray) -> float:
        """What a note's word-channel TF-IDF values are divided by (see features.normalise_words)."""
        if self.word_norm == "l1":
            return float(words.sum())
        total = float(np.sqrt(words @ words))
        if self.length_cap is not None and len(words) > self.length_cap:
            total *= np.sqrt(len(words) / self.length_cap)
        return total

    def matrix(self, features: Sequence[str]) -> sp.csr_matrix:
        """TF-IDF rows of many notes at once: the same numbers as :meth:`vector` per row,
        with the counting, weighting and normalising done once for the whole batch."""
        toks = [f.split() for f in features]
        lens = np.fromiter(map(len, toks), dtype=np.intp, count=len(toks))
        types = self._types
        tid, rows = types.current()
        ids = list(map(tid.get, itertools.chain.from_iterable(toks)))
        if None in ids:
            ids = types.add_missing(ids, itertools.chain.from_iterable(toks), tid, rows, self._type_row)
        return self._matrix_from_ids(np.array(ids, dtype=np.intp), lens, rows)

    def matrix_table(self, table: FeatureTable) -> sp.csr_matrix:
        """:meth:`matrix` of the notes in a :class:`FeatureTable`, without making a string
        per token: each distinct (NORM, negated) pair of the batch is looked up once."""
        n_rows = len(table.concepts)
        types = self._types
        tid, rows = types.current()
        uniq, inv = np.unique(table.norms, return_inverse=True)
        code = inv.ravel() * 2 + table.negated  # one code per distinct (NORM, negated)
        codes, at = _dense_unique(code, 2 * len(uniq))
        # each code's word-type ids, flattened; most tokens give one word, some none or two
        words = [table.words(h, bool(c & 1)) for h, c in zip(uniq[codes >> 1].tolist(), codes.tolist())]
        n_words = np.fromiter(map(len, words), dtype=np.intp, count=len(words))
        flat = list(itertools.chain.from_iterable(words))
        concept_words = list(itertools.chain.from_iterable(table.concepts))
        flat_ids = list(map(tid.get, flat + concept_words))
        if None in flat_ids:
            flat_ids = types.add_missing(flat_ids, flat + concept_words, tid, rows, self._type_row)
        flat_ids = np.array(flat_ids, dtype=np.intp)
        word_ids, concept_ids = flat_ids[:len(flat)], flat_ids[len(flat):]
        per_tok = n_words[at]
        start = (np.cumsum(n_words) - n_words)[at]
        total = int(per_tok.sum())
        offsets = np.cumsum(per_tok) - per_tok
        tok_ids = word_ids[np.repeat(start - offsets, per_tok) + np.arange(total)]
        # each note's words, then its concepts
        n_tok = np.bincount(np.repeat(table.note, per_tok), minlength=n_rows)
        n_con = np.fromiter(map(len, table.concepts), dtype=np.intp, count=n_rows)
        ids = _rows_then(tok_ids, n_tok, concept_ids, n_con)
        lens = n_tok + n_con
        return self._matrix_from_ids(ids, lens, rows)

    def _matrix_from_ids(self, ids: np.ndarray, lens: np.ndarray, rows: _TypeRows) -> sp.csr_matrix:
        """Counting as one sparse product ``A @ C``: ``A`` says how often each note holds
        each word type (and each vocabulary bigram), ``C`` (:class:`_TypeRows`) what one
        occurrence of each contributes (its word column and its character n-grams, made
        once per type). So a word's n-grams are looked up once, not once per occurrence,
        and nothing needs sorting. Column indices of the result are not sorted; scores do
        not care.

        ``ids``: word-type ids of all notes' tokens in order; ``lens``: tokens per note.
        """
        types = self._types
        n_rows = len(lens)
        n_cols = len(self.idf)
        if not len(ids):
            return sp.csr_matrix((n_rows, n_cols))
        with types.lock:
            a_cols = rows.crow[ids]
            if (a_cols < 0).any():  # base words seen for the first time
                for t in np.unique(ids[a_cols < 0]).tolist():
                    rows.set_row(t, *self._type_row(types.base[t]))
                a_cols = rows.crow[ids]
            C = rows.matrix()
        a_lens = lens
        if self.word_ngrams == (1, 2) and self._bigrams is not None and len(ids) > 1:
            nb = types.n_base
            first, second = ids[:-1], ids[1:]
            ok = (first < nb) & (second < nb)
            last = np.cumsum(lens)[:-1] - 1  # a note's last word: no bigram across two notes
            ok[last[(last >= 0) & (last < len(ok))]] = False
            at = np.flatnonzero(ok)
            # (scipy answers an empty pair of index arrays with a sparse matrix, not an array)
            found = np.asarray(self._bigrams[first[at], second[at]]).ravel() - 1 if len(at) else at
            hit = found >= 0
            if hit.any():
                n_big = np.bincount(np.repeat(np.arange(n_rows), lens)[at[hit]], minlength=n_rows)
                # each note's words, then its bigrams (whose unit rows come first in C)
                a_cols = _rows_then(a_cols, lens, found[hit], n_big)
                a_lens = lens + n_big
        a_ptr = np.zeros(n_rows + 1, dtype=np.int32)
        np.cumsum(a_lens, out=a_ptr[1:])
        A = sp.csr_matrix((np.ones(len(a_cols)), a_cols.astype(np.int32, copy=False), a_ptr),
                          shape=(n_rows, C.shape[0]), copy=False)
        return self._tfidf_rows((A @ C).tocsr())  # counts: repeats in A are summed by the product

    def _tfidf_rows(self, X: sp.csr_matrix) -> sp.csr_matrix:
        """Term counts -> sublinear TF x IDF, each channel of each row normalised as
        :meth:`vector` does it (channel 0 words, 1 concepts counted 0/1, 2 characters)."""
        n_rows = X.shape[0]
        X.data = (1.0 + np.log(X.data)) * self.idf[X.indices]
        channel = np.where(X.indices >= self.n_word, 2, 0)
        if self.concept_col is not None:
            channel[self.concept_col[np.minimum(X.indices, self.n_word - 1)] & (channel == 0)] = 1
        key = np.repeat(np.arange(n_rows), np.diff(X.indptr)) * 3 + channel
        size = X.data ** 2
        if self.word_norm == "l1":
            size[channel == 0] = X.data[channel == 0]  # TF-IDF values are positive
        # (float even for a batch without a single feature, where bincount would give ints)
        norms = np.bincount(key, weights=size, minlength=3 * n_rows).astype(np.float64).reshape(n_rows, 3)
        norms[:, 2] = np.sqrt(norms[:, 2])
        if self.word_norm == "l2":
            norms[:, 0] = np.sqrt(norms[:, 0])
            if self.length_cap is not None:
                m = np.bincount(key, minlength=3 * n_rows).reshape(n_rows, 3)[:, 0]
                norms[:, 0] *= np.sqrt(np.maximum(1.0, m / self.length_cap))
        norms[:, 1] = 1.0  # concepts keep their value (concept_value or 0)
        norms[norms == 0] = 1.0
        X.data /= norms.ravel()[key]
        if self.concept_col is not None:
            is_con = channel == 1
            X.data[is_con] = self.concept_value
            if self.concept_cap is not None:
                row = key[is_con] // 3
                k = np.bincount(row, minlength=n_rows)
                X.data[is_con] *= np.minimum(1.0, self.concept_cap / np.maximum(k, 1))[row]
        return X

    def _type_row(self, word: str) -> tuple[np.ndarray, np.ndarray]:
        """What one occurrence of ``word`` adds: (columns, counts), word column first."""
        cols = self._word_cache[word] if self.char_vocab is not None else _NO_COLS
        j = self.word_vocab.get(word)
        if not len(cols):  # no character n-grams: the word column or nothing, without np.unique
            # (a first batch of long notes made ~1,000 such rows at ~10 µs each)
            return (np.array([j], dtype=np.intp), _ONE_COUNT) if j is not None else (_NO_COLS, _NO_COUNTS)
        if j is not None:
            cols = np.concatenate([[j], cols]).astype(np.intp)
        u, c = np.unique(cols, return_counts=True)
        return u, c.astype(np.float64)

    def proba_matrix(self, X: sp.csr_matrix) -> np.ndarray:
        return expit(np.asarray(X @ self.W) + self.b)

    def proba(self, cols: np.ndarray, vals: np.ndarray) -> np.ndarray:
        return expit(vals @ self.W32[cols] + self.b)
