"""The preprocessing pipeline: normalise, mask personal data, tokenize with a blank
English spaCy pipeline plus our components, and write one feature string per note.

The feature string is what the vectorizers read: lower-case words with shorthand
expanded, words in a negation scope prefixed ``neg_``, then the concept tokens of the
note: ``C_<CONCEPT>`` per lexicon match, or ``NEG_C_``, ``HIST_C_``, ``HYP_C_``,
``OTHER_C_`` when a context rule modifies it, and ``UNC_C_`` next to ``C_`` when it is
uncertain (the vocabulary is in :mod:`crisis_nlp.preprocess.components`). Context is
therefore decided by rule, not learned from examples, so "denies SI" behaves like "no
suicidal thoughts" even if the training data never paired those words.
"""

from __future__ import annotations

import itertools
import operator
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import spacy
from sklearn.base import BaseEstimator, TransformerMixin
from spacy.language import Language
from spacy.tokens import Doc

from .components import concept_tokens  # (importing registers the factories)
from .tokens import CONCEPT_FEATURES, CONCEPTS, NEGATED, NORM_COL, PUNCT_COL, SPACE_COL, token_arrays
from .budget import ReadingBudget
from .identity import IdentityNormalizer  # noqa: F401  (registers crisis_nlp_identity)
from .boilerplate import boilerplate_rules
from .text import limit_runs, mask_pii, normalize_characters, normalize_spacing

NEG_PREFIX = "neg_"
CONCEPT_PREFIX = "C_"
NEG_CONCEPT_PREFIX = "NEG_C_"
# every concept token starts with one of these (C_, UNC_C_, NEG_C_, HIST_C_, HYP_C_, OTHER_C_)
CONCEPT_PREFIXES = (CONCEPT_PREFIX, "UNC_C_", NEG_CONCEPT_PREFIX, "HIST_C_", "HYP_C_", "OTHER_C_")
# feature tokens that are not plain words: the character channel skips them (plain_words)
MARKED_PREFIXES = (NEG_PREFIX, *CONCEPT_PREFIXES)
PIPE_NAMES = ("crisis_nlp_shorthand", "crisis_nlp_identity", "crisis_nlp_concepts", "crisis_nlp_context")
_DIGIT = re.compile(r"\d")
# Whitespace-separated chunks the tokenizer remembers (spaCy's default: 10,000). Every
# chunk not in the cache goes through the prefix/suffix/infix rules again; the 40,000
# synthetic notes alone hold 33,500 distinct chunks, and tokenizing them ran at 28,000
# notes/s with the default, 50,000 with this. About 30 MB when full (measured); never
# flushed, so it holds the first chunks seen (in real notes, mostly the frequent ones).
TOKENIZER_CACHE = 100_000
_lock = threading.Lock()


@lru_cache(maxsize=4)
def build_nlp(rules_dir: str | None = None) -> Language:
    """The pipeline: ``spacy.blank('en')`` + shorthand, concepts, context.

    ``rules_dir`` is the folder the rule tables are read from (default: the package's
    resources), e.g. the snapshot kept with a model version. Built once per process and
    folder (a few hundred ms) and cached; no model download is involved.
    """
    with _lock:
        nlp = spacy.blank("en")
        if hasattr(nlp.tokenizer, "max_cache_size"):  # spaCy 3.8+; 3.7's (medspaCy's) cache has no bound
            nlp.tokenizer.max_cache_size = TOKENIZER_CACHE
        add_upper_case_exceptions(nlp)
        for name in PIPE_NAMES:
            nlp.add_pipe(name, config={"rules_dir": rules_dir})
        return nlp


def add_upper_case_exceptions(nlp: Language) -> None:
    """spaCy splits "hasn't" and "Hasn't" into has + n't, but not "HASN'T" (its exceptions
    list lower and title case only). Call notes are upper case more often than not, so
    every exception gets its upper-case form too: an upper-case note then reads as the
    same note in lower case (a negated "HASN'T TALKED" stays negated)."""
    from spacy.attrs import NORM, ORTH

    rules = nlp.tokenizer.rules
    for orth, pieces in list(rules.items()):
        upper = orth.upper()
        if upper == orth or upper in rules or not any(c.isalpha() for c in orth):
            continue
        if "".join(p[ORTH] for p in pieces).upper() != upper:
            continue
        nlp.tokenizer.add_special_case(
            upper, [{ORTH: p[ORTH].upper(), NORM: p.get(NORM, p[ORTH].lower())} for p in pieces])


