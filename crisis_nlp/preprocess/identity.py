"""Identity normalisation: the features cannot see a person's sex or race (issue 14).

A spaCy component, run after ``dispatch_shorthand``, that rewrites the NORM of
sex-specific words to a neutral form ('she' -> 'they', 'son' -> 'child', '32 YOF' ->
'32 year old person') and drops race and ethnicity words from the features ('Hispanic',
'W/M' -> 'male' -> 'person', 'black male' -> 'person'), so that a note worded about a
man and the same note about a woman, or with a race word added, give the model the same
features. Only NORM changes: the text, the concepts and the negation (which read the
lower-case text) and what the user sees are unchanged.

The concepts read the lower-case text, not the NORM (its shorthand expansions and dropped
words would break their phrases), so the NORM cannot blind them; instead, with
``lexicon_sex_forms`` set, every sex-specific word of a rule table stands for its whole
class (:func:`sex_classes`, applied by ``components.WordForms`` when the tables are
loaded): a rule cannot match a wording that exists for one sex only.

Colour words are race only before a person ('black male', 'white 30s female'), not in
'black handgun', 'white powder' or 'blacked out'. The rules are data
(``resources/identity_terms.json``); ``crisis_nlp.training.fairness`` measures what is left.
"""

# no `from __future__ import annotations` here: spaCy 3.7 (what medspaCy 1.3.1 brings on
# Python 3.11) validates a factory's arguments with pydantic v1, which cannot resolve the
# string annotation 'Language' (ConfigError: field "nlp" not yet prepared; spaCy issue 7344)
import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc

from .tables import read_rules_json
from .tokens import LOWER_COL, NORM_COL, PUNCT_COL, add_special_cases, token_arrays

# The NORM of a dropped word. A space, not "": spaCy reads a NORM hash of 0 ("") as
# "not set" and falls back to the word itself; the feature code splits a NORM on
# whitespace, so a space gives no feature word (see pipeline._norm_words).
DROPPED = " "
_KEYS = frozenset({"description", "sex_neutral", "descriptors", "race", "race_phrases", "race_colours",
                   "colour_window", "person_nouns", "sex_swap", "lexicon_sex_forms"})
# may be left out: 'lexicon_sex_forms' is absent from the tables of versions made before it
_OPTIONAL = frozenset({"description", "lexicon_sex_forms"})
# what a token's lower-case hash asks for
_NONE, _SET, _COLOUR, _PHRASE_END = 0, 1, 2, 3


def load_identity_terms(name: str = "identity_terms.json", rules_dir: str | None = None) -> dict[str, Any]:
    """The identity rules (from ``rules_dir``, default the package's), checked
    (:func:`check_identity_terms`)."""
    return check_identity_terms(read_rules_json(rules_dir, name), name)


def check_identity_terms(rules: dict[str, Any], name: str = "identity rules") -> dict[str, Any]:
    """``rules`` unchanged if every key is known and present: an unknown key (a typo)
    would silently switch a rule off."""
    unknown = sorted(set(rules) - _KEYS)
    missing = sorted(_KEYS - _OPTIONAL - set(rules))
    if unknown or missing:
        raise ValueError(f"{name}: unknown keys {unknown}, missing keys {missing}; expected {sorted(_KEYS)}.")
    return rules


