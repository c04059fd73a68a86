"""Behaviour checks in the spirit of CheckList (Ribeiro et al. 2020): harmless changes to a
note must not change its result, and a few meaningful changes must change it the right way.

Two kinds of perturbation, each a pure function of the note text and a seed:

- **invariance** (``INV``): upper or lower case, extra spaces, line breaks, an appended
  unit-status line, an e-mail footer or ``***`` banner, a neutral call-number or date-time
  header, one or two keyboard typos in ordinary words, a trailing ``[23:14]`` stamp. The
  categories, the flags and the response mode must stay the same.
- **directional** (``DIR``): an added weapon sentence must give ``weapon`` and remove no
  category; an added denial ("denies SI.") must not add ``suicidal``; an added "no weapons
  seen." must not add ``weapon``.

    >>> from crisis_nlp.training.behaviour import run_checks
    >>> report = run_checks(model, texts, ids=ids)
    >>> print(report.format_table())
    >>> report.invariance_failure_rate

The report holds counts, rates and the ids of a few failing notes, never note text
(``keep_text=True`` keeps the failing pairs for local error analysis). Typos never touch a
word of the library's lexicons (``resources/*.json`` and ``*.tsv``), a negation or
uncertainty word, a word with a digit or a word shorter than four letters, so that a typo
never removes the evidence for a label.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..errors import InputError

INV, DIR = "INV", "DIR"
MAX_EXAMPLES = 5
#: notes longer than this after a perturbation are left out of that check (the API's limit)
_MAX_CHARS = 20_000

# -- protected words ------------------------------------------------------------------

#: words a typo must never touch besides the lexicons: negation, uncertainty, history and
#: hypothesis cues (a typo in them changes what the note says, not how it is written), and
#: a few words the taxonomy names that the lexicons may lack
CONTEXT_WORDS = frozenset("""
no not nor never none nothing nobody neither without denies deny denied denying refuses refused
refusing negative neg absent unable cannot cant can't dont don't doesnt doesn't didnt didn't isnt
isn't wasnt wasn't wont won't aint
poss possible possibly probable probably likely maybe unknown unk unsure uncertain suspected
suspect questionable query rule ruled
history hist previous previously prior past former formerly hypothetical would could might if
psych abnormal bizarre mania
""".split())

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_TEMPLATE = re.compile(r"\{[a-z]+\}")


def _words_of(value: Any, out: set[str]) -> None:
    """Every word of every string in a JSON value (the ``description`` and ``source``
    prose of a table left out: it says where the words come from, it is not one)."""
    if isinstance(value, str):
        out.update(w.lower() for w in _WORD.findall(_TEMPLATE.sub(" ", value)))
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in ("description", "source"):
                _words_of(v, out)
    elif isinstance(value, list):
        for v in value:
            _words_of(v, out)


@lru_cache(maxsize=1)
def protected_words() -> frozenset[str]:
    """Lower-case words that carry a label: every word of the package's lexicons and rule
    tables (``resources/*.json``, ``*.tsv``; regular expressions are not word lists and
    are skipped) plus :data:`CONTEXT_WORDS` and the pronouns the lexicons' ``{he}``
    placeholders stand for."""
    from ..resources import read_text, rule_files

    words: set[str] = set(CONTEXT_WORDS)
    words.update("he she they his her their him them himself herself themself themselves".split())
    for path in rule_files():
        if path.name == "pii_patterns.json":
            continue
        if path.suffix == ".json":
            _words_of(json.loads(read_text(path.name)), words)
        elif path.suffix == ".tsv":
            for line in read_text(path.name).splitlines():
                if line.strip() and not line.startswith("#"):
                    _words_of(line.replace("\t", " "), words)
    return frozenset(words)


def _deletes(w: str) -> set[str]:
    return {w[:i] + w[i + 1:] for i in range(len(w))}


@lru_cache(maxsize=1)
def _near_protected() -> tuple[frozenset[str], frozenset[str]]:
    """The first six letters of every long protected word, and every protected word of five
    letters or more with each single-letter deletion of it (for :func:`is_protected`)."""
    words = [w for w in protected_words() if len(w) >= 5]
    stems = frozenset(w[:6] for w in words if len(w) >= 6)
    near: set[str] = set(words)
    for w in words:
        near |= _deletes(w)
    return stems, frozenset(near)


def is_protected(word: str) -> bool:
    """True if a typo must not touch ``word``: a lexicon or context word, an inflection of a
    long one (same first six letters), a slip one letter away from one ('OVRDOSE',
    'SUCIDAL'), a word with a digit or a word under four letters."""
    w = word.lower()
    if len(w) < 4 or not w.isalpha():
        return True
    words = protected_words()
    if w in words or w.rstrip("s") in words or w + "s" in words:
        return True
    stems, near = _near_protected()
    # one insertion, deletion or substitution from a protected word shares a deletion with it
    return (len(w) >= 6 and w[:6] in stems) or w in near or not near.isdisjoint(_deletes(w))


# -- perturbations --------------------------------------------------------------------

def _rng(seed: int, kind: str, text: str) -> random.Random:
    # str seeds go through sha512: the same stream on every run and platform
    return random.Random(f"{seed}\x1f{kind}\x1f{text}")


def _time(rng: random.Random, seconds: bool = False) -> str:
    t = f"{rng.randrange(24):02d}:{rng.randrange(60):02d}"
    return t + f":{rng.randrange(60):02d}" if seconds else t


def _unit(rng: random.Random) -> str:
    return f"{rng.choice('EMLBTR')}{rng.randrange(1, 60)}"


def _append_line(text: str, line: str) -> str:
    return text.rstrip() + "\n" + line


def _append_sentence(text: str, sentence: str) -> str:
    body = text.rstrip()
    if body and body[-1] not in ".!?":
        body += "."
    return body + ("\n" if "\n" in body else " ") + sentence


def upper_case(text: str, rng: random.Random) -> str:
    return text.upper()


def lower_case(text: str, rng: random.Random) -> str:
    return text.lower()


def extra_spaces(text: str, rng: random.Random) -> str:
    """Doubled or tripled spaces after a third of the words, and around the note."""
    parts = text.split(" ")
    out = [p + (" " * rng.choice((1, 2)) if rng.random() < 0.33 else "") for p in parts[:-1]]
    return "  " + " ".join(out + parts[-1:]) + "  "


def line_breaks(text: str, rng: random.Random) -> str:
    """Line breaks where a sentence or line already ends: existing breaks doubled, '. '
    and ' // ' turned into new lines; a note with neither gets blank lines around it."""
    out = text.replace("\n", "\n\n").replace(". ", ".\n").replace(" // ", "\n")
    return out if out != text else "\n" + text + "\n\n"


_STATUS = (
    lambda r: f"{_unit(r)} ENRT {_time(r, True)}",
    lambda r: f"{_unit(r)} ONSCN {_time(r)}",
    lambda r: f"{_unit(r)} ASSGN {_time(r)} / ENRT {_time(r)} / CMPLT {_time(r)}",
    lambda r: f"Dispatch received by unit {_unit(r)}",
    lambda r: f"Successfully paged: {_unit(r)}, {_unit(r)}",
    lambda r: f"[{_time(r)}] {_unit(r)} AVAIL",
)


def status_line(text: str, rng: random.Random) -> str:
    """An appended unit-status line ('E12 ENRT 14:02:10', 'Dispatch received by unit B4')."""
    return _append_line(text, rng.choice(_STATUS)(rng))


_FOOTERS = (
    "CONFIDENTIALITY NOTICE: This e-mail message, including any attachments, is for the sole "
    "use of the intended recipient(s) and may contain confidential information. Any "
    "unauthorized review, use or distribution is prohibited.",
    "This message was sent from an unmonitored mailbox. Please do not reply to this e-mail.",
    "*** CAD PAGE ***",
    "******************** END OF MESSAGE ********************",
    "*** FOR OFFICIAL USE ONLY ***",
    "Sent from the county CAD paging system. Reply STOP to unsubscribe.",
)


def footer(text: str, rng: random.Random) -> str:
    """An appended e-mail confidentiality footer or ``***`` banner."""
    return _append_line(text, rng.choice(_FOOTERS))


_HEADERS = (
    lambda r: f"CALL # {r.randrange(2020, 2027)}-{r.randrange(1, 999999):06d}",
    lambda r: f"Call Date/Time: {r.randrange(1, 13):02d}/{r.randrange(1, 29):02d}/{r.randrange(2020, 2027)} "
              f"{_time(r, True)}",
    lambda r: f"INC {r.randrange(20, 27)}-{r.randrange(1, 999999):06d} // {_time(r)}",
    lambda r: f"CAD INCIDENT NUMBER: {r.randrange(10**7, 10**8)}",
)


def header(text: str, rng: random.Random) -> str:
    """A prepended neutral line: a call number or a date and time (never a call type)."""
    return rng.choice(_HEADERS)(rng) + "\n" + text


_KEYBOARD = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
#: each letter's left and right neighbours on a QWERTY row
_NEIGHBOURS = {c: row[max(0, i - 1):i] + row[i + 1:i + 2] for row in _KEYBOARD for i, c in enumerate(row)}


def _typo(word: str, rng: random.Random) -> str:
    """One keyboard slip inside a word (first letter kept): swap, drop, double or hit a
    neighbouring key; the case of the word is kept."""
    i = rng.randrange(1, len(word) - 1)
    op = rng.choice(("swap", "drop", "double", "near"))
    if op == "swap" and word[i].lower() != word[i + 1].lower():
        out = word[:i] + word[i + 1] + word[i] + word[i + 2:]
    elif op == "drop":
        out = word[:i] + word[i + 1:]
    elif op == "double":
        out = word[:i] + word[i] + word[i:]
    else:
        c = word[i]
        n = rng.choice(_NEIGHBOURS.get(c.lower(), c.lower()))
        out = word[:i] + (n.upper() if c.isupper() else n) + word[i + 1:]
    return out if out.lower() != word.lower() else word[:i] + word[i + 1:]


def typos(text: str, rng: random.Random) -> str:
    """One or two keyboard typos in ordinary words (see :func:`is_protected`); the note is
    unchanged when it has no such word."""
    spans = [m.span() for m in _WORD.finditer(text) if not is_protected(m.group())]
    if not spans:
        return text
    chosen = sorted(rng.sample(spans, min(len(spans), rng.choice((1, 2)))), reverse=True)
    for s, e in chosen:  # right to left: earlier spans stay valid
        text = text[:s] + _typo(text[s:e], rng) + text[e:]
    return text


def time_stamp(text: str, rng: random.Random) -> str:
    """A trailing '[23:14]' stamp."""
    return text.rstrip() + f" [{_time(rng)}]"


_WEAPONS = (
    "subj has a knife in hand.",
    "RP states there is a handgun in the car.",
    "male is holding a kitchen knife.",
    "pt has a gun in his waistband.",
    "RP advises subject armed with a machete.",
)
_DENIALS = ("denies SI.", "pt denies suicidal thoughts.", "subj denies any thoughts of suicide.",
            "per RP, denies SI/HI.")
_NO_WEAPONS = ("no weapons seen.", "no weapons.", "RP states no weapons in the home.")


def add_weapon(text: str, rng: random.Random) -> str:
    return _append_sentence(text, rng.choice(_WEAPONS))


def add_denial(text: str, rng: random.Random) -> str:
    return _append_sentence(text, rng.choice(_DENIALS))


def add_no_weapons(text: str, rng: random.Random) -> str:
    return _append_sentence(text, rng.choice(_NO_WEAPONS))


# -- expectations ---------------------------------------------------------------------

def _same(before: Any, after: Any) -> str | None:
    if set(before.categories) != set(after.categories):
        return "categories changed"
    if set(before.flags) != set(after.flags):
        return "flags changed"
    if before.response_mode != after.response_mode:
        return "response mode changed"
    return None


def _weapon_added(before: Any, after: Any) -> str | None:
    if "weapon" not in after.flags:
        return "weapon not added"
    if not set(before.categories) <= set(after.categories):
        return "category removed"
    return None


def _no_new_suicidal(before: Any, after: Any) -> str | None:
    return "suicidal added" if "suicidal" in after.categories else None


def _no_new_weapon(before: Any, after: Any) -> str | None:
    return "weapon added" if "weapon" in after.flags else None


@dataclass(frozen=True)
class Perturbation:
    """One check: how the text changes, what the result must do, and to which notes it
    applies (``applies(result_before)``; every note by default)."""

    name: str
    kind: str  # INV or DIR
    transform: Callable[[str, random.Random], str]
    expect: Callable[[Any, Any], str | None]  # None when the pair passes, else why it fails
    applies: Callable[[Any], bool] = lambda before: True
    description: str = ""

    def __call__(self, text: str, seed: int = 0) -> str:
        """The perturbed text: the same for the same text, kind and seed."""
        return self.transform(text, _rng(seed, self.name, text))


PERTURBATIONS: tuple[Perturbation, ...] = (
    Perturbation("upper_case", INV, upper_case, _same, description="the note in upper case"),
    Perturbation("lower_case", INV, lower_case, _same, description="the note in lower case"),
    Perturbation("extra_spaces", INV, extra_spaces, _same, description="doubled spaces"),
    Perturbation("line_breaks", INV, line_breaks, _same, description="line breaks at sentence ends"),
    Perturbation("status_line", INV, status_line, _same, description="appended unit-status line"),
    Perturbation("footer", INV, footer, _same, description="appended e-mail footer or *** banner"),
    Perturbation("header", INV, header, _same, description="prepended call number or date-time line"),
    Perturbation("typos", INV, typos, _same, description="1-2 typos in ordinary words"),
    Perturbation("time_stamp", INV, time_stamp, _same, description="trailing [hh:mm] stamp"),
    Perturbation("add_weapon", DIR, add_weapon, _weapon_added,
                 description="added weapon sentence: weapon on, no category lost"),
    Perturbation("add_denial", DIR, add_denial, _no_new_suicidal,
                 applies=lambda b: "suicidal" not in b.categories,
                 description="added 'denies SI': suicidal not added"),
    Perturbation("add_no_weapons", DIR, add_no_weapons, _no_new_weapon,
                 applies=lambda b: "weapon" not in b.flags,
                 description="added 'no weapons seen': weapon not added"),
)
BY_NAME = {p.name: p for p in PERTURBATIONS}


def get_perturbation(name: str) -> Perturbation:
    """The perturbation called ``name`` (see :data:`PERTURBATIONS`)."""
    if name not in BY_NAME:
        raise InputError(f"unknown behaviour check {name!r}; choose from {', '.join(BY_NAME)}.")
    return BY_NAME[name]


def perturb(text: str, name: str, *, seed: int = 0) -> str:
    """Apply the perturbation ``name`` to one note (for tests and training augmentation)."""
    return get_perturbation(name)(text, seed)


# -- running the checks ---------------------------------------------------------------

@dataclass
class CheckResult:
    """The outcome of one perturbation over a set of notes.

    ``n`` counts the notes the check ran on: the perturbation changed the text and (for
    directional checks) the note qualified; ``skipped`` the others.
    """

    name: str
    kind: str
    n: int = 0
    failures: int = 0
    skipped: int = 0
    failing_ids: list[str] = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)
    examples: list[dict[str, Any]] = field(default_factory=list)  # only with keep_text

    @property
    def failure_rate(self) -> float:
        return self.failures / self.n if self.n else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = {"name": self.name, "kind": self.kind, "n": self.n, "failures": self.failures,
             "failure_rate": round(self.failure_rate, 4), "skipped": self.skipped,
             "failing_ids": list(self.failing_ids), "reasons": dict(self.reasons)}
        if self.examples:
            d["examples"] = list(self.examples)
        return d


@dataclass
class BehaviourReport:
    """All checks of one run; no note text unless the run kept it on purpose."""

    checks: list[CheckResult]
    n_notes: int
    seed: int
    model_version: str = ""

    def _rate(self, kind: str) -> float:
        rows = [c for c in self.checks if c.kind == kind]
        n = sum(c.n for c in rows)
        return sum(c.failures for c in rows) / n if n else 0.0

    @property
    def invariance_failure_rate(self) -> float:
        """Failures / checks over every invariance kind together."""
        return self._rate(INV)

    @property
    def directional_failure_rate(self) -> float:
        return self._rate(DIR)

    def __getitem__(self, name: str) -> CheckResult:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {"model_version": self.model_version, "n_notes": self.n_notes, "seed": self.seed,
                "invariance_failure_rate": round(self.invariance_failure_rate, 4),
                "directional_failure_rate": round(self.directional_failure_rate, 4),
                "checks": [c.to_dict() for c in self.checks]}

    def format_table(self) -> str:
        """A Markdown table: one row per check, then the invariance total."""
        lines = ["| check | kind | notes | failures | rate | failing ids (first) |",
                 "| --- | --- | ---: | ---: | ---: | --- |"]
        for c in self.checks:
            ids = ", ".join(c.failing_ids[:3]) + (" ..." if c.failures > 3 else "")
            lines.append(f"| {c.name} | {c.kind} | {c.n} | {c.failures} | {c.failure_rate:.1%} | {ids} |")
        for kind, label in ((INV, "all invariance"), (DIR, "all directional")):
            rows = [c for c in self.checks if c.kind == kind]
            if rows:
                n, f = sum(c.n for c in rows), sum(c.failures for c in rows)
                lines.append(f"| **{label}** | {kind} | {n} | {f} | **{self._rate(kind):.1%}** | |")
        return "\n".join(lines)


def run_checks(model: Any, texts: Sequence[str], *, seed: int = 0, ids: Sequence[str] | None = None,
               checks: Iterable[str] | None = None, keep_text: bool = False,
               max_examples: int = MAX_EXAMPLES) -> BehaviourReport:
    """Run the behaviour checks of ``model`` over ``texts``.

    ``model`` needs ``classify_batch(texts, explain=False)`` (a :class:`CrisisModel`);
    ``ids`` names the notes in the report (their index by default); ``checks`` limits the
    run to some perturbations by name. Each check classifies the perturbed copies of all
    notes in one batch. ``keep_text=True`` keeps the text of the first failing pairs in
    ``examples`` (for error analysis on your own machine; off by default).
    """
    texts = list(texts)
    ids = [str(i) for i in (range(len(texts)) if ids is None else ids)]
    if len(ids) != len(texts):
        raise InputError(f"ids must name every note: {len(ids)} ids for {len(texts)} notes.")
    chosen = [get_perturbation(name) for name in checks] if checks is not None else list(PERTURBATIONS)
    before = model.classify_batch(texts, explain=False) if texts else []
    results = []
    for p in chosen:
        res = CheckResult(p.name, p.kind)
        todo = []
        for i, text in enumerate(texts):
            new = p(text, seed)
            if new == text or len(new) > _MAX_CHARS or not p.applies(before[i]):
                res.skipped += 1
            else:
                todo.append((i, new))
        after = model.classify_batch([t for _, t in todo], explain=False) if todo else []
        for (i, new), a in zip(todo, after):
            res.n += 1
            why = p.expect(before[i], a)
            if why is None:
                continue
            res.failures += 1
            res.reasons[why] += 1
            if len(res.failing_ids) < max_examples:
                res.failing_ids.append(ids[i])
                if keep_text:
                    res.examples.append({"id": ids[i], "reason": why, "text": texts[i], "perturbed": new})
        results.append(res)
    version = str(getattr(model, "version", "") or "")
    return BehaviourReport(results, len(texts), seed, version)