# string hash of a token's NORM -> the words it contributes, plain and negated (a hash
# always names the same string)
_NORM_WORDS: dict[int, tuple[str, ...]] = {}
_NEG_WORDS: dict[int, tuple[str, ...]] = {}


def _norm_words(norm: str) -> tuple[str, ...]:
    """The feature words of a token's NORM. A token with a digit (a time, a unit, a call
    or case number, an age) gives none: numbers and codes are CAD wrapping, not the
    call-taker's words, and a trailing '[23:14]' must not move a score; the codes that mean
    something (10-96, 25B06, narcan x2) are read by the shorthand table and the concept
    lexicons instead."""
    if norm.isalpha():
        return (norm,)
    return () if _DIGIT.search(norm) else tuple(norm.split())


def _fill(cache: dict[int, tuple[str, ...]], hashes: list[int], words: list, strings, prefix: str = "") -> None:
    if len(cache) > 100_000:  # bound the memory of a long-running service
        cache.clear()
    for k, h in enumerate(hashes):
        if words[k] is None:
            found = cache.get(h)  # made once per new NORM, not once per token: a new word can repeat
            if found is None:
                found = cache[h] = tuple(prefix + w for w in _norm_words(strings[h]))
            words[k] = found


def _cached_words(norm_hash: int, negated: bool, strings) -> tuple[str, ...]:
    """The feature words one token with this NORM contributes, plain or negated."""
    cache, prefix = (_NEG_WORDS, NEG_PREFIX) if negated else (_NORM_WORDS, "")
    w = cache.get(norm_hash)
    if w is None:
        one: list = [None]
        _fill(cache, [norm_hash], one, strings, prefix)
        w = one[0]
    return w


def _token_words(doc: Doc) -> tuple[list[tuple[str, ...]], list[bool]]:
    """Per token, the feature words it contributes, and whether it is kept (punctuation
    and whitespace make no feature). One array read, per-hash caches and C-level
    filtering instead of one Python step per token: this is the hot path of every note."""
    negated = doc.user_data[NEGATED]
    arr = token_arrays(doc)
    hashes = arr[:, NORM_COL].tolist()
    keep = list(map(operator.not_, (arr[:, PUNCT_COL] | arr[:, SPACE_COL]).tolist()))
    words = list(map(_NORM_WORDS.get, hashes))
    if None in words:
        _fill(_NORM_WORDS, hashes, words, doc.vocab.strings)
    if True in negated:
        for i in itertools.compress(range(len(negated)), negated):
            words[i] = _cached_words(hashes[i], True, doc.vocab.strings)
    return words, keep


def doc_words(doc: Doc) -> list[str]:
    """The feature tokens of a processed ``Doc`` (see :func:`doc_features`)."""
    return _words_and_concepts(doc, *_token_words(doc))


def _words_and_concepts(doc: Doc, words: list[tuple[str, ...]], keep: list[bool]) -> list[str]:
    out = list(itertools.chain.from_iterable(itertools.compress(words, keep)))
    out.extend(_concept_features(doc))
    return out


def doc_windows(doc: Doc, size: int | None) -> list[str]:
    """The feature strings of the stretches a note longer than ``size`` tokens is also
    read in (see :mod:`crisis_nlp.model.stretches`): ``size`` word-bearing tokens each, every one
    starting half a stretch after the last and the last ending with the note, each with
    the concepts that start in it (read in the context of the whole note: a denial
    stays a denial). ``[]`` for a note of at most ``size`` tokens, or ``size=None``."""
    if size is None or len(doc) <= size:  # (most notes: no per-token work)
        return []
    return _windows(doc, *_token_words(doc), size)


def doc_features_and_windows(doc: Doc, size: int | None) -> tuple[str, list[str]]:
    """:func:`doc_features` and :func:`doc_windows` of one ``Doc``, its tokens' words read once."""
    if size is None or len(doc) <= size:
        return doc_features(doc), []
    words, keep = _token_words(doc)
    return " ".join(_words_and_concepts(doc, words, keep)), _windows(doc, words, keep, size)