def sex_classes(rules: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Lower-case sex-specific word -> every word ``sex_swap`` connects it to, itself
    included ('him' -> 'her', 'hers', 'him', 'his'). The whole connected class, not only the
    direct pairs: the swap turns 'his' into 'her' and 'her' into 'his' or 'him', so a rule
    must treat all four alike to give a note and its swapped copy the same concepts."""
    parent: dict[str, str] = {}

    def root(w: str) -> str:
        while parent.setdefault(w, w) != w:
            w = parent[w]
        return w

    for pair in rules["sex_swap"]:
        a, *rest = (w.lower() for w in pair)
        for b in rest:
            parent[root(b)] = root(a)
    members: dict[str, list[str]] = {}
    for w in parent:
        members.setdefault(root(w), []).append(w)
    return {w: tuple(sorted(members[root(w)])) for w in parent}


def identity_table(rules: dict[str, Any], *, sex: bool = True, race: bool = True) -> dict[str, str]:
    """Lower-case word -> the NORM it gets (``DROPPED`` for a word left out)."""
    neutral = {k: (v or DROPPED) for k, v in rules["sex_neutral"].items()} if sex else {}
    table = dict(neutral)
    if race:
        for code, sex_word in rules["descriptors"].items():
            table[code] = neutral.get(sex_word, sex_word)
        table.update({w: DROPPED for w in rules["race"]})
    return table


@Language.factory(
    "crisis_nlp_identity",
    assigns=["token.norm"],
    default_config={"rules_dir": None, "rules": "identity_terms.json", "sex": True, "race": True},
)
def make_identity(nlp: Language, name: str, rules_dir: str | None, rules: str, sex: bool,
                  race: bool) -> "IdentityNormalizer":
    return IdentityNormalizer(nlp, name, rules_dir=rules_dir, rules=rules, sex=sex, race=race)


class IdentityNormalizer:
    """Sets ``token.norm_`` of identity words to a neutral form or to ``DROPPED``.

    Keeps the NORM column of :func:`token_arrays` in step, as ``dispatch_shorthand``
    does, so that the per-note and the bulk feature paths agree.
    """

    def __init__(self, nlp: Language, name: str, *, rules_dir: str | None = None,
                 rules: str = "identity_terms.json", sex: bool = True,
                 race: bool = True) -> None:
        self.name = name
        data = load_identity_terms(rules, rules_dir)
        self.table = identity_table(data, sex=sex, race=race)
        # every identity word with punctuation is one token ('w/m', 'bf's' and 'gf's' alike):
        # the shorthand table keeps 'bf's' whole, and a sex swap must not change the tokens
        add_special_cases(nlp, [k for k in self.table if not k.isalnum()])
        strings = nlp.vocab.strings
        self.window = int(data["colour_window"])
        # lower-case hash -> (what to do, argument)
        self.code: dict[int, tuple[int, Any]] = {
            strings.add(k): (_SET, (v, strings.add(v))) for k, v in self.table.items()}
        self.person = frozenset(strings.add(w) for w in data["person_nouns"])
        self.dropped = (DROPPED, strings.add(DROPPED))
        if race:
            for w in data["race_colours"]:
                self.code.setdefault(strings.add(w), (_COLOUR, None))
            ends: dict[int, list[tuple[int, ...]]] = {}
            for phrase in data["race_phrases"]:
                hashes = [strings.add(w.lower()) for w in phrase]
                ends.setdefault(hashes[-1], []).append(tuple(hashes[:-1]))
            for h, before in ends.items():
                self.code[h] = (_PHRASE_END, tuple(before)) if h not in self.code else self.code[h]
        self.keys = np.array(sorted(self.code), dtype=np.uint64)  # for pipe()'s search

    def __call__(self, doc: Doc) -> Doc:
        arr = token_arrays(doc)
        get = self.code.get
        hits = list(map(get, arr[:, LOWER_COL].tolist()))
        for i in itertools.compress(range(len(hits)), hits):
            self._apply(doc, arr, i, hits[i])
        return doc

    def pipe(self, docs: Iterable[Doc], *, batch_size: int = 1024) -> Iterator[Doc]:
        """The same as ``__call__`` per doc, with one vectorised lookup per batch."""
        from spacy.util import minibatch

        for batch in minibatch(docs, batch_size):
            arrs = [token_arrays(d) for d in batch]
            lower = np.concatenate([a[:, LOWER_COL] for a in arrs])
            pos = np.searchsorted(self.keys, lower)
            pos[pos == len(self.keys)] = 0
            found = np.flatnonzero(self.keys[pos] == lower)
            ends = np.cumsum([len(a) for a in arrs])
            which = np.searchsorted(ends, found, side="right")
            for k, j, h in zip(found.tolist(), which.tolist(), self.keys[pos[found]].tolist()):
                i = k - (int(ends[j - 1]) if j else 0)
                self._apply(batch[j], arrs[j], i, self.code[h])
            yield from batch

    def _apply(self, doc: Doc, arr: np.ndarray, i: int, hit: tuple[int, Any]) -> None:
        kind, arg = hit
        if kind == _SET:
            self._set(doc, arr, i, arg)
        elif kind == _COLOUR:
            if self._before_person(arr, i):
                self._set(doc, arr, i, self.dropped)
        elif kind == _PHRASE_END:
            for before in arg:
                s = i - len(before)
                if s >= 0 and tuple(arr[s:i, LOWER_COL].tolist()) == before:
                    for t in range(s, i + 1):
                        self._set(doc, arr, t, self.dropped)
                    return

    def _before_person(self, arr: np.ndarray, i: int) -> bool:
        """A person word follows within the window, with no punctuation between."""
        for j in range(i + 1, min(len(arr), i + 1 + self.window)):
            if arr[j, PUNCT_COL]:
                return False
            if int(arr[j, LOWER_COL]) in self.person:
                return True
        return False

    @staticmethod
    def _set(doc: Doc, arr: np.ndarray, i: int, norm: tuple[str, int]) -> None:
        doc[i].norm_ = norm[0]
        arr[i, NORM_COL] = norm[1]
