"""spaCy components for dispatch notes, registered as factories with a ``crisis_nlp_``
prefix (so that they sit beside negspacy's ``negex`` or medspaCy's ``medspacy_context``).

==========================  ===============================================================
factory                     what it does
==========================  ===============================================================
``crisis_nlp_shorthand``    sets ``token.norm_`` to the expansion of dispatch shorthand
                            ('SI' -> 'suicidal ideation')
``crisis_nlp_concepts``     finds lexicon concepts: phrase lexicons, drug names, token
                            patterns (ingestions, the target of a weapon or threat),
                            determinant codes ('25B06') and one-letter typos of long
                            lexicon words ('SUCIDAL'); a typo's norm becomes the word
``crisis_nlp_context``      ConText (Harkema et al. 2009) after medspaCy: negated,
                            possible, historical, hypothetical and family-experiencer
                            modifiers with forward / backward scopes, and a
                            whole-note backward scope for updates that take the
                            first report back ('unfounded', 'not an EDP')
==========================  ===============================================================

Every setting is in the factory's ``default_config``; ``rules_dir`` (default: the
package's ``crisis_nlp/resources``) is the folder the tables are read from, so that a
model version can carry a snapshot of its tables. The tables are data:
``shorthand.tsv``; ``concepts.json``, ``lexicon_*.json`` and ``lexicon_drugs.tsv``
(phrases; ``lexicon_everyday.json`` lists phrases that block a concept inside them);
``patterns_*.json`` (token patterns in spaCy Matcher syntax, run by :class:`TokenPatterns`);
``typo_exclude.txt`` and ``known_words.txt`` (words never read as typos); ``context_rules.json``.
Each file says where its knowledge comes from. A phrase, word list or pattern word is read through :class:`WordForms`: ``{he}``-style
placeholders and every sex-specific word stand for all their forms in both sexes.

Results are registered ``Doc`` extensions:

- ``doc._.concepts``: list of :class:`ConceptMatch` ``(start, end, name, negated)``
- ``doc._.concept_modifiers``: per concept, the ConText categories that modify it
  (a tuple such as ``("POSSIBLE_EXISTENCE",)``)
- ``doc._.concept_features``: the concept feature tokens of the note (below)
- ``doc._.negated``: per token, whether it lies in a negation scope
- ``doc._.context_triggers``: the context rules found, ``(start, end, category)``
- ``doc._.token_arrays``: (LOWER, NORM, IS_PUNCT, IS_SPACE) per token, read once

Concept feature tokens (what the learner sees for each concept match):

==================  =====================================================================
``C_X``             concept X, affirmed (also when uncertain: 'poss OD' is an overdose to
                    plan for, taxonomy schema 1.1)
``UNC_C_X``         added next to ``C_X`` when X is uncertain ('poss', '?', 'r/o', 'unk if')
``NEG_C_X``         X denied or absent ('denies SI', 'no weapons'); the words in the scope
                    also get the ``neg_`` prefix
``HIST_C_X``        X in the past ('hx of depression'), instead of ``C_X``
``HYP_C_X``         X in a condition ('if he has a gun'), instead of ``C_X``
``OTHER_C_X``       X of another person ('family hx of suicide'), instead of ``C_X``
==================  =====================================================================

Precedence when several apply: negated, hypothetical, historical, other person. The
target concepts ``WEAPON_SELF``, ``WEAPON_OTHERS``, ``THREAT_SELF``, ``THREAT_OTHERS`` are
concepts like any other (``C_WEAPON_SELF``); a match of a ``*_SELF`` pattern removes the
``VIOLENCE`` matches inside it ('threatening to jump' is no threat to others).

The extension keys, the token arrays and the rule-table readers the components share are
in ``tokens.py`` and ``tables.py``.
"""

# no `from __future__ import annotations` here: spaCy 3.7 (what medspaCy 1.3.1 brings on
# Python 3.11) validates a factory's arguments with pydantic v1, which cannot resolve the
# string annotation 'Language' (ConfigError: field "nlp" not yet prepared; spaCy issue 7344)
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from spacy.lang.en.lex_attrs import like_num
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.strings import hash_string
from spacy.tokens import Doc
from spacy.util import minibatch

from ..errors import CrisisNLPError
from .identity import load_identity_terms, sex_classes
from .tables import absent_later_table, parse_tsv, read_rules, read_rules_json
from .tokens import (CONCEPT_FEATURES, CONCEPTS, LOWER_COL, MODIFIERS, NEGATED, NORM_COL, PUNCT_COL, TRIGGERS,
                     add_special_cases, token_arrays)


class ConceptMatch(NamedTuple):
    """One concept found in a note: tokens ``start:end``, its name, and whether it lies
    in a negation scope."""

    start: int
    end: int
    name: str
    negated: bool


PRONOUN_FORMS = {
    "{he}": ("he", "she", "they"),
    "{his}": ("his", "her", "their"),
    "{him}": ("him", "her", "them"),
    "{himself}": ("himself", "herself", "themself", "themselves"),
}


#: the Matcher keys whose value is a word list (a ``$NAME`` of a table's ``sets`` until resolved)
WORD_LIST_KEYS = ("IN", "NOT_IN")