def _windows(doc: Doc, words: list[tuple[str, ...]], keep: list[bool], size: int) -> list[str]:
    # counted in tokens that make a feature word: a time stamp or a unit number (no word)
    # must not move where the stretches start
    kept = [i for i in itertools.compress(range(len(words)), keep) if words[i]]
    n = len(kept)
    if n <= size:
        return []
    concepts = doc.user_data.get(CONCEPTS) or []
    concept_feats = _concept_features(doc)
    groups = _concept_groups(concept_feats, len(concepts))
    starts = list(range(0, n - size, max(1, size // 2))) + [n - size]
    out = []
    for s in starts:
        first, last = kept[s], kept[s + size - 1]
        toks = list(itertools.chain.from_iterable(words[i] for i in kept[s:s + size]))
        if groups is None:  # concept tokens that cannot be told apart: every stretch has them all
            toks.extend(concept_feats)
        else:
            toks.extend(itertools.chain.from_iterable(g for c, g in zip(concepts, groups) if first <= c.start <= last))
        out.append(" ".join(toks))
    return out


def _concept_groups(tokens: Sequence[str], n_concepts: int) -> list[list[str]] | None:
    """The concept tokens split per concept match, in match order: a concept gives one
    token, or two when it is uncertain (``C_X UNC_C_X``, see ``concept_tokens``); None
    when the split does not give one group per match."""
    groups: list[list[str]] = []
    for t in tokens:
        if t.startswith("UNC_") and groups:
            groups[-1].append(t)
        else:
            groups.append([t])
    return groups if len(groups) == n_concepts else None


def _concept_features(doc: Doc) -> list[str]:
    """The concept tokens of a processed ``Doc``: those ``crisis_nlp_context`` wrote, or,
    in a pipeline without it, ``C_`` / ``NEG_C_`` from the concepts."""
    data = doc.user_data
    feats = data.get(CONCEPT_FEATURES)
    if feats is not None:
        return feats
    return [t for c in data.get(CONCEPTS) or () for t in concept_tokens(c.name, 1 if c.negated else 0)]


def doc_features(doc: Doc) -> str:
    """Turn a processed ``Doc`` into the feature string the vectorizers read.

    Punctuation is left out and digits become 0; negated words get the ``neg_`` prefix;
    concept matches are appended. (Dropping function words was tried and lowered the
    held-out-family F1 from 0.859 to 0.840: "going to", "wants to" carry meaning.)
    """
    return " ".join(doc_words(doc))


@lru_cache(maxsize=4)
def reading_budget(rules_dir: str | None = None) -> ReadingBudget:
    """The reading budget of the pipeline with the rule tables in ``rules_dir``."""
    return ReadingBudget.from_pipeline(build_nlp(rules_dir), rules_dir)


def clean_text(text: str, rules_dir: str | None = None) -> str:
    """CAD wrapping lines dropped (:mod:`.boilerplate`), normalisation, the part of a long note that is read (:mod:`.budget`),
    personal-data masking and capped runs without spaces: the text every later step sees,
    of bounded length and first-sight work (the tokenizer's work per chunk is bounded too).
    ``rules_dir``: the rule tables whose words the reading budget knows and, for a version
    that snapshots them, the masking tables.

    The budget reads the note between the two halves of :func:`normalize_text`, so the
    second half (age units, spaces) only runs on what is read; a note read whole gets
    exactly ``normalize_text``."""
    text = boilerplate_rules(rules_dir).strip(text)
    read = reading_budget(rules_dir).select(normalize_characters(text))
    return limit_runs(mask_pii(normalize_spacing(read), rules_dir=rules_dir))


def _stages(rules_dir: str | None = None) -> tuple:
    # not cached on its own: a second cache could keep a pipeline that build_nlp's cache
    # has let go, and then two pipelines for the same tables would live side by side
    nlp = build_nlp(rules_dir)
    return nlp.make_doc, tuple(proc for _name, proc in nlp.pipeline)


def process(text: str, rules_dir: str | None = None) -> Doc:
    """One note through the full pipeline (cleaning included).

    The same steps as ``build_nlp()(clean_text(text))`` without ``Language.__call__``'s
    per-call bookkeeping (config checks, error handlers), which is a noticeable share of
    a 0.3 ms budget for one short note. ``rules_dir``: the rule tables to use (a model
    version's snapshot; default the package's).
    """
    make_doc, procs = _stages(rules_dir)
    doc = make_doc(clean_text(text, rules_dir))
    for proc in procs:
        doc = proc(doc)
    return doc


def process_batch(texts: Sequence[str], rules_dir: str | None = None) -> list[Doc]:
    """Many notes through the full pipeline: the same Docs as :func:`process`, with each
    component's batch method (``pipe``) where it has one, as ``Language.pipe`` does."""
    make_doc, procs = _stages(rules_dir)
    docs = [make_doc(clean_text(t, rules_dir)) for t in texts]
    for proc in procs:
        pipe = getattr(proc, "pipe", None)
        docs = list(pipe(docs)) if pipe is not None else [proc(d) for d in docs]
    return docs


def iter_docs(texts: Iterable[str], batch_size: int = 256, rules_dir: str | None = None) -> Iterator[Doc]:
    """Process notes through the full pipeline (cleaning included), lazily, a batch at
    a time."""
    it = iter(texts)
    while batch := list(itertools.islice(it, batch_size)):
        yield from process_batch(batch, rules_dir)


def note_features(texts: Iterable[str], rules_dir: str | None = None) -> list[str]:
    """Feature strings for many notes (with the rule tables in ``rules_dir``, default the
    package's)."""
    return [doc_features(d) for d in iter_docs(texts, rules_dir=rules_dir)]


def note_features_and_windows(texts: Iterable[str], rules_dir: str | None = None,
                              window: int | None = None) -> tuple[list[str], list[list[str]]]:
    """:func:`note_features` and, per note, its stretches' feature strings
    (:func:`doc_windows`), from one pass of the pipeline."""
    pairs = [doc_features_and_windows(d, window) for d in iter_docs(texts, rules_dir=rules_dir)]
    return [f for f, _ in pairs], [w for _, w in pairs]


@dataclass(frozen=True)
class FeatureTable:
    """The feature tokens of many processed notes as arrays, for the batch scorer
    (:meth:`crisis_nlp.model.estimator.LinearScorer.matrix_table`). Row for row the same tokens
    as :func:`doc_words`, without a string per token."""

    norms: np.ndarray  # NORM hash of each kept token (punctuation and spaces dropped), all notes
    negated: np.ndarray  # bool, per kept token
    note: np.ndarray  # the note each kept token belongs to
    concepts: list[list[str]]  # per note, its concept tokens (C_, NEG_C_, ...; they follow its words)
    strings: object  # the StringStore that names the hashes

    def words(self, norm_hash: int, negated: bool) -> tuple[str, ...]:
        """The feature words one token with this NORM contributes (see doc_words)."""
        return _cached_words(norm_hash, negated, self.strings)


def feature_table(docs: Sequence[Doc]) -> FeatureTable:
    """:class:`FeatureTable` of processed docs."""
    strings = docs[0].vocab.strings if docs else None
    if not docs:
        return FeatureTable(np.empty(0, np.uint64), np.empty(0, bool), np.empty(0, np.intp), [], strings)
    arrs = [token_arrays(d) for d in docs]
    arr = np.concatenate(arrs)
    negated = np.fromiter(itertools.chain.from_iterable([d.user_data[NEGATED] for d in docs]), dtype=bool,
                          count=len(arr))
    keep = (arr[:, PUNCT_COL] | arr[:, SPACE_COL]) == 0
    note = np.repeat(np.arange(len(docs)), [len(a) for a in arrs])
    concepts = [_concept_features(d) for d in docs]
    return FeatureTable(arr[keep, NORM_COL], negated[keep], note[keep], concepts, strings)


def plain_words(features: str) -> str:
    """The non-negated words of a feature string (no concept or negated tokens).

    Used as the character n-gram vectorizer's preprocessor: character n-grams catch
    misspellings, and a negated word must not lend them its letters.
    """
    return " ".join(w for w in features.split() if not w.startswith(MARKED_PREFIXES))


@dataclass(frozen=True)
class NoteAnalysis:
    """What the preprocessing saw in one note; used for explanations and debugging."""

    text: str  # normalised, the part read (see preprocess.budget), personal data masked
    tokens: tuple[str, ...]
    negated: tuple[bool, ...]
    concepts: tuple[tuple[str, str, bool], ...]  # (concept, matched words, negated)
    features: str
    modifiers: tuple[tuple[str, ...], ...] = ()  # per concept, its context categories


def analyze(text: str) -> NoteAnalysis:
    """Run the pipeline on one note and return everything it found."""
    doc = next(iter_docs([text]))
    return NoteAnalysis(
        text=doc.text,
        tokens=tuple(t.text for t in doc),
        negated=tuple(doc._.negated),
        concepts=tuple((c, doc[s:e].text, neg) for s, e, c, neg in doc._.concepts),
        features=doc_features(doc),
        modifiers=tuple(doc._.concept_modifiers or ()),
    )


class NotePreprocessor(TransformerMixin, BaseEstimator):
    """scikit-learn transformer: raw note texts -> feature strings.

    Stateless (nothing is learned), so ``fit`` only checks its input. ``rules_dir``: the
    folder of rule tables (default: the package's resources).
    """

    def __init__(self, rules_dir: str | None = None) -> None:
        self.rules_dir = rules_dir

    def fit(self, X: Iterable[str], y: object = None) -> "NotePreprocessor":
        return self

    def transform(self, X: Iterable[str]) -> list[str]:
        return note_features(X, self.rules_dir)

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags
