"""Knowledge rules: what an affirmed concept says about a label, whatever the learned score.

The learner weighs a concept by how often it carried the label in the synthetic notes, and
in a long note the rest of the words can outvote one clause. Two kinds of rule, kept as
data in a version's ``model.json`` settings and hashed with the rest:

- **Floors** (``settings["label_floors"]``: label -> concept tokens). Why: missing a weapon,
  a suicidal person or an assault costs more than a false alarm, and the generator plants
  many such words without the label on purpose ("water gun", "took all the guns out of the
  house", "no plan, safe at home"), so a pistol in one clause of a long note, or "suicidal
  thoughts" beside three denials, scores low. When the lexicon finds the concept and ConText finds it neither denied,
  historical nor hypothetical, the label is on: its score is raised to the threshold.
  A floor may ask for some learned evidence too (``settings["label_floor_shares"]``: label
  -> share; none by default): it then holds only when the calibrated score is at least that
  share of the threshold. Why one would: the violence lexicon is right about the word and
  often wrong about the call ("DV shelter", "assaulted an hour ago", "shoot me a message");
  on held-out families the hard violence floor rescued 8 true notes and made 108 false ones.
- **Ceilings** (``settings["label_ceilings"]``: label -> ``{"when": tokens, "unless":
  tokens}``; ``unless`` may be empty). Why: the taxonomy says a threat to oneself is never
  ``violence`` ("threatening to jump", "gun to his own head"), but "threatening" is a
  strong violence word in the notes the learner saw; and the learned police-lead cues fire on a suicidal person with a
  gun in reach, which the policy sends to a co-responder. When a ``when`` concept is found and no ``unless`` concept (any
  sign of harm aimed at someone else), the label is off: its score is capped at half the
  threshold.

- **Companions** (``settings["label_companions"]``: category -> concept tokens, since
  2.22.0). Why: the taxonomy adds ``substance_use`` "where alcohol or drugs are part of the
  crisis", and a suicidal or violent note says so in one word ("dad drunk, holding a knife",
  "been drinking since noon, says he'll end it"); the learner spreads a long crisis note's
  evidence over many words and scores that one low (17 of the 29 ``substance_use`` misses
  of the five full gold sets at 2.21.0 hold the concept beside another category; read after
  the fact). When a concept is affirmed and some other category is on, the label is on. In
  the synthetic notes the rule agrees with the generator's labels on 1,213 of the 1,291
  notes with the concept affirmed and another category; alone ("DUI crash, driver drunk")
  it sets nothing.

- **Fallbacks** (``settings["label_fallbacks"]``: label -> ``{"when": tokens,
  "max_words": n}``, since 2.13.0). Why: the taxonomy counts an agency's code for an
  emotionally disturbed person (EDP, 10-96, PSYCH) as ``psychosis`` "when the note says
  nothing more specific", and a real CAD page is often that code, an address and a unit
  ("10-96 // 1200 ELM ST // P4 ENRT"); the learner never saw such a bare page
  (an ordinary synthetic note with a code says more), and scores it
  low; likewise an overdose code ("OD / 5 PARK PLAZA / M2 ENRT", since 2.16.0). When a
  ``when`` concept is found, the note holds at most ``max_words`` distinct known content
  words (the vocabulary's single words; not concepts, numbers, the version's
  ``function_words.txt`` or, since 2.16.0, its ``fallback_uncounted.txt``) and no
  category is on, the label is on.

Floors are applied first, then ceilings, then companions, then fallbacks. Versions without the keys have
no rules.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..errors import InputError
from ..labels import CATEGORIES
from ..preprocess.pipeline import CONCEPT_PREFIXES

#: the floors ``train`` writes unless told otherwise: an affirmed weapon sets ``weapon``,
#: an affirmed suicide concept ``suicidal`` (since 2.3.0) and harm aimed at others
#: ``violence`` (since 2.3.0); the three high-risk labels a dispatcher must not miss; and
#: the cue that sends a suicide attempt in public to a co-responder
DEFAULT_FLOORS: dict[str, tuple[str, ...]] = {
    "weapon": ("C_WEAPON", "C_WEAPON_SELF", "C_WEAPON_OTHERS"),
    "suicidal": ("C_SUICIDE",),
    "violence": ("C_VIOLENCE", "C_THREAT_OTHERS", "C_WEAPON_OTHERS"),
    # since 2.22.0: a person at a risky public spot ("on bridge rail", "outside the railing",
    # "in front of the next train"; concepts.json PUBLIC_RISK, which the learner does not
    # weigh) sets the public-place cue, so a suicide attempt there goes to a co-responder
    # (policy rule 4). The learned cue read "subj on bridge rail threatening to jump" at 0.57
    # in 2.21.0 and 0.12 after stop 40's new banks: cue wording is the most
    # generator-specific part of the notes
    "public_place": ("C_PUBLIC_RISK",),
    # since 2.29.0: a note that says the caller is the person ("caller states she", "RP 52
    # YOM", "45 YOM CALLING", "I", "my"; concepts.json CALLER_SELF and patterns_targets.json)
    # sets the caller-is-the-person cue; the ceiling below still turns it off when the note
    # asks for someone to go. The learned cue read 9 self-calls of the gold sets under 0.5
    # ("rp 68yom vietnam vet, out of his sertraline ... asking how to get a refill": 0.17)
    # and sent them to a mobile crisis team; with the floor on 2.28.0 (no retraining) all 9
    # go to the crisis line as their gold says, and no other mode of the five gold sets moves
    "caller_is_person": ("C_CALLER_SELF",),
}

#: the floor shares ``train`` writes unless told otherwise: none, every floor is hard. A
#: share of 0.5 for ``violence`` was measured at stop 25 (docs/model-history.md, "Soft floors"): on two
#: data draws it raised violence precision on both gold sets (0.641 -> 0.660, 0.688 ->
#: 0.711 on CAD pages) and cost one true note of each, which put recall under 0.92 on one
#: draw. A missed assault costs more than a false flag, so it is an agency's choice
#: (``train(..., label_floor_shares={"violence": 0.5})``), not the default.
DEFAULT_FLOOR_SHARES: dict[str, float] = {}

#: a threat or a weapon aimed at the person themself (patterns_targets.json) ...
SELF_DIRECTED = ("C_THREAT_SELF", "C_WEAPON_SELF")
#: ... and any sign of harm aimed at someone else, which keeps the learned score
OTHER_DIRECTED = ("C_VIOLENCE", "C_THREAT_OTHERS", "C_WEAPON_OTHERS")
#: the ceilings ``train`` writes unless told otherwise (taxonomy schema 1.1): harm aimed
#: only at oneself is not ``violence``, and in a note about suicide or self-harm neither
#: ``violence`` (since 2.14.0) nor the two police-lead cues (a weapon against others,
#: violence in progress) hold without a sign of harm aimed at someone else, since a weapon
#: within the person's own reach calls for a co-responder (policy rule 4), not police
#: first (rule 2). Why ``violence`` too: in a suicide note the learner reads "going to",
#: "told", "texted" as threats (5 of the 17 false ``violence`` flags on the CAD-page gold
#: set at 2.13.0), and the taxonomy says a threat to oneself is never ``violence``;
#: and since 2.21.0 a note that asks for someone to go, or says a team was sent ("req mct",
#: "wants someone to come talk to him", "MCT dispatched"), is no call the phone can settle,
#: so the caller-is-the-person cue that leads to ``crisis_line`` (policy rule 6: "no one
#: needs to go", taxonomy) is off and the call falls to ``mobile_crisis`` or above. Nothing
#: keeps the learned score ("unless" empty). Of the 20 notes of six gold sets that 2.20.0
#: sent to ``crisis_line`` against a gold ``mobile_crisis``, 15 say so (read, not blind).
#: The learner does not weigh C_IN_PERSON (train's ``rule_only_concepts``)
DEFAULT_CEILINGS: dict[str, dict[str, tuple[str, ...]]] = {
    **{label: {"when": ("C_SUICIDE", "C_SELF_HARM") + SELF_DIRECTED, "unless": OTHER_DIRECTED}
       for label in ("violence", "weapon_against_others", "violence_in_progress")},
    "caller_is_person": {"when": ("C_IN_PERSON",), "unless": ()},
}
#: a ceiling caps the score at this share of the label's threshold
CEILING_SHARE = 0.5

#: the fallbacks ``train`` writes unless told otherwise: a psych code on a bare page is
#: ``psychosis`` (taxonomy; since 2.13.0), an overdose code on a bare page ``substance_use``
#: (overdose is in its definition) with ``medical`` (uncertain content is a label: "POSS
#: OD"; both since 2.16.0). A bare page holds at most 7 (overdose: 6) distinct known content
#: words besides those of fallback_uncounted.txt (the codes' own words, masked addresses and
#: phone numbers, protocol-block lines, places, units and dispatch). Of the committed
#: synthetic notes with a psych code, three ordinary ones hold 7 or fewer (generator
#: sentences such as "10-96 FEMALE KICKING THE APT MANAGER", which the taxonomy would call
#: psychosis anyway); with an overdose concept, one ordinary note holds 7 ("narcan kit in
#: her backpack, not needed") and none fewer. 2.13.0-2.15.0 counted the addresses, places
#: and the codes' own words and allowed 10: "10-96 / 77 HARBOR WAY / CB 555-0147 / CALLER
#: REQ AN OFFICER / M4 AND P2 ASSIGNED / DISPATCH RECEIVED BY UNIT 9" held 13 (now 2)
#: the companions ``train`` writes unless told otherwise (since 2.22.0): a person found
#: intoxicated (concepts.json INTOXICATED: "drunk", "been drinking", "high on", "tweaking",
#: ...; not the name of a drug, which a suicide by pills also carries) in a note that is a
#: crisis already. The learner does not weigh C_INTOXICATED (train's ``rule_only_concepts``).
#: Since 2.23.0 also ``self_harm`` beside an act of self-injury (concepts.json SELF_INJURY:
#: "hanged himself", "cut her down", "jumped from", "cut her thighs", ...): the taxonomy calls
#: a suicide attempt by self-injury both ``suicidal`` and ``self_harm``, and the learner,
#: which saw most such notes as ``suicidal`` first, scored ``self_harm`` under its threshold
#: on 8 such notes of the five gold sets at 2.22.0. In the synthetic notes the rule agrees
#: with the generator on all 293 notes with the concept affirmed and another category; a
#: longer list also took accidents ("burned herself on the curling iron", "cut herself on
#: barbed wire") and figures of speech ("banging his head against the wall over the tax
#: forms", "cut himself off from family"), so those forms are not in it. Also rule-only.
DEFAULT_COMPANIONS: dict[str, tuple[str, ...]] = {"substance_use": ("C_INTOXICATED",),
                                                  "self_harm": ("C_SELF_INJURY",)}

DEFAULT_FALLBACKS: dict[str, dict[str, Any]] = {
    "psychosis": {"when": ("C_PSYCH_CODE", "C_EMD_PSYCH"), "max_words": 7},
    "substance_use": {"when": ("C_OVERDOSE",), "max_words": 6},
    "medical": {"when": ("C_OVERDOSE",), "max_words": 6},
}


def _check_tokens(tokens: Any, where: str, allow_empty: bool = False) -> list[str]:
    listed = list(tokens) if isinstance(tokens, (list, tuple)) else None
    bad = [t for t in listed or [] if not (isinstance(t, str) and t.startswith("C_") and " " not in t)]
    if listed is None or bad or not (listed or allow_empty):
        raise InputError(f"{where} must list affirmed concept tokens such as 'C_WEAPON'; got {bad or tokens!r}.")
    return listed


def _check_label(label: str, outputs: Sequence[str], key: str) -> None:
    if label not in outputs:
        raise InputError(f"{key} names {label!r}, which is not an output; use ids of {list(outputs)}.")


def check_floors(floors: Mapping[str, Sequence[str]], outputs: Sequence[str]) -> dict[str, list[str]]:
    """``floors`` as stored: known outputs, affirmed concept tokens (``C_...``) only."""
    out = {}
    for label, tokens in floors.items():
        _check_label(label, outputs, "label_floors")
        out[label] = _check_tokens(tokens, f"label_floors[{label!r}]")
    return out


def check_companions(companions: Mapping[str, Sequence[str]], outputs: Sequence[str]) -> dict[str, list[str]]:
    """``companions`` as stored: categories that are outputs, affirmed concept tokens only."""
    out = {}
    for label, tokens in companions.items():
        _check_label(label, outputs, "label_companions")
        if label not in CATEGORIES:
            raise InputError(f"label_companions names {label!r}, which is no category; a companion joins other "
                             f"categories: use one of {list(CATEGORIES)}.")
        out[label] = _check_tokens(tokens, f"label_companions[{label!r}]")
    return out


def check_floor_shares(shares: Mapping[str, float], floors: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """``shares`` as stored: each names a label that has a floor, with a share in [0, 1)."""
    out = {}
    for label, share in shares.items():
        if label not in floors:
            raise InputError(f"label_floor_shares names {label!r}, which has no floor; floored labels: {sorted(floors)}.")
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share < 1:
            raise InputError(f"label_floor_shares[{label!r}] must be a number in [0, 1); got {share!r}.")
        out[label] = float(share)
    return out


def check_ceilings(ceilings: Mapping[str, Mapping[str, Sequence[str]]],
                   outputs: Sequence[str]) -> dict[str, dict[str, list[str]]]:
    """``ceilings`` as stored: known outputs, each with affirmed ``when`` and ``unless`` tokens."""
    out = {}
    for label, rule in ceilings.items():
        _check_label(label, outputs, "label_ceilings")
        if not isinstance(rule, Mapping) or set(rule) != {"when", "unless"}:
            raise InputError(f"label_ceilings[{label!r}] must be {{'when': [...], 'unless': [...]}}; got {rule!r}.")
        out[label] = {"when": _check_tokens(rule["when"], f"label_ceilings[{label!r}]['when']"),
                      # an empty 'unless': nothing keeps the learned score
                      "unless": _check_tokens(rule["unless"], f"label_ceilings[{label!r}]['unless']",
                                              allow_empty=True)}
    return out


def check_fallbacks(fallbacks: Mapping[str, Mapping[str, Any]], outputs: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``fallbacks`` as stored: known outputs, each with affirmed ``when`` tokens and a
    whole ``max_words`` >= 0."""
    out = {}
    for label, rule in fallbacks.items():
        _check_label(label, outputs, "label_fallbacks")
        n = rule.get("max_words") if isinstance(rule, Mapping) else None
        if not isinstance(rule, Mapping) or set(rule) != {"when", "max_words"} or isinstance(n, bool) \
                or not isinstance(n, int) or n < 0:
            raise InputError(f"label_fallbacks[{label!r}] must be {{'when': [...], 'max_words': n}} with a "
                             f"whole n >= 0; got {rule!r}.")
        out[label] = {"when": _check_tokens(rule["when"], f"label_fallbacks[{label!r}]['when']"), "max_words": n}
    return out


