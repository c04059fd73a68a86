"""spaCy components for dispatch notes, registered as factories.

Each keeps its rules as data (``crisis_nlp/resources``): the shorthand table, the concept
lexicon and the NegEx-style negation rules. Results are plain Python lists in
``doc.user_data``, read through the ``doc._.concepts`` / ``doc._.negated`` extensions: much
cheaper than span groups for short notes. The per-token attributes all of them need are
read from the ``Doc`` once (:func:`token_arrays`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from spacy.attrs import IS_PUNCT, IS_SPACE, LOWER, NORM
from spacy.util import minibatch
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from ..resources import load_json, load_shorthand

# Results live in ``doc.user_data`` under these keys and are read through the ``doc._``
# extensions; the hot path reads the dict directly (an ``Underscore`` object per read
# costs as much as the read itself).
# doc._.concepts: list of (start, end, concept, negated)
# doc._.negated: list[bool], one per token
CONCEPTS = "crisis_nlp.concepts"
NEGATED = "crisis_nlp.negated"
ARRAYS = "crisis_nlp.token_arrays"
SHARED_MATCHES = "crisis_nlp.shared_matches"  # negation triggers found in the concept matcher's pass
_TRIGGER_PREFIX = "negex:"
for _name, _key in (("concepts", CONCEPTS), ("negated", NEGATED)):
    Doc.set_extension(_name, getter=lambda doc, k=_key: doc.user_data.get(k),
                      setter=lambda doc, value, k=_key: doc.user_data.__setitem__(k, value), force=True)


# columns of token_arrays()
LOWER_COL, NORM_COL, PUNCT_COL, SPACE_COL = range(4)


def token_arrays(doc: Doc) -> np.ndarray:
    """(LOWER, NORM, IS_PUNCT, IS_SPACE) per token, read from the ``Doc`` once and shared
    by the components and the features (each ``Doc.to_array`` costs microseconds).

    ``dispatch_shorthand`` reads it first and keeps the NORM column in step with the
    norms it sets; a component added later that changes norms must do the same.
    """
    arr = doc.user_data.get(ARRAYS)
    if arr is None or len(arr) != len(doc):
        arr = doc.user_data[ARRAYS] = doc.to_array([LOWER, NORM, IS_PUNCT, IS_SPACE])
    return arr


PRONOUN_FORMS = {
    "{he}": ("he", "she", "they"),
    "{his}": ("his", "her", "their"),
    "{him}": ("him", "her", "them"),
    "{himself}": ("himself", "herself", "themself", "themselves"),
}


def expand_pronouns(phrase: str) -> list[str]:
    """All gendered variants of a lexicon phrase written with ``{he}``-style slots."""
    out = [phrase]
    for slot, forms in PRONOUN_FORMS.items():
        if slot in phrase:
            out = [p.replace(slot, f) for p in out for f in forms]
    return out


def add_special_cases(nlp: Language, strings: list[str]) -> None:
    """Keep shorthand with punctuation ('w/o', 'c/o', 'a&o') as one token, in any case.

    A string that the tokenizer already keeps whole ('w/', 'w/o') gets no rule: such a
    rule changes no token, but each hit stops spaCy from caching the rest of the note's
    words, which made notes with 'w/' twice as slow to tokenize.
    """
    tokenizer = nlp.tokenizer
    for s in strings:
        for variant in sorted({s, s.upper(), s.capitalize()}):
            if [t.text for t in tokenizer(variant)] != [variant]:
                tokenizer.add_special_case(variant, [{"ORTH": variant}])


@Language.factory("dispatch_shorthand", assigns=["token.norm"], default_config={})
def make_dispatch_shorthand(nlp: Language, name: str) -> "DispatchShorthand":
    return DispatchShorthand(nlp, name)


class DispatchShorthand:
    """Sets ``token.norm_`` to the expansion of dispatch shorthand ('SI' -> 'suicidal ideation')."""

    def __init__(self, nlp: Language, name: str) -> None:
        self.name = name
        self.table = load_shorthand()
        add_special_cases(nlp, [k for k in self.table if not k.isalnum()])
        # keyed by the hash of the lower-case form, as ``to_array(LOWER)`` gives it
        strings = nlp.vocab.strings
        self.by_hash = {strings.add(k): (v, strings.add(v)) for k, v in self.table.items()}
        self.keys = np.array(sorted(self.by_hash), dtype=np.uint64)  # for pipe()'s search

    def __call__(self, doc: Doc) -> Doc:
        arr = token_arrays(doc)
        hits = list(map(self.by_hash.get, arr[:, LOWER_COL].tolist()))
        for i in itertools.compress(range(len(hits)), hits):
            self._expand(doc, arr, i, hits[i])
        return doc

    def pipe(self, docs: Iterable[Doc], *, batch_size: int = 1024) -> Iterator[Doc]:
        """The same as ``__call__`` per doc, with one vectorised lookup per batch."""
        for batch in minibatch(docs, batch_size):
            arrs = [token_arrays(d) for d in batch]  # minibatch never yields an empty batch
            lower = np.concatenate([a[:, LOWER_COL] for a in arrs])
            pos = np.searchsorted(self.keys, lower)
            pos[pos == len(self.keys)] = 0
            found = np.flatnonzero(self.keys[pos] == lower)
            ends = np.cumsum([len(a) for a in arrs])
            which = np.searchsorted(ends, found, side="right")
            for k, j, h in zip(found.tolist(), which.tolist(), self.keys[pos[found]].tolist()):
                i = k - (int(ends[j - 1]) if j else 0)
                self._expand(batch[j], arrs[j], i, self.by_hash[h])
            yield from batch

    @staticmethod
    def _expand(doc: Doc, arr: np.ndarray, i: int, hit: tuple[str, int]) -> None:
        doc[i].norm_ = hit[0]
        arr[i, NORM_COL] = hit[1]


def _build_matcher(nlp: Language, phrases: dict[str, list[str]], prefix: str = "") -> PhraseMatcher:
    matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
    _add_phrases(matcher, nlp, phrases, prefix)
    return matcher


def _add_phrases(matcher: PhraseMatcher, nlp: Language, phrases: dict[str, list[str]], prefix: str = "") -> None:
    for key, items in phrases.items():
        variants = sorted({v for p in items for v in expand_pronouns(p.lower())})
        matcher.add(prefix + key, [nlp.make_doc(v) for v in variants])


@Language.factory("concept_matcher", assigns=["doc._.concepts"], default_config={})
def make_concept_matcher(nlp: Language, name: str) -> "ConceptMatcher":
    return ConceptMatcher(nlp, name)


class ConceptMatcher:
    """Finds lexicon concepts (SUICIDE, WEAPON, ...) so that unseen wordings of a known
    idea still produce a shared feature. Negation is filled in later by ``negex``."""

    def __init__(self, nlp: Language, name: str) -> None:
        self.name = name
        self.nlp = nlp
        self.concepts = load_json("concepts.json")["concepts"]
        self.matcher = _build_matcher(nlp, self.concepts)
        self.strings = nlp.vocab.strings
        self._shared: frozenset[int] = frozenset()  # match ids of phrases matched for a later component

    def share(self, phrases: dict[str, list[str]], prefix: str) -> None:
        """Match ``phrases`` as well, in the same pass over each note (a second
        PhraseMatcher costs a second pass), keyed ``prefix + key``; their matches go to
        ``doc.user_data[SHARED_MATCHES]`` for the component that asked (``negex``)."""
        _add_phrases(self.matcher, self.nlp, phrases, prefix)
        self._shared = self._shared | {self.strings.add(prefix + key) for key in phrases}

    def __call__(self, doc: Doc) -> Doc:
        strings = self.strings
        matches = self.matcher(doc)
        if self._shared:
            shared = self._shared
            doc.user_data[SHARED_MATCHES] = [m for m in matches if m[0] in shared]
            matches = [m for m in matches if m[0] not in shared]
        doc.user_data[CONCEPTS] = [(s, e, strings[m], False) for m, s, e in matches]
        return doc


@Language.factory(
    "negex",
    assigns=["doc._.negated", "doc._.concepts"],
    default_config={},
    requires=["doc._.concepts"],
)
def make_negex(nlp: Language, name: str) -> "NegEx":
    concepts = nlp.get_pipe("concept_matcher") if "concept_matcher" in nlp.pipe_names else None
    return NegEx(nlp, name, concepts=concepts if isinstance(concepts, ConceptMatcher) else None)


class NegEx:
    """NegEx-style negation (Chapman et al. 2001) tuned for dispatch notes.

    Triggers ('denies', 'no', 'w/o', 'negative for', 'SI denied') open a scope forward or
    backward; pseudo-triggers ('no further', 'not sure') negate nothing; the scope ends at a
    terminator ('but', punctuation, a timestamp), at a comma that opens a longer clause, at
    a clause starter once it holds a content word, or after a window of tokens. A trigger
    inside a concept phrase ('not breathing', "doesn't want to live") is part of that
    phrase and negates nothing.
    """

    def __init__(self, nlp: Language, name: str, rules: dict[str, Any] | None = None,
                 concepts: ConceptMatcher | None = None) -> None:
        self.name = name
        rules = rules or load_json("negation_rules.json")
        self.window_forward = int(rules["window_forward"])
        self.window_backward = int(rules["window_backward"])
        self.list_item_max = int(rules["list_item_max_tokens"])
        self.terminators = frozenset(t.lower() for t in rules["terminators"])
        self.clause_starters = frozenset(t.lower() for t in rules["clause_starters"])
        by_direction: dict[str, list[str]] = {}
        for rule in rules["rules"]:
            direction = rule["direction"]
            if direction not in ("forward", "backward", "bidirectional", "pseudo"):
                raise ValueError(f"negation rule {rule!r}: unknown direction {direction!r}")
            by_direction.setdefault(direction, []).append(rule["literal"])
        add_special_cases(nlp, [lit for lits in by_direction.values() for lit in lits if "/" in lit])
        # match id -> direction; the triggers are matched by the concept matcher's pass when
        # there is one before us (its matches are in doc.user_data), else by our own
        self.strings = nlp.vocab.strings
        self._direction = {self.strings.add(_TRIGGER_PREFIX + d): d for d in by_direction}
        self.matcher = _build_matcher(nlp, by_direction, _TRIGGER_PREFIX)
        if concepts is not None:
            concepts.share(by_direction, _TRIGGER_PREFIX)
        self._lower: dict[int, str] = {}

    def _lowers_filled(self, hashes: list[int], lowers: list[str | None]) -> list[str]:
        cache = self._lower
        if len(cache) > 100_000:  # bound the memory of a long-running service
            cache.clear()
        for i, h in enumerate(hashes):
            if lowers[i] is None:
                lowers[i] = cache[h] = self.strings[h]
        return lowers  # type: ignore[return-value]

    def _is_boundary(self, token_lower: str, is_punct: bool) -> bool:
        if token_lower in self.terminators:
            return True
        if is_punct and token_lower not in (",", "/", "&", "(", ")", "'", '"', "-"):
            return True
        return len(token_lower) == 5 and token_lower[2] == ":" and token_lower.replace(":", "").isdigit()

    def __call__(self, doc: Doc) -> Doc:
        n = len(doc)
        negated = [False] * n
        data = doc.user_data
        concepts = data.get(CONCEPTS) or []
        matches = data.get(SHARED_MATCHES)
        if matches is None:
            matches = self.matcher(doc)
        if not matches:
            data[NEGATED] = negated
            return doc
        in_concept = [False] * n
        for s, e, _c, _neg in concepts:
            if e - s > 1:
                for i in range(s, e):
                    in_concept[i] = True
        # longest match first at each position; drop overlaps and triggers inside concepts
        triggers: list[tuple[int, int, str]] = []
        taken = [False] * n
        for m, s, e in sorted(matches, key=lambda x: (x[1], x[1] - x[2])):
            if any(taken[s:e]):
                continue
            for i in range(s, e):
                taken[i] = True
            direction = self._direction[m]
            if direction != "pseudo" and all(in_concept[s:e]):
                continue  # a multi-token concept owns its negation word ("not breathing")
            triggers.append((s, e, direction))
        if all(d == "pseudo" for _s, _e, d in triggers):
            data[NEGATED] = negated
            return doc
        arr = token_arrays(doc)
        hashes, puncts = arr[:, LOWER_COL].tolist(), arr[:, PUNCT_COL].tolist()
        lowers = list(map(self._lower.get, hashes))  # hash -> string, cached: the hot path
        if None in lowers:
            lowers = self._lowers_filled(hashes, lowers)
        starts = {s for s, _e, _d in triggers}
        for s, e, direction in triggers:
            if direction == "pseudo":
                continue
            if direction in ("forward", "bidirectional"):
                self._scope_forward(e, n, lowers, puncts, starts, negated)
            if direction in ("backward", "bidirectional"):
                self._scope_backward(s, lowers, puncts, starts, negated)
        data[NEGATED] = negated
        data[CONCEPTS] = [(s, e, c, any(negated[s:e])) for s, e, c, _neg in concepts]
        return doc

    def _scope_forward(self, j, n, lowers, puncts, starts, negated) -> None:
        content = 0
        limit = min(n, j + self.window_forward)
        while j < limit:
            low = lowers[j]
            if j in starts or self._is_boundary(low, puncts[j]):
                return
            if low == ",":
                # a short list item after the comma ("denies SI, HI, AVH") stays in scope
                k = j + 1
                while k < n and lowers[k] != "," and not self._is_boundary(lowers[k], puncts[k]):
                    k += 1
                if k - (j + 1) > self.list_item_max:
                    return
                limit = min(n, limit + 1)
                j += 1
                continue
            if content and low in self.clause_starters:
                return
            if not puncts[j] and low not in self.clause_starters:
                content += 1
            negated[j] = True
            j += 1

    def _scope_backward(self, j, lowers, puncts, starts, negated) -> None:
        i = j - 1
        steps = 0
        while i >= 0 and steps < self.window_backward:
            low = lowers[i]
            if low == ":":
                i -= 1
                continue
            if i in starts or low == "," or self._is_boundary(low, puncts[i]):
                return
            negated[i] = True
            i -= 1
            steps += 1