class WordForms:
    """The words a rule-table entry stands for, applied to every phrase, word list and
    token pattern when the tables are loaded.

    ``{he}``, ``{his}``, ``{him}`` and ``{himself}`` are placeholders for every pronoun
    form. With ``sex_classes`` (see :func:`crisis_nlp.preprocess.identity.sex_classes`),
    every sex-specific word also stands for the other words of its class: 'wife' matches
    'husband', 'him' matches 'her', 'his' and 'hers'. A rule written in one sex then
    matches a note and its sex-swapped copy alike (issue 14); the price is that no rule
    tells 'his' from 'him' any more, as none could tell them apart in 'her'.
    """

    def __init__(self, sex_classes: dict[str, tuple[str, ...]] | None = None, *,
                 drop_apostrophes: bool = False) -> None:
        self.classes = dict(sex_classes or {})
        self.drop_apostrophes = drop_apostrophes

    def word(self, word: str) -> tuple[str, ...]:
        """The forms of one lower-case word ('bf's' -> 'bf's', 'gf's'; 'he's' -> 'he's', 'she's')."""
        forms = self.classes.get(word)
        if forms is not None:
            return forms
        stem, apos, rest = word.partition("'")
        if apos and stem in self.classes:
            return tuple(f + apos + rest for f in self.classes[stem])
        return (word,)

    def words(self, words: Iterable[str]) -> list[str]:
        """A word list with every form of its words, in first-seen order."""
        return list(dict.fromkeys(f for w in words for f in self.word(w.lower())))

    def phrase(self, phrase: str) -> list[str]:
        """Every variant of a lower-case phrase: placeholders filled, sex-specific words
        swapped and, with ``drop_apostrophes``, also written without apostrophes ("doesnt want
        to live", "wont be here"), as call-takers type them."""
        out = [phrase, phrase.replace("'", "")] if self.drop_apostrophes and "'" in phrase else [phrase]
        for slot, forms in PRONOUN_FORMS.items():
            if slot in phrase:
                out = [p.replace(slot, f) for p in out for f in forms]
        if not self.classes:
            return out
        variants: dict[str, None] = {}
        for p in out:
            for combo in itertools.product(*(self.word(w) for w in p.split(" "))):
                variants[" ".join(combo)] = None
        return list(variants)

    def pattern(self, pattern: list[dict]) -> list[dict]:
        """A token pattern whose LOWER words and word lists (``IN`` and ``NOT_IN``) hold
        every form (a REGEX is matched as written)."""
        out = []
        for spec in pattern:
            value = spec.get("LOWER")
            if isinstance(value, str) and len(self.word(value.lower())) > 1:
                spec = {**spec, "LOWER": {"IN": list(self.word(value.lower()))}}
            elif isinstance(value, dict):
                for key in WORD_LIST_KEYS:
                    if isinstance(value.get(key), list):
                        spec = {**spec, "LOWER": {**value, key: self.words(value[key])}}
            out.append(spec)
        return out


def load_word_forms(rules_dir: str | Path | None, identity: str | None) -> WordForms:
    """The :class:`WordForms` of the tables in ``rules_dir``: placeholders only, or also the
    sex classes of the identity table ``identity`` when it sets ``lexicon_sex_forms``
    (tables snapshotted before it keep matching as they were written)."""
    # concepts.json "apostrophe_free_forms": tables written before it match as they did
    drop = bool(read_rules_json(rules_dir, "concepts.json").get("apostrophe_free_forms", False))
    if not identity:
        return WordForms(drop_apostrophes=drop)
    rules = load_identity_terms(identity, None if rules_dir is None else str(rules_dir))
    return WordForms(sex_classes(rules) if rules.get("lexicon_sex_forms") else None, drop_apostrophes=drop)


def _add_phrases(matcher: PhraseMatcher, nlp: Language, phrases: dict[str, list[str]], forms: WordForms) -> None:
    for key, items in phrases.items():
        variants = sorted({v for p in items for v in forms.phrase(p.lower())})
        matcher.add(key, [nlp.make_doc(v) for v in variants])


# -- shorthand --------------------------------------------------------------------------
@Language.factory("crisis_nlp_shorthand", assigns=["token.norm"],
                  default_config={"rules_dir": None, "table": "shorthand.tsv"})
def make_shorthand(nlp: Language, name: str, rules_dir: str | None, table: str) -> "DispatchShorthand":
    return DispatchShorthand(nlp, name, rules_dir=rules_dir, table=table)


class DispatchShorthand:
    """Sets ``token.norm_`` to the expansion of dispatch shorthand ('SI' -> 'suicidal ideation')."""

    def __init__(self, nlp: Language, name: str, *, rules_dir: str | None = None, table: str = "shorthand.tsv") -> None:
        self.name = name
        self.table = {k: v.lower() for k, v in parse_tsv(read_rules(rules_dir, table), table).items()}
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


# -- concepts ---------------------------------------------------------------------------
PHRASE_LEXICONS = ["concepts.json", "lexicon_psychosis.json", "lexicon_surveillance.json", "lexicon_dispatch.json",
                   "lexicon_everyday.json", "lexicon_distress.json", "lexicon_warning_signs.json",
                   "lexicon_weapons.json"]
_BLOCK = "BLOCK:"  # match-key prefix of the everyday phrases that block a concept inside them
DRUG_LEXICON = "lexicon_drugs.tsv"
PATTERN_TABLES = ["patterns_ingestion.json", "patterns_targets.json", "patterns_psychosis.json",
                  "patterns_warning_signs.json"]
TYPO_CONCEPTS = ["SUICIDE", "SELF_HARM", "OVERDOSE", "PSYCHOSIS", "DRUG", "WEAPON", "MEDICAL"]
# a determinant code: protocol number, level letter (A-E, O for omega), two digits, suffix
_DETERMINANT = re.compile(r"(\d{1,2})[a-eo](\d{2})[a-z]?")