class KnowledgeRules:
    """The floors, ceilings, companions and fallbacks of one version, as column ids of a vocabulary.

    A rule whose tokens are not in the vocabulary (the learner never saw the concept) can
    never hold and is left out.
    """

    def __init__(self, settings: Mapping[str, Any], outputs: Sequence[str], vocab: Sequence[str],
                 thresholds: np.ndarray, ignore_words: frozenset[str] = frozenset()) -> None:
        col = {t: i for i, t in enumerate(vocab) if t.startswith("C_")}
        out = {o: j for j, o in enumerate(outputs)}

        def cols(tokens: Sequence[str]) -> np.ndarray:
            return np.array(sorted(col[t] for t in tokens if t in col), dtype=np.intp)

        shares = settings.get("label_floor_shares") or {}
        floors = [(out[label], cols(tokens), float(shares.get(label, 0.0)))
                  for label, tokens in (settings.get("label_floors") or {}).items()]
        ceilings = [(out[label], cols(rule["when"]), cols(rule["unless"]))
                    for label, rule in (settings.get("label_ceilings") or {}).items()]
        companions = [(out[label], cols(tokens)) for label, tokens in (settings.get("label_companions") or {}).items()]
        fallbacks = [(out[label], cols(rule["when"]), int(rule["max_words"]))
                     for label, rule in (settings.get("label_fallbacks") or {}).items()]
        self.floors = [(j, when, share) for j, when, share in floors if len(when)]  # (output, concept columns, share)
        self.ceilings = [(j, when, unless) for j, when, unless in ceilings if len(when)]
        self.companions = [(j, when) for j, when in companions if len(when)]  # (category output, concept columns)
        self.fallbacks = [(j, when, n) for j, when, n in fallbacks if len(when)]  # (output, columns, max words)
        self.thresholds = np.asarray(thresholds, dtype=float)
        # what a fallback counts: the vocabulary's single plain words, and the category outputs
        self.is_word = np.array([" " not in t and not t.startswith(CONCEPT_PREFIXES) and t not in ignore_words
                                 and not t.isdigit() for t in vocab] if self.fallbacks else [], dtype=bool)
        self._word_set = frozenset(np.flatnonzero(self.is_word).tolist())
        self.category_cols = np.array([out[c] for c in CATEGORIES if c in out], dtype=np.intp)

    def __bool__(self) -> bool:
        return bool(self.floors or self.ceilings or self.companions or self.fallbacks)

    def apply_one(self, p: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """One note: ``p`` (calibrated, every output) with the rules applied; ``cols`` are
        the note's feature columns."""
        # a set, not np.isin: six isin calls on a few columns took 13% of a note (stop 25)
        present = set(cols.tolist())

        def any_of(c: np.ndarray) -> bool:
            return not present.isdisjoint(c.tolist())

        held = [any_of(when) for _j, when, _share in self.floors]
        held += [any_of(when) and not any_of(unless) for _j, when, unless in self.ceilings]
        held += [any_of(when) for _j, when in self.companions]
        if self.fallbacks:
            n_words = sum(c in self._word_set for c in present)
            held += [any_of(when) and n_words <= n for _j, when, n in self.fallbacks]
        return self.apply_many(p[None, :], np.array([held], dtype=bool))[0]

    def hits(self, X: sp.csr_matrix) -> np.ndarray:
        """Many notes: which rule holds for which row of the feature matrix (rows x rules:
        floors, ceilings, companions, fallbacks)."""
        def any_of(c: np.ndarray) -> np.ndarray:
            return X[:, c].getnnz(axis=1) > 0 if len(c) else np.zeros(X.shape[0], dtype=bool)

        held = [any_of(when) for _j, when, _share in self.floors]
        held += [any_of(when) & ~any_of(unless) for _j, when, unless in self.ceilings]
        held += [any_of(when) for _j, when in self.companions]
        if self.fallbacks:
            is_word = np.zeros(X.shape[1], dtype=bool)  # past the vocabulary: character columns
            is_word[:len(self.is_word)] = self.is_word[:X.shape[1]]
            n_words = np.bincount(np.repeat(np.arange(X.shape[0]), np.diff(X.indptr)),
                                  weights=is_word[X.indices], minlength=X.shape[0])
            held += [any_of(when) & (n_words <= n) for _j, when, n in self.fallbacks]
        return np.column_stack(held) if held else np.zeros((X.shape[0], 0), dtype=bool)

    def apply_many(self, P: np.ndarray, hits: np.ndarray) -> np.ndarray:
        """Many notes: ``P`` (calibrated, rows x outputs) with the rules that ``hits`` found
        applied, in place. The one place that says what a floor and a ceiling do."""
        k = 0
        for j, _when, share in self.floors:
            rows = hits[:, k] & (P[:, j] >= share * self.thresholds[j])
            P[rows, j] = np.maximum(P[rows, j], self.thresholds[j])
            k += 1
        for j, _when, _unless in self.ceilings:
            P[hits[:, k], j] = np.minimum(P[hits[:, k], j], CEILING_SHARE * self.thresholds[j])
            k += 1
        cats = self.category_cols
        for j, _when in self.companions:
            others = cats[cats != j]
            rows = hits[:, k] & (P[:, others] >= self.thresholds[others]).any(axis=1)
            P[rows, j] = np.maximum(P[rows, j], self.thresholds[j])
            k += 1
        if self.fallbacks:
            no_category = ~(P[:, cats] >= self.thresholds[cats]).any(axis=1)
            for j, _when, _n in self.fallbacks:
                rows = hits[:, k] & no_category
                P[rows, j] = np.maximum(P[rows, j], self.thresholds[j])
                k += 1
        return P


def apply_to_features(P: np.ndarray, features: Sequence[str], settings: Mapping[str, Any],
                      outputs: Sequence[str], thresholds: Mapping[str, float],
                      ignore_words: frozenset[str] = frozenset()) -> np.ndarray:
    """The same rules on feature strings, for training's held-out report (the predictions
    of fold models, each with its own vocabulary): a copy of ``P`` with them applied."""
    tokens = sorted({t for rule in (settings.get("label_floors") or {}).values() for t in rule}
                    | {t for rule in (settings.get("label_ceilings") or {}).values() for k in rule for t in rule[k]}
                    | {t for rule in (settings.get("label_companions") or {}).values() for t in rule}
                    | {t for rule in (settings.get("label_fallbacks") or {}).values() for t in rule["when"]})
    if settings.get("label_fallbacks"):  # a fallback counts plain words: here every one (a fold model's
        # vocabulary is not at hand), which counts at least as many as a version does
        tokens += sorted({w for f in features for w in f.split() if not w.startswith(CONCEPT_PREFIXES)} - set(tokens))
    rules = KnowledgeRules(settings, outputs, tokens, np.array([thresholds.get(o, 0.5) for o in outputs]), ignore_words)
    if not rules:
        return P.copy()
    col = {t: i for i, t in enumerate(tokens)}
    rows, cols = [], []
    for r, f in enumerate(features):
        for c in {col[t] for t in f.split() if t in col}:
            rows.append(r)
            cols.append(c)
    X = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(features), len(tokens)))
    return rules.apply_many(P.copy(), rules.hits(X))


def with_rules(arrays, floors: Mapping[str, Sequence[str]] | None = None,
               ceilings: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
               floor_shares: Mapping[str, float] | None = None,
               fallbacks: Mapping[str, Mapping[str, Any]] | None = None,
               companions: Mapping[str, Sequence[str]] | None = None):
    """``arrays`` (a :class:`~crisis_nlp.model.artifact.ModelArrays`) with ``floors``,
    ``ceilings``, ``floor_shares``, ``fallbacks`` and ``companions`` recorded in its settings
    (none given: unchanged)."""
    settings = dict(arrays.settings)
    if floors:
        settings["label_floors"] = check_floors(floors, arrays.outputs)
        if floor_shares:
            settings["label_floor_shares"] = check_floor_shares(floor_shares, settings["label_floors"])
    if ceilings:
        settings["label_ceilings"] = check_ceilings(ceilings, arrays.outputs)
    if fallbacks:
        settings["label_fallbacks"] = check_fallbacks(fallbacks, arrays.outputs)
    if companions:
        settings["label_companions"] = check_companions(companions, arrays.outputs)
    return arrays if settings == arrays.settings else dataclasses.replace(arrays, settings=settings)
