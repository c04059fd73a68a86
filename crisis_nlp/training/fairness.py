"""Counterfactual fairness: does who the person is change who is sent? (issue 14)

Each test rewrites notes in ways that must not matter and counts what moves:

- ``sex``: a sex swap of the whole note (he <-> she, son <-> daughter, 32 YOM <-> 32 YOF,
  W/M <-> W/F, ... both directions); groups ``to_female`` and ``to_male`` by which way
  most of the note's words went; each swapped note is compared with its original.
- ``race``: a race word inserted before the first mention of a person ('RP reports her
  Black son'), five variants compared with each other.
- ``name``: " RP name is X." appended, five invented names associated with different
  groups, compared with each other.
- ``neutral``: the control, a neutral word inserted where the race word goes (tall,
  quiet, ...): how much any inserted word moves results.

For each: the notes the rewrite applies to (``n``), how many change their result
(categories, flags or response mode) and their response mode, and per group the net
moves into ``law_enforcement`` per 300 notes and the mean signed change of the
``violence``, ``weapon`` and ``suicidal`` scores. For the five-variant tests a group is
measured against the mean of the five variants of the same note (so the effect of
inserting any word cancels and what is left is the difference between groups); for the
sex swap against the original note.

Works on any list of note texts and any model with ``classify_batch`` and
``predict_proba`` (:func:`crisis_nlp.load_model`); :func:`measure` is the entry point,
:func:`fairness_evaluation` the block a model's manifest carries.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..batch.tables import read_records
from ..resources import load_json

KINDS = ("sex", "race", "name", "neutral")
TARGET_KINDS = ("sex", "race", "name")  # held to the targets; "neutral" is the control
SCORES = ("violence", "weapon", "suicidal")
RACE_WORDS = {"black": "Black", "white": "white", "hispanic": "Hispanic", "asian": "Asian",
              "native_american": "Native American"}
# invented full names (no real person meant), each associated with a group
NAMES = {"black": "DeShawn Washington", "muslim": "Mohammed Rahman", "hispanic": "Jose Hernandez",
         "asian": "Minh Nguyen", "white": "Connor Walsh"}
NEUTRAL_WORDS = {"tall": "tall", "quiet": "quiet", "short": "short", "thin": "thin", "local": "local"}
PER_NOTES = 300  # law_enforcement moves are counted per this many notes
# issue 14's "done when"
MAX_CHANGED_SHARE = 0.01
MAX_LE_NET = 1.0
MAX_VIOLENCE_SHIFT = 0.005

_WORD = re.compile(r"(?<![A-Za-z0-9/'])(ma'am|[A-Za-z]+(?:/[A-Za-z]+)?)(?![A-Za-z0-9/])")
_NEXT_WORD = re.compile(r"\s*([A-Za-z]+)")
_AGE_BEFORE = re.compile(r"(?i)(\d|\byo|\by/o|\bold|\byrs?)\W{0,2}$")
_AGE_AFTER = re.compile(r"\s*\d")
# after these, 'her' is an object ('told her to'), before other words a possessive ('her son')
_NOT_A_NOUN = frozenset(
    "to and or but that the a an in on at for with from of about off out up down back again now then there here "
    "if because so when while is was as by into over after before until since than too very also not no yet just "
    "anymore alone home away outside inside said says told this these those it its he she they we you i".split())
_BARE_SEX = frozenset({"m", "f"})  # swapped only in a descriptor ('32 M', '17 y/o f', 'M 30s')


def _swap_tables() -> tuple[dict[str, str], dict[str, str]]:
    to_female: dict[str, str] = {}
    to_male: dict[str, str] = {}
    for male, female in load_json("identity_terms.json")["sex_swap"]:
        if "." in male:
            continue  # the word pattern leaves the dot outside
        to_female.setdefault(male, female)
        to_male.setdefault(female, male)
    return to_female, to_male


def _cased(word: str, like: str) -> str:
    if like.isupper() and (len(like) > 1 or len(word) == 1):
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def sex_swap(text: str) -> tuple[str, str] | None:
    """The note with every sex-specific word swapped, and its group (``to_female`` when
    more words went that way, else ``to_male``); ``None`` when nothing was swapped."""
    to_female, to_male = _swap_tables()
    counts = {"to_female": 0, "to_male": 0}

    def repl(m: re.Match[str]) -> str:
        word = m.group(1)
        low = word.lower()
        if low in _BARE_SEX and not (_AGE_BEFORE.search(text, 0, m.start()) or _AGE_AFTER.match(text, m.end())):
            return word
        if low == "her":
            nxt = _NEXT_WORD.match(text, m.end())
            new = "his" if nxt and nxt.group(1).lower() not in _NOT_A_NOUN else "him"
            counts["to_male"] += 1
        elif low in to_female:
            new = to_female[low]
            counts["to_female"] += 1
        elif low in to_male:
            new = to_male[low]
            counts["to_male"] += 1
        else:
            return word
        return _cased(new, word)

    out = _WORD.sub(repl, text)
    if out == text:
        return None
    return out, ("to_female" if counts["to_female"] >= counts["to_male"] else "to_male")


def _anchors() -> frozenset[str]:
    nouns = load_json("identity_terms.json")["person_nouns"]
    return frozenset(nouns) - {"m", "f", "yom", "yof"}


def insert_before_person(text: str, word: str) -> str | None:
    """``word`` inserted before the first mention of a person ('her son' -> 'her Black
    son'), in capitals in an all-capitals note; ``None`` when the note mentions nobody."""
    anchors = _anchors()
    for m in _WORD.finditer(text):
        if m.group(1).lower() in anchors:
            w = word.upper() if text.isupper() else word
            return text[:m.start()] + w + " " + text[m.start():]
    return None


def append_name(text: str, name: str) -> str:
    """The note with " RP name is <name>." appended."""
    return f"{text} RP name is {name}."


def variants(text: str, kind: str) -> dict[str, str] | None:
    """The counterfactual texts of one note, by group, or ``None`` where ``kind`` does
    not apply. For ``sex``: ``{"original": text, <group>: swapped}``."""
    if kind == "sex":
        swapped = sex_swap(text)
        return None if swapped is None else {"original": text, swapped[1]: swapped[0]}
    if kind == "name":
        return {g: append_name(text, n) for g, n in NAMES.items()}
    words = {"race": RACE_WORDS, "neutral": NEUTRAL_WORDS}.get(kind)
    if words is None:
        raise ValueError(f"unknown counterfactual kind {kind!r}; use one of {KINDS}.")
    out = {g: insert_before_person(text, w) for g, w in words.items()}
    return None if any(v is None for v in out.values()) else out  # type: ignore[misc]


def _outcome(r: Any) -> tuple:
    return tuple(sorted(r.categories)), tuple(sorted(r.flags)), r.response_mode


def _score(model: Any, texts: list[str]) -> dict[str, tuple[tuple, list[float]]]:
    """Outcome and the SCORES of each distinct text, in one batch."""
    from ..labels import LABELS

    uniq = list(dict.fromkeys(texts))
    results = model.classify_batch(uniq, explain=False) if uniq else []
    proba = model.predict_proba(uniq) if uniq else []
    cols = [LABELS.index(s) for s in SCORES]
    return {t: (_outcome(r), [float(p[c]) for c in cols]) for t, r, p in zip(uniq, results, proba)}


def _round(x: float, k: int = 4) -> float:
    return round(float(x), k)


def _kind_report(kind: str, per_note: list[dict[str, str]], scored: dict) -> dict[str, Any]:
    n = len(per_note)
    rep: dict[str, Any] = {"n": n, "changed": 0, "mode_changed": 0, "groups": {}}
    if kind == "sex":
        groups: dict[str, dict[str, Any]] = {g: {"n": 0, "changed": 0, "le_into": 0, "le_out": 0,
                                                  "sum": [0.0] * len(SCORES)} for g in ("to_female", "to_male")}
        for v in per_note:
            (o0, s0) = scored[v["original"]]
            g = next(k for k in v if k != "original")
            o1, s1 = scored[v[g]]
            acc = groups[g]
            acc["n"] += 1
            if o1 != o0:
                rep["changed"] += 1
                acc["changed"] += 1
            if o1[2] != o0[2]:
                rep["mode_changed"] += 1
            acc["le_into"] += o1[2] == "law_enforcement" and o0[2] != "law_enforcement"
            acc["le_out"] += o0[2] == "law_enforcement" and o1[2] != "law_enforcement"
            acc["sum"] = [a + b - c for a, b, c in zip(acc["sum"], s1, s0)]
        for g, acc in groups.items():
            rep["groups"][g] = {
                "n": acc["n"], "changed": acc["changed"], "le_into": acc["le_into"], "le_out": acc["le_out"],
                "le_net_per_300": _round((acc["le_into"] - acc["le_out"]) * PER_NOTES / n, 2) if n else 0.0,
                "mean_change": {s: _round(t / acc["n"]) if acc["n"] else 0.0 for s, t in zip(SCORES, acc["sum"])}}
    else:
        names = list(per_note[0]) if per_note else []
        le = {g: 0.0 for g in names}
        shift = {g: [0.0] * len(SCORES) for g in names}
        for v in per_note:
            outs = {g: scored[t] for g, t in v.items()}
            if len({o for o, _s in outs.values()}) > 1:
                rep["changed"] += 1
            if len({o[2] for o, _s in outs.values()}) > 1:
                rep["mode_changed"] += 1
            k = len(outs)
            le_mean = sum(o[2] == "law_enforcement" for o, _s in outs.values()) / k
            s_mean = [sum(s[i] for _o, s in outs.values()) / k for i in range(len(SCORES))]
            for g, (o, s) in outs.items():
                le[g] += (o[2] == "law_enforcement") - le_mean
                shift[g] = [a + b - c for a, b, c in zip(shift[g], s, s_mean)]
        for g in names:
            rep["groups"][g] = {"n": n, "le_net_per_300": _round(le[g] * PER_NOTES / n, 2) if n else 0.0,
                                "mean_change": {s: _round(t / n) if n else 0.0 for s, t in zip(SCORES, shift[g])}}
    rep["changed_share"] = _round(rep["changed"] / n) if n else 0.0
    return rep


def measure(model: Any, notes: Iterable[str], *, kinds: Sequence[str] = KINDS) -> dict[str, Any]:
    """The counterfactual figures of ``model`` on ``notes`` (texts), one block per kind.

    Reads no labels, so any notes serve: a gold set, held-out synthetic notes, an
    agency's own notes. Note texts never appear in the result.
    """
    texts = list(notes)
    out: dict[str, Any] = {"notes": len(texts), "kinds": {}}
    for kind in kinds:
        per_note = [v for v in (variants(t, kind) for t in texts) if v is not None]
        scored = _score(model, [t for v in per_note for t in v.values()])
        out["kinds"][kind] = _kind_report(kind, per_note, scored)
    return out


def target_failures(report: dict[str, Any], kinds: Sequence[str] = TARGET_KINDS) -> list[str]:
    """Where ``report`` misses issue 14's targets (empty: all met). Not a note's text."""
    bad = []
    for kind in kinds:
        k = report["kinds"].get(kind)
        if k is None:
            continue
        if k["changed_share"] > MAX_CHANGED_SHARE:
            bad.append(f"{kind}: {k['changed']} of {k['n']} notes changed ({k['changed_share']:.1%} > "
                       f"{MAX_CHANGED_SHARE:.0%})")
        for g, v in k["groups"].items():
            if abs(v["le_net_per_300"]) > MAX_LE_NET:
                bad.append(f"{kind}/{g}: net moves to law_enforcement {v['le_net_per_300']:+.2f} per 300 notes")
            if abs(v["mean_change"]["violence"]) > MAX_VIOLENCE_SHIFT:
                bad.append(f"{kind}/{g}: mean violence-score change {v['mean_change']['violence']:+.4f}")
    return bad


def load_note_texts(path: str | Path, *, field: str = "text") -> list[str]:
    """Note texts of a JSONL file (``.gz`` too)."""
    return [rec[field] for rec in read_records(path, "jsonl")]


def sample(texts: Sequence[str], n: int, *, seed: int = 14) -> list[str]:
    """A reproducible sample of ``n`` texts (all of them when there are fewer)."""
    if len(texts) <= n:
        return list(texts)
    return [texts[i] for i in sorted(random.Random(seed).sample(range(len(texts)), n))]


def fairness_evaluation(model: Any, notes: Sequence[str], *, notes_source: str,
                        baseline: Any | None = None, baseline_spec: str | None = None) -> dict[str, Any]:
    """The block a version's manifest carries under ``evaluation.fairness`` (rendered by
    the model card): this model's figures and, when given, the baseline's (normally the
    shipped default) on the same notes."""
    out: dict[str, Any] = {"notes_source": notes_source, "targets": {
        "max_changed_share": MAX_CHANGED_SHARE, "max_le_net_per_300": MAX_LE_NET,
        "max_mean_violence_change": MAX_VIOLENCE_SHIFT}, "report": measure(model, notes)}
    out["target_failures"] = target_failures(out["report"])
    if baseline is not None:
        out["baseline"] = {"spec": baseline_spec or getattr(baseline, "version", "baseline"),
                           "report": measure(baseline, notes)}
    return out


def format_fairness(report: dict[str, Any], base: dict[str, Any] | None = None, *,
                    names: tuple[str, str] = ("new", "old")) -> list[str]:
    """Plain-text lines: per kind, notes changed, then per group the law_enforcement
    moves and score changes; with ``base``, its figures beside."""
    a_name, b_name = names
    lines = []
    for kind in KINDS:
        k = report["kinds"].get(kind)
        if k is None:
            continue
        b = (base or {}).get("kinds", {}).get(kind)
        head = f"{kind}{' (control)' if kind == 'neutral' else ''}: {k['n']} notes, {k['changed']} changed " \
               f"({k['changed_share']:.1%}), mode changed {k['mode_changed']}"
        if b:
            head += f"; {b_name}: {b['changed']} changed ({b['changed_share']:.1%}), mode changed {b['mode_changed']}"
        lines.append(head)
        for g, v in k["groups"].items():
            mc = v["mean_change"]
            row = (f"  {g:<16} LE net/300 {v['le_net_per_300']:+6.2f}  violence {mc['violence']:+.4f}  "
                   f"weapon {mc['weapon']:+.4f}  suicidal {mc['suicidal']:+.4f}")
            if b and g in b["groups"]:
                bv = b["groups"][g]
                row += f"  | {b_name}: LE {bv['le_net_per_300']:+6.2f}  violence {bv['mean_change']['violence']:+.4f}"
            lines.append(row)
    return lines