@Language.factory(
    "crisis_nlp_concepts",
    assigns=["doc._.concepts", "token.norm"],
    default_config={
        "rules_dir": None,
        "lexicons": PHRASE_LEXICONS,
        "drug_lexicon": DRUG_LEXICON,
        "patterns": PATTERN_TABLES,
        "typo_concepts": TYPO_CONCEPTS,
        "typo_min_length": 6,
        "typo_exclude": ["typo_exclude.txt", "known_words.txt"],
        "shorthand": "shorthand.tsv",
        "identity": "identity_terms.json",
    },
)
def make_concepts(nlp: Language, name: str, rules_dir: str | None, lexicons: list[str], drug_lexicon: str,
                  patterns: list[str], typo_concepts: list[str], typo_min_length: int,
                  typo_exclude: list[str], shorthand: str, identity: str | None) -> "ConceptMatcher":
    return ConceptMatcher(nlp, name, rules_dir=rules_dir, lexicons=lexicons, drug_lexicon=drug_lexicon,
                          patterns=patterns, typo_concepts=typo_concepts, typo_min_length=typo_min_length,
                          typo_exclude=typo_exclude, shorthand=shorthand, identity=identity)


def _resolve_sets(pattern: list[dict], sets: dict[str, list[str]], table: str) -> list[dict]:
    """A Matcher pattern with ``{"IN": "$NAME"}`` (or ``NOT_IN``) replaced by the word list
    ``sets[NAME]``."""
    out = []
    for spec in pattern:
        spec = dict(spec)
        for attr, value in spec.items():
            for key in WORD_LIST_KEYS:
                if isinstance(value, dict) and isinstance(value.get(key), str):
                    ref = value[key].lstrip("$")
                    if ref not in sets:
                        raise CrisisNLPError(f"{table}: pattern refers to unknown word list ${ref}")
                    spec[attr] = value = {**value, key: sets[ref]}
        out.append(spec)
    return out


class ConceptMatcher:
    """Finds lexicon concepts (SUICIDE, WEAPON, DRUG, INGESTION, WEAPON_SELF, ...) so that
    unseen wordings of a known idea still produce a shared feature. Negation and the other
    context modifiers are filled in later by ``crisis_nlp_context``."""

    def __init__(self, nlp: Language, name: str, *, rules_dir: str | None = None,
                 lexicons: list[str] = PHRASE_LEXICONS, drug_lexicon: str | None = DRUG_LEXICON,
                 patterns: list[str] = PATTERN_TABLES, typo_concepts: list[str] = TYPO_CONCEPTS,
                 typo_min_length: int = 6,
                 typo_exclude: Sequence[str] = ("typo_exclude.txt", "known_words.txt"),
                 shorthand: str | None = "shorthand.tsv", identity: str | None = "identity_terms.json") -> None:
        self.name = name
        self.strings = nlp.vocab.strings
        self.forms = forms = load_word_forms(rules_dir, identity)
        phrases: dict[str, list[str]] = {}
        blocks: dict[str, list[str]] = {}
        self.protocols: dict[int, tuple[str, ...]] = {}
        for table in lexicons:
            if absent_later_table(rules_dir, table):
                continue
            data = read_rules_json(rules_dir, table)
            for key, items in data.get("concepts", {}).items():
                phrases.setdefault(key, []).extend(items)
            for key, items in data.get("blocks", {}).items():
                blocks.setdefault(_BLOCK + key, []).extend(items)
            for proto, names in data.get("determinant_protocols", {}).items():
                self.protocols[int(proto)] = ("EMD_CODE", *names)
        if drug_lexicon:
            for drug, cls in parse_tsv(read_rules(rules_dir, drug_lexicon), drug_lexicon).items():
                phrases.setdefault("DRUG", []).append(drug)
                phrases.setdefault(cls.upper(), []).append(drug)
        self.phrases = phrases
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        _add_phrases(self.matcher, nlp, phrases, forms)
        _add_phrases(self.matcher, nlp, blocks, forms)
        self._blocks = {self.strings.add(k): k[len(_BLOCK):] for k in blocks}  # match id -> blocked concept
        self._name = {self.strings.add(k): k for k in phrases}  # match id -> concept (a StringStore read costs more)

        # token patterns in spaCy Matcher syntax, run by TokenPatterns (see there why);
        # overlapping matches of one family (WEAPON_*, THREAT_*, INGESTION ...) keep the longest
        self.patterns = TokenPatterns()
        self._pattern_info: list[tuple[str, frozenset[str]]] = []
        pattern_words: set[str] = set()
        anchors: set[str] = set()  # the words a token pattern can start with
        drug_words = sorted({w for w in phrases.get("DRUG", []) if " " not in w})
        # labels whose last word may be a possessive, not a target ('rifle at her uncle's cabin')
        self._possessive: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        for table in patterns:
            if absent_later_table(rules_dir, table):
                continue
            data = read_rules_json(rules_dir, table)
            sets = {"DRUG": drug_words, **data.get("sets", {})}
            spec = data.get("possessive_targets")
            if spec:
                words, followers = frozenset(spec["words"]), frozenset(spec["followers"])
                self._possessive.update({label: (words, followers) for label in spec["labels"]})
            for words in data.get("sets", {}).values():
                pattern_words.update(words)
            for i, entry in enumerate(data["patterns"]):
                pattern = forms.pattern(_resolve_sets(entry["pattern"], sets, table))
                self.patterns.add(pattern, f"{table} pattern {entry.get('id', i)}")
                self._pattern_info.append((entry["label"], frozenset(entry.get("suppress", ()))))
                first = pattern[0].get("LOWER")  # a word, {"IN": [words]} or {"REGEX": ...}
                if isinstance(first, str):
                    anchors.add(first)
                elif isinstance(first, dict):
                    anchors.update(first.get("IN", ()))
        self.anchor_words = frozenset(w.lower() for w in anchors)

        # typo tolerance: one edit (insertion, deletion, substitution, transposition) of a
        # single lexicon word of typo_min_length letters or more, never of a known word
        words_of: dict[str, set[str]] = {}
        for key, items in phrases.items():
            for p in items:
                for v in forms.phrase(p.lower()):
                    words_of.setdefault(v, set()).add(key)
        self.typo_min_length = typo_min_length
        wanted = set(typo_concepts)
        self._typo_targets = {w: tuple(sorted(keys)) for w, keys in words_of.items()
                              if w.isalpha() and len(w) >= typo_min_length and keys & wanted}
        known = set(STOP_WORDS) | pattern_words | set(forms.classes)  # a sex-specific word is never a typo
        for phrase in words_of:
            known.update(phrase.split())
        if shorthand:
            for k, v in parse_tsv(read_rules(rules_dir, shorthand), shorthand).items():
                known.add(k)
                known.update(v.lower().split())
        for table in [typo_exclude] if isinstance(typo_exclude, str) else typo_exclude:
            if absent_later_table(rules_dir, table):
                continue
            known.update(w.strip().lower() for w in read_rules(rules_dir, table).splitlines()
                         if w.strip() and not w.startswith("#"))
        self.known_words = frozenset(known)  # every word of the tables above (the reading budget reads them too)
        self._deletes: dict[str, set[str]] = {}
        for w in self._typo_targets:
            for d in _deletions(w) | {w}:
                self._deletes.setdefault(d, set()).add(w)
        # LOWER hash -> (concept names, corrected norm or None), or () for a plain token
        self._token_cache: dict[int, tuple] = {}
    def correct(self, word: str) -> str | None:
        """The lexicon word that ``word`` is one typing slip away from, if exactly one
        meaning is: 'sucidal' -> 'suicidal'. Known words are never corrected."""
        word = word.lower()
        if len(word) < self.typo_min_length - 1 or not word.isalpha() or word in self.known_words:
            return None
        cands: set[str] = set(self._deletes.get(word, ()))
        for d in _deletions(word):
            cands.update(self._deletes.get(d, ()))
        # the first letter is kept (a cheap guard against ordinary words one edit away)
        hits = [c for c in cands if c[0] == word[0] and _within_one_edit(word, c)]
        if not hits:
            return None
        # several hits must share a meaning ('ovrdose': 'overdose' and the listed misspelling
        # 'ovedose'); the one with the most concepts is the word
        meanings = [set(self._typo_targets[h]) for h in hits]
        if any(not (a & b) for a, b in itertools.combinations(meanings, 2)):
            return None
        return max(sorted(hits), key=lambda h: len(self._typo_targets[h]))

    def _token_entry(self, h: int) -> tuple:
        text = self.strings[h]
        names: tuple[str, ...] = ()
        norm = None
        m = _DETERMINANT.fullmatch(text)
        if m is not None:
            names = self.protocols.get(int(m.group(1)), ())
        else:
            target = self.correct(text)
            if target is not None:
                names, norm = self._typo_targets[target], (target, self.strings.add(target))
        return (names, norm) if names else ()

    def _token_concepts(self, doc: Doc, arr: np.ndarray, found: list) -> None:
        """Determinant codes and typos: one cached lookup per distinct word."""
        cache = self._token_cache
        lowers = arr[:, LOWER_COL].tolist()
        hits = list(map(cache.get, lowers))
        if None in hits:
            if len(cache) > 100_000:  # bound the memory of a long-running service
                cache.clear()
            for i, h in enumerate(lowers):
                if hits[i] is None:
                    hit = cache.get(h)  # once per new word, not once per token (typo checks cost µs)
                    hits[i] = cache[h] = self._token_entry(h) if hit is None else hit
        for i in itertools.compress(range(len(hits)), hits):
            names, norm = hits[i]
            found.extend((i, i + 1, n) for n in names)
            if norm is not None:
                doc[i].norm_ = norm[0]
                arr[i, NORM_COL] = norm[1]

    def _pattern_concepts(self, doc: Doc, arr: np.ndarray, found: list) -> None:
        matches = self.patterns(doc, arr[:, LOWER_COL].tolist(), arr[:, PUNCT_COL].tolist())
        if not matches:
            return
        info = self._pattern_info
        best: dict[str, list[tuple[int, int, str, frozenset[str]]]] = {}
        for k, s, e in matches:
            label, suppress = info[k]
            if label in self._possessive and self._possessive_end(doc, e, *self._possessive[label]):
                continue
            best.setdefault(label.split("_")[0], []).append((s, e, label, suppress))
        suppressed: list[tuple[int, int, frozenset[str]]] = []
        for group in best.values():
            taken: list[tuple[int, int]] = []
            for s, e, label, suppress in sorted(group, key=lambda x: (x[0] - x[1], x[0])):  # longest first
                if any(s < te and ts < e for ts, te in taken):
                    continue
                taken.append((s, e))
                found.append((s, e, label))
                if suppress:
                    suppressed.append((s, e, suppress))
        if suppressed:
            found[:] = [f for f in found if not any(ss <= f[0] and f[1] <= se and f[2] in names
                                                      for ss, se, names in suppressed)]

    @staticmethod
    def _possessive_end(doc: Doc, end: int, words: frozenset[str], followers: frozenset[str]) -> bool:
        """The match ends in a pronoun that a following word shows to be possessive ('at her
        uncles cabin'), not the target ('at her', 'at her and ran')."""
        if end >= len(doc) or doc[end - 1].lower_ not in words:
            return False
        nxt = doc[end]
        return nxt.is_alpha and nxt.lower_ not in followers

    def __call__(self, doc: Doc) -> Doc:
        name = self._name
        arr = token_arrays(doc)
        matches = self.matcher(doc)
        blocks = self._blocks
        if blocks and any(m in blocks for m, _s, _e in matches):
            spans = [(s, e, blocks[m]) for m, s, e in matches if m in blocks]
            found = [(s, e, name[m]) for m, s, e in matches if m not in blocks]
            found = [f for f in found if not any(bs <= f[0] and f[1] <= be and f[2] == c for bs, be, c in spans)]
        else:
            found = [(s, e, name[m]) for m, s, e in matches]
        self._token_concepts(doc, arr, found)
        if self.patterns:
            self._pattern_concepts(doc, arr, found)
        found.sort()
        doc.user_data[CONCEPTS] = [ConceptMatch(s, e, c, False) for s, e, c in found]
        return doc


class _Spec(NamedTuple):
    """One token of a pattern: what it must be, and how often (low..high)."""

    words: frozenset[int] | None  # LOWER, LOWER IN: the words' string hashes (as in token_arrays)
    not_words: frozenset[int] | None  # LOWER NOT_IN
    regex: re.Pattern[str] | None  # LOWER / TEXT REGEX
    regex_on_text: bool
    punct: bool | None  # IS_PUNCT
    num: bool | None  # LIKE_NUM
    negate: bool  # OP "!"
    low: int
    high: int
    simple: bool  # a word list and nothing else


_MANY = 1 << 30


def _compile_spec(spec: dict, where: str) -> _Spec:
    unknown = set(spec) - {"LOWER", "TEXT", "IS_PUNCT", "LIKE_NUM", "OP"}
    if unknown:
        raise CrisisNLPError(f"{where}: token attribute {sorted(unknown)[0]!r} is not supported here; "
                             f"use LOWER, TEXT (REGEX), IS_PUNCT, LIKE_NUM and OP")
    words = not_words = regex = None
    on_text = False
    for attr in ("LOWER", "TEXT"):
        value = spec.get(attr)
        if value is None:
            continue
        if isinstance(value, str) and attr == "LOWER":
            words = frozenset([hash_string(value.lower())])
        elif isinstance(value, dict) and set(value) == {"IN"} and attr == "LOWER":
            words = frozenset(hash_string(w.lower()) for w in value["IN"])
        elif isinstance(value, dict) and set(value) == {"NOT_IN"} and attr == "LOWER":
            not_words = frozenset(hash_string(w.lower()) for w in value["NOT_IN"])
        elif isinstance(value, dict) and set(value) == {"REGEX"}:
            regex, on_text = re.compile(value["REGEX"]), attr == "TEXT"
        else:
            raise CrisisNLPError(f"{where}: {attr} {value!r} is not supported here; use a word, "
                                 f'{{"IN": [...]}}, {{"NOT_IN": [...]}} or {{"REGEX": ...}}')
    op = spec.get("OP", "1")
    bounds = {"1": (1, 1), "!": (1, 1), "?": (0, 1), "*": (0, _MANY), "+": (1, _MANY)}.get(op)
    if bounds is None:
        m = re.fullmatch(r"\{(\d*)(,?)(\d*)\}", op)
        if m is None or not (m.group(1) or m.group(3)):
            raise CrisisNLPError(f"{where}: OP {op!r} is not supported; use 1 ! ? * + or {{n,m}}")
        low = int(m.group(1) or 0)
        bounds = (low, int(m.group(3)) if m.group(3) else (_MANY if m.group(2) else low))
    punct, num = spec.get("IS_PUNCT"), spec.get("LIKE_NUM")
    simple = words is not None and regex is None and punct is None and num is None and op != "!"
    return _Spec(words, not_words, regex, on_text, punct, num, op == "!", *bounds, simple)


class TokenPatterns:
    """Token patterns written in spaCy Matcher syntax (the subset: LOWER as a word, an
    ``IN`` or ``NOT_IN`` list or a ``REGEX``; TEXT ``REGEX``; IS_PUNCT; LIKE_NUM; OP ``1 ! ? * + {n,m}``),
    matched from the words that can start them. For each pattern and start it gives the
    longest match, which is all that the concept matcher keeps of spaCy's matches (a test
    checks agreement with spaCy's Matcher).

    Why not spaCy's Matcher itself: it tests ``IN`` lists in Python at every token a
    partial match reaches, which cost 295 us per synthetic note for these patterns
    (3.5 us per token; 70-200 us with lexeme flags or only near anchor words, all
    measured), against about 10 us here, where a pattern is only tried where its first
    word is.
    """

    def __init__(self) -> None:
        self.patterns: list[tuple[_Spec, ...]] = []
        self._by_first: dict[int, list[int]] = {}  # LOWER hash of a first word -> patterns
        self._anywhere: list[int] = []  # patterns whose first token is not a fixed word list
        self._num: dict[int, bool] = {}

    def __len__(self) -> int:
        return len(self.patterns)

    @property
    def tried_at_every_token(self) -> list[int]:
        """Patterns whose first token is not a fixed word list (a REGEX, a number, an
        optional token): each is tried at every token of every note, which is slow."""
        return list(self._anywhere)

    def add(self, pattern: list[dict], where: str = "pattern") -> int:
        specs = tuple(_compile_spec(spec, where) for spec in pattern)
        if not specs or all(sp.low == 0 for sp in specs):
            raise CrisisNLPError(f"{where}: a pattern must need at least one token")
        k = len(self.patterns)
        self.patterns.append(specs)
        first = specs[0]
        if first.low >= 1 and first.words is not None and not first.negate:
            for w in first.words:
                self._by_first.setdefault(w, []).append(k)
        else:
            self._anywhere.append(k)
        return k

    def __call__(self, doc: Doc, lowers: list[int], puncts: list) -> list[tuple[int, int, int]]:
        """(pattern index, start, end) of the longest match of each pattern at each start;
        ``lowers`` are the tokens' LOWER hashes, ``puncts`` their IS_PUNCT."""
        starts = list(map(self._by_first.get, lowers))
        out: list[tuple[int, int, int]] = []
        if not self._anywhere and not any(starts):
            return out
        ctx = (doc, lowers, puncts, len(lowers))
        patterns, longest = self.patterns, self._longest
        for i in itertools.compress(range(len(lowers)), starts):
            for k in starts[i]:
                end = longest(patterns[k], 0, i, ctx)
                if end > i:
                    out.append((k, i, end))
        for k in self._anywhere:
            for i in range(len(lowers)):
                end = self._longest(self.patterns[k], 0, i, ctx)
                if end > i:
                    out.append((k, i, end))
        return out

    def _ok(self, sp: _Spec, i: int, ctx: tuple) -> bool:
        doc, lowers, puncts, _n = ctx
        h = lowers[i]
        ok = True
        if sp.words is not None:
            ok = h in sp.words
        if ok and sp.not_words is not None:
            ok = h not in sp.not_words
        if ok and sp.punct is not None:
            ok = bool(puncts[i]) == sp.punct
        if ok and sp.num is not None:
            num = self._num.get(h)
            if num is None:
                if len(self._num) > 100_000:  # bound the memory of a long-running service
                    self._num.clear()
                num = self._num[h] = like_num(doc.vocab.strings[h])
            ok = num == sp.num
        if ok and sp.regex is not None:
            ok = sp.regex.search(doc[i].text if sp.regex_on_text else doc.vocab.strings[h]) is not None
        return ok != sp.negate

    def _longest(self, specs: tuple[_Spec, ...], k: int, i: int, ctx: tuple) -> int:
        """The furthest end of a match of ``specs[k:]`` from token ``i``; -1 if none."""
        if k == len(specs):
            return i
        sp = specs[k]
        n = ctx[3]
        best = self._longest(specs, k + 1, i, ctx) if sp.low == 0 else -1
        j = i
        lowers = ctx[1]
        while j - i < sp.high and j < n and (lowers[j] in sp.words if sp.simple else self._ok(sp, j, ctx)):
            j += 1
            if j - i >= sp.low:
                best = max(best, self._longest(specs, k + 1, j, ctx))
        return best


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def _within_one_edit(a: str, b: str) -> bool:
    """Optimal-string-alignment distance of ``a`` and ``b`` is at most 1."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    i = 0
    while i < min(la, lb) and a[i] == b[i]:
        i += 1
    if la == lb:
        return a[i + 1:] == b[i + 1:] or (a[i + 2:] == b[i + 2:] and a[i:i + 2] == b[i:i + 2][::-1])
    return (a[i + 1:] == b[i:]) if la > lb else (a[i:] == b[i + 1:])


# -- context ----------------------------------------------------------------------------
NEGATED_EXISTENCE = "NEGATED_EXISTENCE"
CATEGORIES = ("NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", "HISTORICAL", "HYPOTHETICAL", "FAMILY")
_BIT = {c: 1 << i for i, c in enumerate(CATEGORIES)}
_NEG, _POSS, _HIST, _HYP, _FAM = (_BIT[c] for c in CATEGORIES)
DIRECTIONS = ("FORWARD", "BACKWARD", "BIDIRECTIONAL", "PRECEDING", "PSEUDO", "TERMINATE")
_NO_SCOPE = ("PSEUDO", "TERMINATE")


def concept_tokens(name: str, bits: int) -> tuple[str, ...]:
    """The feature tokens of one concept match with these context modifiers."""
    if bits & _NEG:
        return ("NEG_C_" + name,)
    if bits & _HYP:
        return ("HYP_C_" + name,)
    if bits & _HIST:
        return ("HIST_C_" + name,)
    if bits & _FAM:
        return ("OTHER_C_" + name,)
    if bits & _POSS:
        return ("C_" + name, "UNC_C_" + name)
    return ("C_" + name,)


@Language.factory(
    "crisis_nlp_context",
    assigns=["doc._.negated", "doc._.concepts", "doc._.concept_modifiers", "doc._.concept_features"],
    requires=["doc._.concepts"],
    default_config={"rules_dir": None, "table": "context_rules.json", "identity": "identity_terms.json"},
)
def make_context(nlp: Language, name: str, rules_dir: str | None, table: str, identity: str | None) -> "ConText":
    return ConText(nlp, name, rules_dir=rules_dir, table=table, identity=identity)


class ConText:
    """ConText-style context (Harkema et al. 2009; NegEx, Chapman et al. 2001) tuned for
    dispatch notes, with medspaCy's rule format (literal, category, direction, optional
    pattern, max_scope and allowed_types: the concepts a rule may modify, all if unset).

    A rule's literal opens a scope forward or backward; a PRECEDING rule ('unfounded', 'not
    an EDP', 'nobody in distress': a later update that takes back the first report) covers
    every token before it and its own, across sentences, unless the clause after it reports
    a crisis concept of its own ('false alarm on the gun, it was a BB pistol, but she still
    wants to die'; table key ``preceding_kept_by``), and only the words just before it when its own clause names one
    ('report of a gun was unfounded' takes back the gun, not the call); pseudo rules ('no further', 'not
    sure') modify nothing; the scope ends at a terminator ('but', sentence punctuation, a
    timestamp), at a comma that opens a longer clause, at a clause starter once it holds
    a content word (an auxiliary, 'been', is none; a clause starter right after a
    coordinator, 'or', continues the scope), at another rule's literal, or after a window
    of tokens. A literal
    inside a multi-token concept phrase ('not breathing', "doesn't want to live") is part
    of that phrase and modifies nothing.
    """

    def __init__(self, nlp: Language, name: str, *, rules_dir: str | None = None,
                 table: str = "context_rules.json", rules: dict[str, Any] | None = None,
                 identity: str | None = "identity_terms.json") -> None:
        self.name = name
        rules = rules or read_rules_json(rules_dir, table)
        forms = load_word_forms(rules_dir, identity)
        self.window_forward = int(rules["window_forward"])
        self.window_backward = int(rules["window_backward"])
        self.list_item_max = int(rules["list_item_max_tokens"])
        self.terminators = frozenset(forms.words(rules["terminators"]))
        self.clause_starters = frozenset(forms.words(rules["clause_starters"]))
        # (both since 2.12.0; a version whose table lacks them reads its notes as before)
        self.auxiliaries = frozenset(forms.words(rules.get("auxiliaries", [])))
        self.coordinators = frozenset(forms.words(rules.get("coordinators", [])))
        # the concepts whose report right after a PRECEDING literal keeps what came before
        # (since 2.18.0; empty: any concept does)
        self.preceding_kept_by = frozenset(rules.get("preceding_kept_by", []))
        self.strings = nlp.vocab.strings
        literals: dict[str, list[str]] = {}
        patterns: dict[str, list[list[dict]]] = {}
        # match id -> (category bit, direction, forward window, backward window, the
        # concepts it may modify or None for all: medspaCy's allowed_types)
        self._rule: dict[int, tuple[int, str, int, int, frozenset[str] | None]] = {}
        for rule in rules["rules"]:
            category, direction = rule["category"].upper(), rule["direction"].upper()
            if direction not in DIRECTIONS:
                raise CrisisNLPError(f"{table}: rule for {rule.get('literal')!r} has unknown direction "
                                     f"{direction!r}; use one of {', '.join(DIRECTIONS)}")
            if direction not in _NO_SCOPE and category not in _BIT:
                raise CrisisNLPError(f"{table}: rule for {rule.get('literal')!r} has unknown category "
                                     f"{category!r}; use one of {', '.join(CATEGORIES)}")
            scope = rule.get("max_scope")
            allowed = frozenset(t.upper() for t in rule["allowed_types"]) if rule.get("allowed_types") else None
            key = f"context:{category}:{direction}:{scope}" + (f":{','.join(sorted(allowed))}" if allowed else "")
            fwd = int(scope) if scope else self.window_forward
            bwd = int(scope) if scope else self.window_backward
            self._rule[self.strings.add(key)] = (_BIT.get(category, 0), direction, fwd, bwd, allowed)
            if rule.get("pattern"):
                patterns.setdefault(key, []).append(forms.pattern(rule["pattern"]))
            else:
                literals.setdefault(key, []).append(rule["literal"])
        add_special_cases(nlp, [v for lits in literals.values() for lit in lits if "/" in lit
                                for v in forms.phrase(lit.lower())])
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        _add_phrases(self.matcher, nlp, literals, forms)
        self.pattern_matcher: Matcher | None = None
        # per pattern rule, the word sets of its tokens that must appear (LOWER, no optional
        # OP): a note lacking a word of one set cannot match that pattern. Why: spaCy's
        # Matcher on every note cost 0.15 ms of a note's 0.6 ms of preprocessing for 2.27.0's
        # three take-back patterns (measured on the 1,331 notes of five gold sets), and each needs a
        # firearm word that few notes hold
        self._pattern_needs: list[list[frozenset[int]]] = []
        if patterns:
            self.pattern_matcher = Matcher(nlp.vocab)
            for key, pats in patterns.items():
                self.pattern_matcher.add(key, pats)
                self._pattern_needs += [self._needed_words(pat) for pat in pats]
        self._lower: dict[int, str] = {}
        self._tokens: dict[tuple[str, int], tuple[str, ...]] = {}
        # the category names of each bit pattern
        self._names = [tuple(c for c in CATEGORIES if b & _BIT[c]) for b in range(1 << len(CATEGORIES))]

    def _lowers_filled(self, hashes: list[int], lowers: list[str | None]) -> list[str]:
        cache = self._lower
        if len(cache) > 100_000:  # bound the memory of a long-running service
            cache.clear()
        for i, h in enumerate(hashes):
            if lowers[i] is None:
                low = cache.get(h)  # once per new word, not once per token
                lowers[i] = cache[h] = self.strings[h] if low is None else low
        return lowers  # type: ignore[return-value]

    def _is_boundary(self, token_lower: str, is_punct: bool) -> bool:
        if token_lower in self.terminators:
            return True
        if is_punct and token_lower not in (",", "/", "&", "(", ")", "'", '"', "-"):
            return True
        return len(token_lower) == 5 and token_lower[2] == ":" and token_lower.replace(":", "").isdigit()

    def _features(self, concepts: list[ConceptMatch], bits: list[int]) -> list[str]:
        cache = self._tokens
        out: list[str] = []
        for c, b in zip(concepts, bits):
            toks = cache.get((c.name, b))
            if toks is None:
                toks = cache[(c.name, b)] = concept_tokens(c.name, b)
            out.extend(toks)
        return out

    def __call__(self, doc: Doc) -> Doc:
        n = len(doc)
        data = doc.user_data
        concepts = data.get(CONCEPTS) or []
        matches = self.matcher(doc)
        if self.pattern_matcher is not None and self._may_match_a_pattern(doc):
            matches = matches + self.pattern_matcher(doc)
        triggers = self._triggers(matches, concepts, n) if matches else []
        if not triggers:
            data[NEGATED] = [False] * n
            data[MODIFIERS] = [()] * len(concepts)
            data[CONCEPT_FEATURES] = self._features(concepts, [0] * len(concepts))
            data[TRIGGERS] = []
            return doc
        arr = token_arrays(doc)
        hashes, puncts = arr[:, LOWER_COL].tolist(), arr[:, PUNCT_COL].tolist()
        lowers = list(map(self._lower.get, hashes))  # hash -> string, cached: the hot path
        if None in lowers:
            lowers = self._lowers_filled(hashes, lowers)
        mask = [0] * n
        limited = []  # the scopes of rules that modify some concepts only, with those concepts
        starts = {s for s, _e, _r in triggers}
        preceding = []
        for s, e, (bit, direction, fwd, bwd, allowed) in triggers:
            if direction == "PRECEDING":
                preceding.append((s, e, bit, fwd, bwd, allowed))
                continue
            scope = mask if allowed is None else [0] * n
            if direction in ("FORWARD", "BIDIRECTIONAL"):
                self._scope_forward(e, n, fwd, bit, lowers, puncts, starts, scope)
            if direction in ("BACKWARD", "BIDIRECTIONAL"):
                self._scope_backward(s, bwd, bit, lowers, puncts, starts, scope)
            if allowed is not None:
                limited.append((scope, allowed))
        for s, e, bit, fwd, bwd, allowed in preceding:  # after the sentence scopes: it reads what they negated
            if self._reports_concept(e, n, fwd, concepts, mask, lowers, puncts):
                continue
            scope = mask if allowed is None else [0] * n
            if self._follows_concept(s, bwd, concepts, lowers, puncts):  # 'gun report unfounded'
                self._scope_backward(s, bwd, bit, lowers, puncts, starts, scope)
            else:
                for t in range(e):
                    scope[t] |= bit
            if allowed is not None:  # 'not an EDP': the psych reading, not the sweating
                limited.append((scope, allowed))
        bits = [_or(mask[c.start:c.end]) for c in concepts]
        for scope, allowed in limited:  # 'the guns were removed': the guns, never '30 pills were taken'
            for k, c in enumerate(concepts):
                b = _or(scope[c.start:c.end]) if c.name in allowed else 0
                if b:
                    bits[k] |= b
                    for t in range(c.start, c.end):
                        mask[t] |= b
        data[NEGATED] = [bool(m & _NEG) for m in mask]
        data[CONCEPTS] = [c._replace(negated=bool(b & _NEG)) if b & _NEG else c for c, b in zip(concepts, bits)]
        names = self._names
        data[MODIFIERS] = [names[b] for b in bits]
        data[CONCEPT_FEATURES] = self._features(concepts, bits)
        data[TRIGGERS] = [(s, e, names[r[0]][0] if r[0] else r[1]) for s, e, r in triggers]
        return doc

    def _needed_words(self, pattern: list[dict]) -> list[frozenset[int]]:
        """The LOWER hashes of each token of ``pattern`` that must be there (a word or an
        ``IN`` list, not optional)."""
        needs = []
        for spec in pattern:
            value = spec.get("LOWER")
            words = [value] if isinstance(value, str) else value.get("IN") if isinstance(value, dict) else None
            if words and spec.get("OP") in (None, "+"):
                needs.append(frozenset(self.strings.add(w.lower()) for w in words))
        return needs

    def _may_match_a_pattern(self, doc: Doc) -> bool:
        """Whether ``doc`` holds a word of every needed set of some pattern rule."""
        present = set(token_arrays(doc)[:, LOWER_COL].tolist())
        return any(all(not present.isdisjoint(words) for words in needs) for needs in self._pattern_needs)

    def _triggers(self, matches: list, concepts: list[ConceptMatch], n: int) -> list:
        """The rule matches that open a scope: longest first at each position, without
        overlaps, without those inside a multi-token concept; [] when none opens one."""
        in_concept = [False] * n
        for c in concepts:
            if c.end - c.start > 1:
                in_concept[c.start:c.end] = [True] * (c.end - c.start)
        triggers = []
        taken = [False] * n
        any_scope = False
        for m, s, e in sorted(matches, key=lambda x: (x[1], x[1] - x[2])):
            if any(taken[s:e]):
                continue
            taken[s:e] = [True] * (e - s)
            rule = self._rule[m]
            if rule[1] not in _NO_SCOPE:
                if all(in_concept[s:e]):
                    continue  # a multi-token concept owns its trigger word ("not breathing")
                any_scope = True
            triggers.append((s, e, rule))
        return triggers if any_scope else []

    def _reports_concept(self, e, n, window, concepts, mask, lowers, puncts) -> bool:
        """Whether the clause after a PRECEDING literal affirms a crisis concept of its own:
        'false alarm on the gun, it was a BB pistol, but she still says she wants to die'
        takes nothing back."""
        end = e
        while end < min(n, e + window) and not self._is_boundary(lowers[end], puncts[end]):
            end += 1
        return any(e <= c.start < end and not mask[c.start] & _NEG and self._keeps(c) for c in concepts)

    def _follows_concept(self, s, window, concepts, lowers, puncts) -> bool:
        """Whether the clause just before a PRECEDING literal names a crisis concept, so that
        the literal takes back that report only ('report of a gun was unfounded')."""
        i = s - 1
        while (i >= 0 and s - i <= window and lowers[i] not in (",", "/", "//", "-")
               and not self._is_boundary(lowers[i], puncts[i])):  # '/' breaks a CAD page's sentences
            i -= 1
        return any(i < c.start and c.end <= s and self._keeps(c) for c in concepts)

    def _keeps(self, c: ConceptMatch) -> bool:
        """A crisis concept by ``preceding_kept_by`` (every concept when the table has none)."""
        return not self.preceding_kept_by or c.name in self.preceding_kept_by

    def _scope_forward(self, j, n, window, bit, lowers, puncts, starts, mask) -> None:
        content = 0
        limit = min(n, j + window)
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
            # 'has not hurt or threatened anyone': a clause starter right after 'or' is
            # the second item of the denial, not a new clause
            if content and low in self.clause_starters and lowers[j - 1] not in self.coordinators:
                return
            # 'has not been threatened': an auxiliary is no content word of the scope
            if not puncts[j] and low not in self.clause_starters and low not in self.auxiliaries:
                content += 1
            mask[j] |= bit
            j += 1

    def _scope_backward(self, j, window, bit, lowers, puncts, starts, mask) -> None:
        i = j - 1
        steps = 0
        while i >= 0 and steps < window:
            low = lowers[i]
            if low == ":":
                i -= 1
                continue
            if i in starts or low == "," or self._is_boundary(low, puncts[i]):
                return
            mask[i] |= bit
            i -= 1
            steps += 1


def _or(values: list[int]) -> int:
    out = 0
    for v in values:
        out |= v
    return out
