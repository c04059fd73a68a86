"""Seeded, deterministic generator of synthetic call notes.

Phrases come from the banks in ``banks/`` (one author, voice and setting each); the way a
note is put together comes from one of the STYLES below (CAD shorthand, all caps,
timestamped updates, 988 transfer, clinician field note, ..., and the CAD-page styles:
a dispatch page, a pasted medical-protocol page, a pager text). Labels come from which
phrases were chosen, never from the text; the response mode from the default policy.
Every note records its ``style`` and ``bank``; ``family`` = ``style|bank``, so evaluation
can hold out whole styles and whole banks.

What a CAD system wraps around the words (call-type headers, protocol blocks, unit and
status lines, times, places, pages, footers, truncation) comes from ``wrapping/cad.json``
(shared/cad-genre.md). Status lines, footers, times and pages are drawn independently of
the labels; a header comes from the call kinds plausible for the note (30% of the time a
generic one, for any note). Who the person is (sex, a race/ethnicity descriptor, a name:
``wrapping/identity.json``) is drawn before and independently of the labels.

Long text must not read as a crisis for being long: about 8% of the notes are everyday
narratives with no crisis (complaints to a non-emergency line, diaries, community posts:
sentences from ``narratives/``, 2-30 of one writer's, style ``everyday_post``), about 3% put a
crisis note inside such a narrative, and about 4% join a note with the updates of
several ordinary calls of its own family (a long multi-update page); the last two keep
the labels, style and bank of the note they are made from and record ``augmented``
(``long_narrative`` / ``long_updates``) and ``augmented_from``.

A later update can take the first report back ("body hanging from a tree" -> a Halloween
dummy): about 1% of the notes are such *dispelled* reports (no label), those whose update
says so in words the context rules read ('unfounded', 'not an EDP'), and about 2% a real
crisis whose later update closes the call without undoing it (the labels of the crisis),
both from the report/update pairs in ``updates/`` (one writer a file), made after the main
draw with their own random stream. The context rules read an update that takes a report back
('unfounded', 'not an EDP', 'nobody in distress': the PRECEDING rules of
``context_rules.json``) as negating everything before it, so in a crisis note the generator
puts such a part (a hard negative of another call) before the crisis, never after it.

About 15% of the notes are augmented copies of the note before them (same labels, same
family): case, spacing, an appended status line or footer, or typos in ordinary words;
they record ``augmented`` (the kind) and ``augmented_from`` (the source id). A note also
records ``call_type`` (the call kind of its header, or null) and ``identity`` (sex, and the
race and name origin when the text shows them).

    python training_data_synthetic/generate.py            # writes notes.jsonl.gz
    python training_data_synthetic/generate.py --n 2000 --out /tmp/x.jsonl.gz --seed 7
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
try:
    import crisis_nlp  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(HERE.parent))

from crisis_nlp.labels import CATEGORIES, CUES  # noqa: E402
from crisis_nlp.model.policy import ResponsePolicy  # noqa: E402

DEFAULT_N = 40000
DEFAULT_SEED = 20261126
#: style -> weight of drawing it; the CAD-page styles are the shape most real notes arrive in
STYLE_WEIGHTS = {
    "cad_terse": 1.0, "cad_caps": 1.0, "timestamped": 1.0, "narrative": 1.0, "quote_heavy": 1.0,
    "transfer_988": 1.0, "clinician_field": 1.0, "relay_text": 1.0, "officer_update": 1.0,
    "checklist": 1.0, "texting_lower": 1.0, "qa_protocol": 1.0,
    "cad_page": 2.0, "protocol_page": 2.0, "pager_text": 2.0,
}
STYLES = tuple(STYLE_WEIGHTS)
CAD_STYLES = ("cad_page", "protocol_page", "pager_text")
#: chance that an ordinary call carries a crisis header (the narrative says otherwise)
CRISIS_HEADER_ON_ORDINARY = 0.1
#: chance that a note carries a line on how the caller sounds or what they can see ("RP
#: whispering", "several people on scene", "RP thinks it is the blue house"), drawn for any
#: note: the words of psychosis phrases (whispering, talking, telling, people, thinks) in
#: their everyday sense, so that none decides a label (stop 26: the learner had tied
#: "whispering" to psychosis: 121 of the 202 notes with it were psychosis notes)
CALLER_CONTEXT_P = 0.1
#: chance that a note of the style carries a call-type header
HEADER_P = {"cad_page": 0.85, "protocol_page": 0.7, "pager_text": 0.9, "cad_terse": 0.35, "cad_caps": 0.35,
            "timestamped": 0.25, "officer_update": 0.2}
HEADER_P_OTHER = 0.1
NON_BH_SHARE = 0.56  # of drawn notes; dedup leaves the written share a little different
AUGMENT_P = 0.18  # chance that a note is followed by an augmented copy: ~15% of all notes
EVERYDAY_STYLE = "everyday_post"  # the style of the everyday narratives
LONG_KINDS = ("long_narrative", "long_updates")
NARRATIVE_SHARE = 0.08  # everyday narratives, no crisis (the long-text negatives)
LONG_NARRATIVE_SHARE = 0.03  # a note inside an everyday narrative
LONG_UPDATES_SHARE = 0.04  # a note joined with several ordinary calls of its family
AUGMENTATIONS = ("upper", "lower", "spacing", "status_line", "footer", "typos")
DISPELLED_SHARE = 0.012  # reports that a later update takes back in words the context rules read: no label
RESOLVED_SHARE = 0.02  # real crises that a later update closes: the crisis's labels
UPDATES_SEED_OFFSET = 7919  # the pairs' own random stream: the main draw stays as it was
CATEGORY_WEIGHTS = {"suicidal": 2.5, "psychosis": 2.0}
DESCRIPTOR_P = 0.25  # notes that describe the person's race/ethnicity
NAME_P = 0.2  # notes that carry a name
PRONOUNS = {
    "m": {"{he}": "he", "{his}": "his", "{him}": "him", "{himself}": "himself", "{He}": "He", "{His}": "His"},
    "f": {"{he}": "she", "{his}": "her", "{him}": "her", "{himself}": "herself", "{He}": "She", "{His}": "Her"},
}
# expansion -> abbreviation, for styles that write shorthand (inverse of the preprocessing table)
ABBREVIATIONS = [
    ("reporting party", "RP"), ("subject", "subj"), ("patient", "pt"), ("suicidal ideation", "SI"),
    ("homicidal ideation", "HI"), ("alcohol", "ETOH"), ("overdose", "OD"), ("history", "hx"),
    ("without", "w/o"), ("with", "w/"), ("complaining of", "c/o"), ("unknown", "unk"),
    ("negative", "neg"), ("year old", "yo"), ("years old", "yo"), ("apartment", "apt"),
    ("vehicle", "veh"), ("residence", "res"), ("approximately", "approx"), ("medications", "meds"),
    ("because", "b/c"), ("about", "abt"), ("veteran", "vet"), ("officer", "ofc"),
    ("advises", "adv"), ("requests", "req"), ("unresponsive", "unresp"), ("mental health", "MH"),
]
TYPO_KEYS = "qwertyuiopasdfghjklzxcvbnm"
# race/ethnicity words in a bank's ways of naming the person: those entries are not used,
# so that a descriptor appears only where the independent identity draw puts one
PLACEHOLDER_RX = re.compile(r"\{\w+\}")
RACE_RX = re.compile(r"\b(?:(?:[WBHAIN]|ME)/[MF]|hispanic|latin[oa]|black|white|asian|caucasian|african|arab|native|middle eastern)\b", re.I)
INGESTION_RX = re.compile(r"pill|overdos|\bOD\b|ingest|swallow|tablet|narcan|bottle of|took (?:all|\d+|a handful)", re.I)
FLAG_IDS = ("weapon", "violence", "medical")


# -- data ---------------------------------------------------------------------------------

def load_banks(folder: Path = HERE / "banks") -> list[dict]:
    banks = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]
    if not banks:
        raise SystemExit(f"no phrase banks in {folder}")
    return banks


def load_narratives(folder: Path = HERE / "narratives") -> list[dict]:
    """Everyday narrative sentences, one file a writer: ``{"source", "style", "sentences"}``."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


def load_wrapping(folder: Path = HERE / "wrapping") -> dict:
    """The CAD wrapping and identity tables (not phrase banks), with the kind matchers compiled."""
    cad = json.loads((folder / "cad.json").read_text(encoding="utf-8"))
    identity = json.loads((folder / "identity.json").read_text(encoding="utf-8"))
    # a match pattern starts at a word boundary ("river" must not match "driver")
    matchers = [(k, re.compile(r"\b(?:" + "|".join(v["match"]) + ")", re.I)) for k, v in cad["kinds"].items() if v.get("match")]
    return {"cad": cad, "identity": identity, "matchers": matchers}


def load_updates(folder: Path = HERE / "updates") -> list[dict]:
    """Report/update pairs, one file a writer: ``{"source", "style", "dispelled", "resolved"}``."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


def dispel_regex(folder: Path = HERE / "wrapping") -> re.Pattern:
    """The take-back literals (``wrapping/takebacks.json``: a frozen copy of the package's
    PRECEDING context rules, so that a rule edit cannot silently change the notes)."""
    lits = sorted(json.loads((folder / "takebacks.json").read_text(encoding="utf-8"))["literals"], key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(x) for x in lits) + r")(?![\w-])", re.I)


DISPEL_RX = dispel_regex()


def source_digest(banks_dir: Path = HERE / "banks", wrapping_dir: Path = HERE / "wrapping",
                  narratives_dir: Path = HERE / "narratives", updates_dir: Path = HERE / "updates") -> str:
    """sha256 over what the notes are made from: this script, the banks, the wrapping, the
    narratives and the update pairs."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    for p in (sorted(banks_dir.glob("*.json")) + sorted(wrapping_dir.glob("*.json"))
              + sorted(narratives_dir.glob("*.json")) + sorted(updates_dir.glob("*.json"))):
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def entry(e) -> tuple[str, list[str]]:
    """A bank entry as (text, labels it also establishes)."""
    if isinstance(e, str):
        return e, []
    return e["text"], list(e.get("also", []))


def pick(rng: random.Random, seq):
    return seq[rng.randrange(len(seq))]


@dataclass
class Identity:
    """Who the person is, drawn before the labels and without looking at them."""

    sex: str  # "m" / "f"
    race: str  # always drawn; shown only when ``descriptor`` is set
    descriptor: str | None  # the sentence part that says it ("subj B/F 30s")
    name_origin: str
    name: str | None  # the sentence part that says it ("RP name is ...")

    def record(self) -> dict:
        return {"sex": self.sex, "race": self.race if self.descriptor else None,
                "name_origin": self.name_origin if self.name else None}


def draw_identity(rng: random.Random, W: dict) -> Identity:
    idt = W["identity"]
    sex = pick(rng, "mf")
    race = pick(rng, sorted(idt["races"]))
    origin = pick(rng, sorted(idt["last_names"]))
    show_desc, show_name = rng.random() < DESCRIPTOR_P, rng.random() < NAME_P
    r = idt["races"][race]
    age = pick(rng, idt["ages"])
    desc = pick(rng, idt["descriptor_forms"]).format(
        code=pick(rng, r["codes"]), sx=pick(rng, idt["sex_codes"][sex]), word=pick(rng, r["words"]),
        sexword=pick(rng, idt["sex_words"][sex]), age=age)
    first = pick(rng, idt["first_names"][sex][origin])
    last = pick(rng, idt["last_names"][origin])
    name = pick(rng, idt["name_placements"]).format(
        name=f"{first} {last}", NAME=f"{first} {last}".upper(), FIRST=first.upper(), LAST=last.upper(), age=age)
    return Identity(sex, race, pick(rng, idt["descriptor_placements"]).format(d=desc) if show_desc else None,
                    origin, name if show_name else None)


class NoteBuilder:
    """Collects the parts of one note and the labels they establish."""

    def __init__(self, rng: random.Random, bank: dict, gender: str) -> None:
        self.rng, self.bank, self.gender = rng, bank, gender
        self.parts: list[tuple[str, str]] = []  # (kind, text): kind in content/quote/cue/filler/negation
        self.categories: set[str] = set()
        self.flags: set[str] = set()
        self.cues: set[str] = set()
        self.kind: str | None = None  # the call kind of an ordinary call
        self.force_kinds: list[str] | None = None  # a header that must be shown, from these kinds
        self.header = ""  # the call-type header as written ("" when the note has none)
        self.header_kind: str | None = None
        self.intro = True  # False: the content says who calls (a report of an update pair)

    def fill(self, text: str) -> str:
        # an ALL-CAPS entry (b10's call-takers type in capitals) gets ALL-CAPS pronouns
        words = PLACEHOLDER_RX.sub("", text)
        shout = any(ch.isupper() for ch in words) and not any(ch.islower() for ch in words)
        for k, v in PRONOUNS[self.gender].items():
            text = text.replace(k, v.upper() if shout else v)
        return text

    def add(self, kind: str, e, label: str | None = None) -> None:
        text, also = entry(e)
        for lab in ([label] if label else []) + also:
            (self.categories if lab in CATEGORIES else self.flags).add(lab)
        self.parts.append((kind, self.fill(text)))

    def label_text(self) -> str:
        return " ".join(t for k, t in self.parts if k in ("content", "quote"))


# -- labels ---------------------------------------------------------------------------------

def sample_bh(rng: random.Random, b: NoteBuilder, W: dict) -> None:
    ph = b.bank["phrases"]
    cues = b.bank["cues"]
    # archetype "talk": the person calls for themself, safe, wanting to talk or find help
    talk = rng.random() < 0.2
    n_cats = rng.choices((1, 2, 3), weights=(45, 35, 20))[0]
    # a bank without a section for a category (psychosis, before the banks have one) gives no such notes
    pool = [c for c in CATEGORIES if c in ph and c != "veteran" and not (talk and c in ("suicidal", "self_harm"))]
    weights = [CATEGORY_WEIGHTS.get(c, 1.0) for c in pool]
    chosen: list[str] = []
    while len(chosen) < min(n_cats, len(pool)):
        c = rng.choices(pool, weights=weights)[0]
        if c not in chosen:
            chosen.append(c)
    if "psychosis" in chosen and "substance_use" in pool and "substance_use" not in chosen and rng.random() < 0.25:
        chosen.append("substance_use")  # drug-induced psychosis
    # the agency's code alone (EDP, 10-96, PSYCH) with nothing more specific is psychosis (taxonomy 1.1)
    code_only = chosen == ["psychosis"] and not talk and rng.random() < 0.2
    if rng.random() < 0.15 and "veteran" in ph and not code_only:  # veteran status only ever accompanies another category
        chosen.append("veteran")
    for c in chosen:
        if code_only:
            b.categories.add(c)
            b.force_kinds = list(W["cad"]["psych_code_kinds"])
            continue
        lists = ph[c]
        if lists.get("quotes") and rng.random() < 0.3:
            b.add("quote", pick(rng, lists["quotes"]), c)
        else:
            b.add("content", pick(rng, lists["pos"]), c)
        if rng.random() < 0.15:  # a second wording of the same label
            b.add("content", pick(rng, lists["pos"]), c)
    if talk:
        b.cues.add("caller_is_person")
        if rng.random() < 0.85:
            b.add("cue", pick(rng, cues["wants_to_talk"]))
            b.cues.add("wants_to_talk")
        if rng.random() < 0.6:
            b.add("cue", pick(rng, cues["safe"]))
        add_negations(rng, b, rng.choices((0, 1, 2), weights=(35, 40, 25))[0])
        return
    psych = "psychosis" in b.categories
    r = rng.random()
    if r < (0.16 if psych else 0.14):
        b.add("content", pick(rng, ph["weapon"]["self"]), "weapon")
    elif r < (0.25 if psych else 0.19):
        b.add("content", pick(rng, ph["weapon"]["against_others"]), "weapon")
        b.cues.add("weapon_against_others")
        b.flags.add("violence")
    r = rng.random()
    if r < 0.06:
        b.add("content", pick(rng, ph["violence"]["act"]), "violence")
        b.cues.add("violence_in_progress")
    elif r < (0.17 if psych else 0.14):
        b.add("content", pick(rng, ph["violence"]["threat"]), "violence")
    if rng.random() < 0.12:
        b.add("content", pick(rng, ph["medical"]["pos"]), "medical")
    if "suicidal" in b.categories and rng.random() < 0.25:
        b.add("cue", pick(rng, cues["public_place"]))
        b.cues.add("public_place")
    elif rng.random() < 0.3:
        b.add("cue", pick(rng, cues["private_place"]))
    if rng.random() < (0.35 if psych else 0.12):
        b.add("cue", pick(rng, cues["agitated"]))
        b.cues.add("agitated_unknown_safety")
    if rng.random() < (0.2 if psych else 0.10):
        b.add("cue", pick(rng, cues["confused_unsafe"]))
        b.cues.add("confused_unsafe")
    if code_only and not any(k in ("content", "quote", "cue") for k, _ in b.parts):
        b.add("cue", pick(rng, cues["private_place"]))
    if "agitated_unknown_safety" not in b.cues and rng.random() < 0.25:
        b.cues.add("caller_is_person")
        if rng.random() < 0.4:
            b.add("cue", pick(rng, cues["wants_to_talk"]))
            b.cues.add("wants_to_talk")
    add_negations(rng, b, rng.choices((0, 1, 2), weights=(45, 35, 20))[0])
    if rng.random() < 0.12:
        add_hard_negative(rng, b)


def _other_labels(b: NoteBuilder) -> list[str]:
    ph = b.bank["phrases"]
    present = b.categories | b.flags
    return [lab for lab in list(CATEGORIES) + list(FLAG_IDS) if lab not in present and lab in ph]


def add_negations(rng: random.Random, b: NoteBuilder, k: int) -> None:
    ph = b.bank["phrases"]
    options = [lab for lab in _other_labels(b) if ph[lab].get("neg")]
    # denials of the high-risk labels are what call-takers write most
    weights = [4.0 if lab in ("suicidal", "weapon", "violence", "self_harm", "medical") else 1.0 for lab in options]
    for _ in range(k if options else 0):
        lab = rng.choices(options, weights=weights)[0]
        b.add("negation", pick(rng, ph[lab]["neg"]))


def add_hard_negative(rng: random.Random, b: NoteBuilder) -> None:
    ph = b.bank["phrases"]
    options = [lab for lab in _other_labels(b) if ph[lab].get("hard_neg")]
    if options:
        b.add("content", pick(rng, ph[pick(rng, options)]["hard_neg"]))


def sample_non_bh(rng: random.Random, b: NoteBuilder, W: dict) -> None:
    ph = b.bank["phrases"]
    r = rng.random()
    if r < 0.5:  # an ordinary call written by the bank's author
        inc = pick(rng, b.bank["non_bh"])
        b.parts.append(("content", b.fill(inc["text"])))
        b.flags.update(inc.get("flags", []))
        if inc.get("kind") in W["cad"]["kinds"]:
            b.kind = inc["kind"]
        if rng.random() < 0.25:
            add_hard_negative(rng, b)
    elif r < 0.65:  # an ordinary call in the CAD system's own words (alarm zones, callbacks, ...)
        incidents = W["cad"]["incidents"]
        b.kind = pick(rng, sorted(incidents))
        inc = pick(rng, incidents[b.kind])
        b.parts.append(("content", inc["text"]))
        b.flags.update(inc.get("flags", []))
    elif r < 0.87:
        add_hard_negative(rng, b)
        if rng.random() < 0.4:
            add_hard_negative(rng, b)
    else:  # flags without any crisis category
        kind = rng.choice(("weapon_against", "violence_act", "violence_threat", "medical"))
        if kind == "weapon_against":
            b.add("content", pick(rng, ph["weapon"]["against_others"]), "weapon")
            b.flags.add("violence")
            b.cues.add("weapon_against_others")
        elif kind == "violence_act":
            b.add("content", pick(rng, ph["violence"]["act"]), "violence")
            b.cues.add("violence_in_progress")
        elif kind == "violence_threat":
            b.add("content", pick(rng, ph["violence"]["threat"]), "violence")
        else:
            b.add("content", pick(rng, ph["medical"]["pos"]), "medical")
    if "violence" in b.flags and "weapon_against_others" not in b.cues and rng.random() < 0.5:
        b.cues.add("violence_in_progress")
    add_negations(rng, b, rng.choices((0, 1, 2), weights=(50, 35, 15))[0])


def infer_kind(W: dict, text: str, flags: set[str]) -> str | None:
    """The call kind of an ordinary call from its words (first matching kind in wrapping order)."""
    for kind, rx in W["matchers"]:
        if rx.search(text):
            return kind
    for flag, kind in (("weapon", "weapon"), ("violence", "assault"), ("medical", "unknown")):
        if flag in flags:
            return kind
    return None


def overdose_like(b: NoteBuilder) -> bool:
    return "medical" in b.flags and ("substance_use" in b.categories or bool(INGESTION_RX.search(b.label_text())))


def choose_kind(rng: random.Random, b: NoteBuilder, W: dict) -> str:
    """The call kind whose header the note carries: one plausible for it, or a generic one."""
    cad = W["cad"]
    if b.force_kinds:
        return pick(rng, b.force_kinds)
    if rng.random() < 0.3:
        return pick(rng, cad["generic_kinds"])
    if b.categories:
        opts: list[str] = []
        for c in CATEGORIES:
            if c in b.categories:
                opts += cad["category_kinds"].get(c, [])
        for f in FLAG_IDS:
            if f in b.flags:
                opts += cad["flag_kinds"][f]
        if overdose_like(b):
            opts += ["overdose"] * 3
        return pick(rng, opts + cad["crisis_kinds"])
    if rng.random() < CRISIS_HEADER_ON_ORDINARY:
        # dispatched as a crisis, and the narrative says what it really was ("EDP" that
        # turned out to be low blood sugar): a header alone never decides a label
        return pick(rng, ["psych", "edp", "suicide", "overdose", "intox"])
    kind = b.kind or infer_kind(W, b.label_text(), b.flags)
    return kind or pick(rng, cad["generic_kinds"])


def choose_protocol(rng: random.Random, b: NoteBuilder, kind: str, W: dict) -> str | None:
    """The medical-protocol number of a pasted protocol block (25/23 for crises), or None."""
    cad = W["cad"]
    if rng.random() < 0.1:  # the call-taker went down another protocol
        return pick(rng, cad["non_crisis_protocols"])
    if b.categories:
        if overdose_like(b) and rng.random() < 0.7:
            return "23"
        own = cad["kinds"][kind]["protocols"]
        return pick(rng, own) if own and rng.random() < 0.25 else "25"
    own = cad["kinds"][b.kind or infer_kind(W, b.label_text(), b.flags) or kind]["protocols"]  # not the generic header's
    if own:
        return pick(rng, own)
    return pick(rng, ["26", "32"]) if rng.random() < 0.15 else None


# -- wrapping ---------------------------------------------------------------------------------

def clock(minute: int, seconds: bool = False, sep: str = ":") -> str:
    h, m = divmod(minute % 1440, 60)
    return f"{h:02d}{sep}{m:02d}" + (f":{(minute * 37) % 60:02d}" if seconds else "")


def unit_id(rng: random.Random, W: dict) -> str:
    units = W["cad"]["units"]
    kind = pick(rng, sorted(units))
    prefix = pick(rng, units[kind])
    if kind == "police" and not prefix:
        return f"{rng.randint(1, 9)}{pick(rng, 'ABCDKL')}{rng.randint(10, 99)}"
    return f"{prefix}{rng.randint(1, 40)}"


def status_line(rng: random.Random, W: dict, t: int) -> str:
    cad = W["cad"]
    r = rng.random()
    u = unit_id(rng, W)
    if r < 0.45:
        return f"{u} {pick(rng, cad['statuses'])} {clock(t, seconds=rng.random() < 0.6)}"
    if r < 0.6:
        return f"{u} {pick(rng, cad['statuses'])}"
    if r < 0.8:
        steps = ["ASSGN", "ENRT", "ONSCN", "CMPLT"][: rng.randint(2, 4)]
        if rng.random() < 0.5:
            return " / ".join(steps) + " " + " / ".join(clock(t + 3 * i) for i in range(len(steps)))
        return " ".join(f"{s} {clock(t + 3 * i)}" for i, s in enumerate(steps))
    return pick(rng, cad["status_phrases"]).format(u=u, t=clock(t))


def paged_line(rng: random.Random, W: dict) -> str:
    cad = W["cad"]
    who = [unit_id(rng, W) for _ in range(rng.randint(1, 4))] + rng.sample(cad["paged_groups"], rng.randint(0, 2))
    return f"{pick(rng, cad['paged_intros'])} {', '.join(who)}"


def call_time_line(rng: random.Random, W: dict, t: int) -> str:
    date = f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(2019, 2026)}"
    return pick(rng, W["cad"]["call_time_forms"]).format(date=date, time=clock(t, seconds=True), hhmm=clock(t, sep=""))


def _street(rng: random.Random, cad: dict) -> tuple[str, str]:
    return pick(rng, cad["streets"]).upper(), pick(rng, cad["street_suffixes"])


def location_line(rng: random.Random, W: dict) -> str:
    cad = W["cad"]
    (st, sfx), (st2, sfx2) = _street(rng, cad), _street(rng, cad)
    return pick(rng, cad["location_forms"]).format(
        num=rng.randint(100, 9899), st=st, sfx=sfx, st2=st2, sfx2=sfx2, apt=rng.randint(1, 40),
        mm=rng.randint(1, 180), i=pick(rng, ["80", "95", "35", "10", "70"]), dir=pick(rng, "NSEW"),
        biz=pick(rng, cad["businesses"]))


def cross_line(rng: random.Random, W: dict) -> str:
    cad = W["cad"]
    (st, sfx), (st2, sfx2) = _street(rng, cad), _street(rng, cad)
    return pick(rng, cad["cross_forms"]).format(st=st, sfx=sfx, st2=st2, sfx2=sfx2)


def geo_line(rng: random.Random, W: dict) -> str:
    return pick(rng, W["cad"]["geo_forms"]).format(
        lat=f"{rng.uniform(30, 47):.6f}", lon=f"{-rng.uniform(75, 120):.6f}", map=f"{rng.randint(1, 99)}-{pick(rng, 'ABCDEF')}",
        beat=rng.randint(1, 30), zone=rng.randint(1, 9))


def callback_line(rng: random.Random, W: dict) -> str:
    ph = pick(rng, [f"{rng.randint(201, 989)}-555-01{rng.randint(0, 99):02d}", f"555-01{rng.randint(0, 99):02d}",
                    f"({rng.randint(201, 989)}) 555-01{rng.randint(0, 99):02d}"])
    return pick(rng, W["cad"]["callback_forms"]).format(ph=ph)


def header_line(rng: random.Random, W: dict, kind: str) -> str:
    cad = W["cad"]
    return pick(rng, cad["header_forms"]).format(h=pick(rng, cad["kinds"][kind]["headers"]), p=rng.randint(1, 4))


def protocol_block(rng: random.Random, b: NoteBuilder, W: dict, proto: str) -> list[str]:
    """Lines of a pasted emergency-medical-dispatch protocol (Chief Complaint, code, patient)."""
    cad = W["cad"]
    p = cad["protocols"][proto]
    content = [t for k, t in b.parts if k == "content"]
    quotes = [t for k, t in b.parts if k == "quote"]
    problem = pick(rng, p["problems"])
    if content and rng.random() < 0.4:
        problem = content[0]
    if quotes and rng.random() < 0.6:
        statement = quotes[0]
    elif [c for c in content if c != problem] and rng.random() < 0.5:
        statement = pick(rng, [c for c in content if c != problem])
    else:
        statement = pick(rng, cad["caller_statements_generic"])
    status = pick(rng, cad["patient_status"]["any" if "medical" in b.flags else "ok"])
    age = rng.randint(14, 92)
    sex = "Male" if b.gender == "m" else "Female"
    code = pick(rng, p["codes"])
    lines = [f"Chief Complaint: {pick(rng, p['names'])}",
             pick(rng, [f"Dispatch CAD Code: {code}", f"Determinant: {code}", f"Dispatch Code: {code}", f"EMD Code: {code}"]),
             f"Problem: {problem}"]
    if rng.random() < 0.8:
        lines.append(f"Patient Number: {1 if rng.random() < 0.9 else 2}")
    lines.append(pick(rng, [f"{age}-year-old, {sex}, {status}", f"{age} year old {sex.lower()}, {status.lower()}"]))
    if rng.random() < 0.75:
        lines.append(f"Caller Statement: {statement.upper() if rng.random() < 0.6 else statement}")
    return lines


def truncate(rng: random.Random, text: str, keep: int) -> str:
    """Cut a page mid-word somewhere after the first ``keep`` characters (the part that holds the labels)."""
    if len(text) - keep < 12:
        return text
    return text[: rng.randint(keep + 5, len(text) - 3)]


# -- rendering ---------------------------------------------------------------------------

def abbreviate(rng: random.Random, text: str, p: float) -> str:
    for long, short in ABBREVIATIONS:
        if long in text and rng.random() < p:
            text = re.sub(rf"\b{re.escape(long)}\b", short, text)
    return text


def typo_word(rng: random.Random, w: str) -> str:
    j = rng.randrange(1, len(w) - 1)
    op = rng.randrange(4)
    if op == 0:
        return w[:j] + w[j + 1:]
    if op == 1:
        return w[:j] + w[j] + w[j:]
    if op == 2:
        return w[:j - 1] + w[j] + w[j - 1] + w[j + 1:]
    return w[:j] + rng.choice(TYPO_KEYS) + w[j + 1:]


def typos(rng: random.Random, text: str, rate: float) -> str:
    words = text.split(" ")
    for i, w in enumerate(words):
        if len(w) > 3 and w.isalpha() and rng.random() < rate:
            words[i] = typo_word(rng, w)
    return " ".join(words)


def fake_pii(rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return f"cb {rng.randint(200, 989)}-555-{rng.randint(100, 199):04d}"
    if kind == 1:
        return f"{rng.randint(100, 9899)} {pick(rng, ['Elm', 'Oak', 'Cedar', 'Fairview', 'Mill', 'Station', 'Lakeview'])} {pick(rng, ['St', 'Ave', 'Rd', 'Dr', 'Ln'])}"
    if kind == 2:
        return f"DOB {rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(1940, 2010)}"
    if kind == 3:
        return f"case# {rng.randint(2019, 2026)}-{rng.randint(10000, 99999)}"
    return f"plate {rng.choice('ABCDEFGHJK')}{rng.choice('LMNPRSTUVW')}{rng.choice('XYZABC')}{rng.randint(1000, 9999)}"


def person_phrase(rng: random.Random, b: NoteBuilder, caller_is_person: bool) -> tuple[str, str]:
    """(how the note refers to the person, who called)."""
    persons = b.bank["persons"]["m" if b.gender == "m" else "f"] if "m" in b.bank["persons"] else None
    persons = persons or b.bank["persons"]["male" if b.gender == "m" else "female"]
    persons = [p for p in persons if not RACE_RX.search(p)] or ["subj"]
    if caller_is_person:
        who = pick(rng, ["caller", "RP", "the caller", "pt", "subj", "caller herself" if b.gender == "f" else "caller himself",
                         "female caller" if b.gender == "f" else "male caller", "texter"])
        return who, "self"
    return b.fill(pick(rng, persons)), b.fill(pick(rng, b.bank["reporters"]))


def render(rng: random.Random, style: str, b: NoteBuilder, W: dict, ident: Identity) -> str:
    self_call = "caller_is_person" in b.cues
    person, reporter = person_phrase(rng, b, self_call)
    he = PRONOUNS[b.gender]["{he}"]
    body = [t for k, t in b.parts if k not in ("quote",)]
    quotes = [t for k, t in b.parts if k == "quote"]
    rng.shuffle(body)
    crisis = bool(b.categories or b.flags)
    if crisis:  # a part that takes a report back goes before the crisis, never after it
        body.sort(key=lambda t: not DISPEL_RX.search(t))
    fill = b.bank.get("filler", [])
    extra = [b.fill(f) for f in rng.sample(fill, rng.choices((0, 1, 2), weights=(50, 35, 15))[0])] if fill else []
    if rng.random() < 0.15:
        extra.append(fake_pii(rng))
    if rng.random() < CALLER_CONTEXT_P:
        extra.append(pick(rng, W["cad"]["caller_context"]))
    extra += [s for s in (ident.descriptor, ident.name) if s]
    rng.shuffle(extra)
    if crisis:
        extra = [e for e in extra if not DISPEL_RX.search(e)]
    qsay = [f'{he} said "{q}"' if not self_call else f'"{q}"' for q in quotes]
    kind = choose_kind(rng, b, W)
    show_header = bool(b.force_kinds) or rng.random() < HEADER_P.get(style, HEADER_P_OTHER)
    b.header = header_line(rng, W, kind) if show_header else ""
    b.header_kind = kind if show_header else None
    t0 = rng.randrange(1440)

    def who_intro() -> str:
        if not b.intro:
            return ""
        if self_call:
            return pick(rng, [f"{person} states", f"{person} reports", f"{person} calling for self,", f"{person}:", f"{person} says"])
        return pick(rng, [f"RP ({reporter}) states {person}", f"{reporter} calling re {person},", f"RP is {reporter}, reports {person}",
                          f"{reporter} reports {person}", f"{person} per {reporter}:", f"3rd party call from {reporter} abt {person}:"])

    if style in CAD_STYLES:
        return render_cad(rng, style, b, W, kind, t0, who_intro, body, qsay, extra)
    if style in ("cad_terse", "cad_caps"):
        segs = [who_intro() + " " + ", ".join(body[:2])] + body[2:] + qsay + extra
        text = "; ".join(s for s in segs if s)
        text = abbreviate(rng, text, 0.8)
    elif style == "timestamped":
        h, m = divmod(t0, 60)
        lines, segs = [], [who_intro() + " " + (body[0] if body else "")] + body[1:] + qsay + extra
        for s in segs:
            lines.append(f"{h:02d}:{m:02d} {s}")
            m += rng.randint(1, 4)
            if m > 59:
                h, m = (h + 1) % 24, m - 60
        if rng.random() < 0.5:
            lines.append(f"{h:02d}:{m:02d} " + pick(rng, ["units advised", "unit enrt", "CIT notified", "EMS staged", "MCT paged", "2 units enroute"]))
        text = "\n".join(lines)
    elif style == "narrative":
        sents = [f"{who_intro()} {body[0]}." if body else who_intro() + "."]
        sents += [s[0].upper() + s[1:] + "." for s in body[1:] if s]
        sents += [f'{he.capitalize()} told {"the caller" if not self_call else "me"} "{q}".' for q in quotes]
        sents += [e + "." for e in extra]
        text = " ".join(sents)
    elif style == "quote_heavy":
        intro = who_intro()
        # this style writes the quotes first: a part that takes a report back goes before them
        first = [t for t in body if crisis and quotes and DISPEL_RX.search(t)]
        body = [t for t in body if t not in first]
        qs = [f'"{q}"' for q in quotes] or [f'"{body[0]}"' if body else '""']
        text = (f"{intro} {'; '.join(first) + '; ' if first else ''}{' '.join(qs)} - "
                + ", ".join(body[1:] if not quotes else body) + ("; " + "; ".join(extra) if extra else ""))
    elif style == "transfer_988":
        age = rng.randint(13, 88)
        sex = "F" if b.gender == "f" else "M"
        hdr = pick(rng, ["988 warm transfer:", "988 TRANSFER -", "Lifeline transfer:", "988 chat escalation:", "Crisis line handoff:"])
        who = f"caller is {age}yo {sex}" if self_call else f"3rd party caller ({reporter}) concerned abt {person}, {age}yo {sex}"
        text = f"{hdr} {who}. " + ". ".join(body) + ". " + " ".join(f'Quote: "{q}".' for q in quotes)
        if extra:
            text += " " + ". ".join(extra) + "."
        text += " " + pick(rng, ["Requesting dispatch assessment.", "Counselor remains on line.", "Transferring for eval.", ""])
    elif style == "clinician_field":
        hdr = pick(rng, ["MCT note:", "Co-responder note:", "Clinician on scene:", "BH clinician:", "Field assessment -"])
        text = f"{hdr} {person} " + ". ".join(body) + ". " + " ".join(f'Pt states "{q}".' for q in quotes) + (" " + ". ".join(extra) if extra else "")
        text = abbreviate(rng, text, 0.5)
    elif style == "relay_text":
        frm = reporter if not self_call else "friend"
        first = [t for t in body if crisis and DISPEL_RX.search(t)]  # before the quotes, as above
        text = f"{frm} relaying texts from {person if not self_call else 'caller'}: " + " / ".join(
            first + [f'"{q}"' for q in quotes] + [t for t in body if t not in first] + extra)
    elif style == "officer_update":
        unit = f"{rng.randint(1, 9)}{pick(rng, ['A', 'B', 'C', 'D', 'L', 'K'])}{rng.randint(10, 99)}"
        text = f"UPDATE FROM {unit}: {person} " + ", ".join(body) + (". " + ". ".join(f'subj stated "{q}"' for q in quotes) if quotes else "") + (". " + ", ".join(extra) if extra else "")
        text = abbreviate(rng, text, 0.6)
    elif style == "checklist":
        items = [f"- {s}" for s in body] + [f'- quote: "{q}"' for q in quotes] + [f"- {e}" for e in extra]
        text = f"{who_intro()}\n" + "\n".join(items)
    elif style == "texting_lower":
        text = " ".join([who_intro()] + body + [f"said {q}" for q in quotes] + extra).lower()
        text = re.sub(r"[.;,]", "", text)
        text = typos(rng, text, 0.06)
    elif style == "qa_protocol":
        qa = [f"Q: what's going on? A: {body[0] if body else 'unk'}"]
        qa += [f"Q: anything else? A: {s}" for s in body[1:]]
        qa += [f'Q: what did {he} say? A: "{q}"' for q in quotes]
        qa += [f"Note: {e}" for e in extra]
        text = f"Caller: {'the person' if self_call else reporter}. Pt: {person}. " + " ".join(qa)
    else:
        raise ValueError(style)
    if style not in ("texting_lower",) and rng.random() < 0.25:
        text = typos(rng, text, 0.03)
    text = light_wrapping(rng, W, b, text, t0)
    if style == "cad_caps":
        text = text.upper()
    return re.sub(r"[ \t]+", " ", text).strip()


def light_wrapping(rng: random.Random, W: dict, b: NoteBuilder, text: str, t0: int) -> str:
    """Some of the CAD wrapping around a note of a non-page style, drawn without looking at its labels."""
    head, tail = [], []
    if rng.random() < 0.04:
        head.append(pick(rng, W["cad"]["banners"]) + pick(rng, [" ", "\n"]))
    if b.header:
        head.append(b.header + pick(rng, [" ", ": ", " - ", "\n"]))
    if rng.random() < 0.08:
        head.append(location_line(rng, W) + pick(rng, [" ", "; ", "\n"]))
    if rng.random() < 0.1:
        tail.append(status_line(rng, W, t0 + rng.randint(1, 20)))
    if rng.random() < 0.06:
        tail.append(callback_line(rng, W))
    if rng.random() < 0.05:
        tail.append(pick(rng, W["cad"]["footers"]))
    return "".join(head) + text + "".join(pick(rng, [" ", "\n", " // "]) + t for t in tail)


def render_cad(rng, style, b, W, kind, t0, who_intro, body, qsay, extra) -> str:
    """A CAD page: header, times, place, the narrative, a protocol block, unit lines, footer."""
    cad = W["cad"]
    intro = who_intro() if rng.random() < 0.5 else ""
    segs = [s for s in ([(intro + " " + body[0]).strip()] if body else [intro]) + body[1:] + qsay + extra if s]
    segs = [abbreviate(rng, s, 0.8) for s in segs]
    proto = choose_protocol(rng, b, kind, W)
    t = t0
    head: list[str] = []
    if rng.random() < 0.3:
        head.append(pick(rng, cad["banners"]))
    if b.header:
        head.append(b.header)
    if style == "pager_text":
        if rng.random() < 0.7:
            head.append(location_line(rng, W))
        if rng.random() < 0.3:
            head.append(cross_line(rng, W))
        narrative = segs
        block: list[str] = []
    else:
        if rng.random() < 0.6:
            head.append(call_time_line(rng, W, t))
        if rng.random() < 0.6:
            head.append(location_line(rng, W))
            if rng.random() < 0.5:
                head.append(cross_line(rng, W))
            if rng.random() < 0.3:
                head.append(geo_line(rng, W))
        stamps = rng.random() < 0.6
        narrative = []
        for s in segs:
            t += rng.randint(0, 3)
            narrative.append(f"[{clock(t)}] {s}" if stamps else s)
        want_block = style == "protocol_page" or rng.random() < 0.3
        block = protocol_block(rng, b, W, proto) if proto and want_block else []
        if block and style == "protocol_page":
            narrative = [pick(rng, ["Narrative:", "Comments:", "CAD Notes:", "Additional Info:", "Remarks:"])] + narrative
    tail: list[str] = []
    for _ in range(rng.choices((0, 1, 2, 3), weights=(25, 35, 25, 15))[0]):
        t += rng.randint(1, 6)
        tail.append(status_line(rng, W, t))
    if rng.random() < (0.5 if style == "pager_text" else 0.25):
        tail.append(paged_line(rng, W))
    if rng.random() < 0.3:
        tail.append(callback_line(rng, W))
    if style == "pager_text" and rng.random() < 0.5:
        tail.append(call_time_line(rng, W, t0))
    if rng.random() < 0.2:
        tail.append(pick(rng, cad["footers"]))
    lines = head + (block + narrative if style == "protocol_page" or rng.random() < 0.5 else narrative + block)
    if style == "pager_text":
        sep = pick(rng, [" - ", "; ", " | ", " ", " / "])
    else:
        sep = pick(rng, ["\n", "\n", "\n", " ", " // ", " ... "])
    text = sep.join(lines)
    if rng.random() < (0.7 if style == "pager_text" else 0.55):
        text = text.upper()
    if tail:
        keep = len(text)
        text = text + sep + sep.join(tail)
        if rng.random() < (0.25 if style == "pager_text" else 0.1):
            text = truncate(rng, text, keep)
    if rng.random() < 0.15:
        text = typos(rng, text, 0.02)
    return re.sub(r"[ \t]+", " ", text).strip()


# -- augmentation ---------------------------------------------------------------------------

def protected_words(b: NoteBuilder) -> set[str]:
    """Words a typo must not touch: those of the label-bearing phrases, denials, cues and the header."""
    words: set[str] = set()
    for k, t in b.parts:
        if k in ("content", "quote", "negation", "cue"):
            words.update(re.findall(r"[a-z]+", t.lower()))
    words.update(re.findall(r"[a-z]+", b.header.lower()))
    return words


def augment(rng: random.Random, text: str, kind: str, b: NoteBuilder, W: dict) -> str:
    """A harmless, label-keeping change of a note (CheckList-style invariance)."""
    if kind == "upper":
        return text.upper()
    if kind == "lower":
        return text.lower()
    if kind == "spacing":
        out = re.sub(r"([,;]) ", lambda m: m.group(1) + pick(rng, ["  ", "\n", " ", "   "]), text)
        out = re.sub(r"\. ", lambda m: pick(rng, [".\n", ".  ", ". ", ".\n\n"]), out)
        return pick(rng, ["", " ", "\n"]) + out + pick(rng, ["", "  ", "\n", " \n"])
    if kind == "status_line":
        return text + pick(rng, ["\n", " ", " // "]) + status_line(rng, W, rng.randrange(1440))
    if kind == "footer":
        return text + pick(rng, ["\n", "\n\n", " "]) + pick(rng, W["cad"]["footers"])
    if kind == "typos":
        keep = protected_words(b)
        tokens = re.split(r"(\s+)", text)
        idx = [i for i, w in enumerate(tokens) if len(w) > 3 and w.isalpha() and w.lower() not in keep]
        for i in rng.sample(idx, min(len(idx), rng.randint(1, 2))):
            tokens[i] = typo_word(rng, tokens[i])
        return "".join(tokens)
    raise ValueError(kind)


# -- long text ------------------------------------------------------------------------------

def narrative_text(rng: random.Random, writer: dict, k: int) -> list[str]:
    """``k`` sentences of one writer, in a random order, some as dated updates."""
    sents = rng.sample(writer["sentences"], min(k, len(writer["sentences"])))
    out = []
    for i, x in enumerate(sents):
        if i and rng.random() < 0.08:
            x = pick(rng, ["UPDATE: ", "Update - ", "EDIT: ", f"Day {i + 1}: ", "edit: ", "UPDATE 2: "]) + x
        out.append(x)
    return out


def join_sentences(rng: random.Random, parts: list[str]) -> str:
    seps = [" ", " ", " ", "\n", "\n\n"]
    text = parts[0]
    for x in parts[1:]:
        text += pick(rng, seps) + x
    return text


def narrative_note(rng: random.Random, writer: dict) -> str:
    """An everyday narrative of 2-30 sentences, longer ones as likely as short."""
    return join_sentences(rng, narrative_text(rng, writer, rng.randint(2, 30)))


def _insert(rng: random.Random, parts: list[str], text: str, crisis: bool) -> list[str]:
    """``parts`` with ``text`` at a random place; for a crisis note, parts that take a report
    back ('false alarm') are moved before it."""
    parts.insert(rng.randint(0, len(parts)), text)
    if not crisis:
        return parts
    at = parts.index(text)
    after = [x for x in parts[at + 1:] if DISPEL_RX.search(x)]
    return [x for x in parts[:at]] + after + [text] + [x for x in parts[at + 1:] if x not in after]


def inside_narrative(rng: random.Random, writer: dict, text: str, crisis: bool = False) -> str:
    """``text`` (a call note) among 4-25 everyday sentences."""
    parts = narrative_text(rng, writer, rng.randint(4, 25))
    return join_sentences(rng, _insert(rng, parts, text, crisis))


def with_updates(rng: random.Random, text: str, fillers: list[str], crisis: bool = False) -> str:
    """``text`` with the notes of 2-8 ordinary calls as further updates, before or after."""
    parts = rng.sample(fillers, min(len(fillers), rng.randint(2, 8)))
    return "\n".join(_insert(rng, parts, text, crisis))


def add_long_notes(rng: random.Random, notes: list[dict], narratives: list[dict], n_total: int) -> list[dict]:
    """The long-text share of the set (see the module docstring), made from ``notes``."""
    out = list(notes)
    base = [r for r in notes if not r["augmented"]]
    fillers: dict[str, list[str]] = {}  # family -> ordinary calls with no flag
    for r in base:
        # a filler describes no one (race, name): the note's own identity record stays true
        if (not r["categories"] and not r["flags"] and not r.get("update")
                and not (r["identity"]["race"] or r["identity"]["name_origin"])):  # a dispelled report is no ordinary call
            fillers.setdefault(r["family"], []).append(r["text"])
    n_narr = round(n_total * NARRATIVE_SHARE)
    n_mixed = round(n_total * LONG_NARRATIVE_SHARE)
    n_upd = round(n_total * LONG_UPDATES_SHARE)
    for _ in range(n_narr):
        w = pick(rng, narratives)
        out.append({"text": narrative_note(rng, w), "categories": [], "flags": [], "cues": [],
                    "response_mode": "standard_dispatch", "style": EVERYDAY_STYLE, "bank": w["source"],
                    "family": f"{EVERYDAY_STYLE}|{w['source']}", "call_type": None, "identity": None,
                    "augmented": None, "augmented_from": None, "update": None, "update_source": None})
    have = {r["text"] for r in out}  # a long note drawn twice (same source, same updates) is drawn again
    for kind, count in zip(LONG_KINDS, (n_mixed, n_upd)):
        made = 0
        while made < count:
            src = pick(rng, base)
            crisis = bool(src["categories"] or src["flags"])
            if kind == "long_narrative":
                text = inside_narrative(rng, pick(rng, narratives), src["text"], crisis)
            else:
                pool = [t for t in fillers.get(src["family"], []) if t != src["text"]]
                if len(pool) < 2:
                    continue
                text = with_updates(rng, src["text"], pool, crisis)
            if text in have:
                continue
            have.add(text)
            out.append({**src, "text": text, "augmented": kind, "augmented_from": src["id"]})
            made += 1
    for i, r in enumerate(out):
        r["id"] = f"syn-{i:06d}"
    return out


# -- updates that take a report back, or close a crisis ---------------------------------------

#: the styles a report/update note is written in: those that start with the report itself
UPDATE_STYLES = ("cad_terse", "cad_caps", "timestamped", "narrative", "checklist", "texting_lower",
                 "cad_page", "protocol_page", "pager_text")
#: call kinds whose header a dispelled report is dispatched under (it sounded like a crisis)
DISPELLED_KINDS = ("psych", "edp", "suicide", "welfare", "dist", "shots", "weapon", "overdose", "unknown")


def append_update(rng: random.Random, style: str, text: str, update: str) -> str:
    """``text`` with a later update written the way the style writes updates."""
    t = f"{rng.randrange(24):02d}:{rng.randrange(60):02d}"
    if style == "timestamped":
        sep = f"\n{t} "
    elif style in CAD_STYLES:
        sep = pick(rng, [" / ", " // ", "\n", " ... "]) + pick(rng, ["", f"[{t}] ", "UPD: ", f"{t} ", "UPDATE: "])
    else:
        sep = pick(rng, [" ", " / ", "\n", ". "]) + pick(rng, ["", "Update: ", "UPDATE - ", "upd ", f"[{t}] ", "per unit: "])
    out = sep + update
    letters = [ch for ch in text if ch.isalpha()]
    if style == "cad_caps" or (letters and sum(ch.isupper() for ch in letters) > 0.8 * len(letters)):
        out = out.upper()
    elif style == "texting_lower":
        out = re.sub(r"[.;,]", "", out.lower())
    return text + out


def update_note(rng: random.Random, pair: dict, kind: str, source: str, bank: dict, style: str,
                W: dict, policy: ResponsePolicy) -> dict:
    """One note of a report and its later update: a dispelled report carries no label, a
    resolved one the labels its writer gave the whole call."""
    ident = draw_identity(rng, W)
    b = NoteBuilder(rng, bank, ident.sex)
    b.intro = False
    b.parts.append(("content", b.fill(pair["report"])))
    if kind == "resolved":
        b.categories.update(pair["categories"])
        b.flags.update(pair["flags"])
        b.cues.update(pair.get("cues", []))
    elif rng.random() < 0.4:
        b.force_kinds = [k for k in DISPELLED_KINDS if k in W["cad"]["kinds"]]
    if rng.random() < 0.3:
        add_negations(rng, b, 1)
    text = append_update(rng, style, render(rng, style, b, W, ident), b.fill(pair["update"]))
    cats = [c for c in CATEGORIES if c in b.categories]
    flags = [f for f in FLAG_IDS if f in b.flags]
    cues = [c for c in CUES if c in b.cues]
    return {"text": text, "categories": cats, "flags": flags, "cues": cues,
            "response_mode": policy.decide(cats, flags, cues).mode, "style": style, "bank": bank["source"],
            "family": f"{style}|{bank['source']}", "call_type": b.header_kind, "identity": ident.record(),
            "augmented": None, "augmented_from": None, "update": kind, "update_source": source}


def add_update_notes(seed: int, notes: list[dict], updates: list[dict], banks: list[dict], W: dict,
                     n_dispelled: int, n_resolved: int, texts: set[str]) -> list[dict]:
    """``notes`` and the report/update notes, drawn with their own random stream."""
    rng = random.Random(seed + UPDATES_SEED_OFFSET)
    policy = ResponsePolicy.default()
    weights = [STYLE_WEIGHTS[s] for s in UPDATE_STYLES]
    out = list(notes)
    for kind, count in (("dispelled", n_dispelled), ("resolved", n_resolved)):
        pool = [(u["source"], p) for u in updates for p in u.get(kind, [])
                # a report taken back only by saying what it was ('a Halloween dummy') is not
                # trained on: the model cannot read that, and the note would teach it that the
                # report's crisis words mean nothing (stop 36: trained on all pairs, short psych
                # pages without any update lost psychosis)
                if kind == "resolved" or DISPEL_RX.search(p["update"])]
        made = attempts = 0
        while pool and made < count and attempts < count * 3:
            attempts += 1
            source, pair = pick(rng, pool)
            note = update_note(rng, pair, kind, source, pick(rng, banks), rng.choices(UPDATE_STYLES, weights=weights)[0],
                               W, policy)
            if note["text"] in texts:
                continue
            texts.add(note["text"])
            out.append({"id": f"syn-{len(out):06d}", **note})
            made += 1
    return out


# -- the whole set ---------------------------------------------------------------------------

def generate(n: int = DEFAULT_N, seed: int = DEFAULT_SEED, banks: list[dict] | None = None,
             wrapping: dict | None = None, narratives: list[dict] | None = None,
             updates: list[dict] | None = None) -> list[dict]:
    banks = banks or load_banks()
    W = wrapping or load_wrapping()
    narratives = load_narratives() if narratives is None else narratives
    updates = load_updates() if updates is None else updates
    n_total = n
    if narratives:  # room for the long notes, made at the end from these
        n = n - round(n * (NARRATIVE_SHARE + LONG_NARRATIVE_SHARE + LONG_UPDATES_SHARE))
    n_dispelled = round(n_total * DISPELLED_SHARE) if updates else 0
    n_resolved = round(n_total * RESOLVED_SHARE) if updates else 0
    n -= n_dispelled + n_resolved
    policy = ResponsePolicy.default()
    rng = random.Random(seed)
    weights = [STYLE_WEIGHTS[s] for s in STYLES]
    notes: list[dict] = []
    seen: set[str] = set()
    texts: set[str] = set()
    attempts = 0
    while len(notes) < n and attempts < n * 3:
        attempts += 1
        bank = pick(rng, banks)
        style = rng.choices(STYLES, weights=weights)[0]
        ident = draw_identity(rng, W)
        b = NoteBuilder(rng, bank, ident.sex)
        if rng.random() < NON_BH_SHARE:
            sample_non_bh(rng, b, W)
        else:
            sample_bh(rng, b, W)
        text = render(rng, style, b, W, ident)
        key = re.sub(r"[^a-z]+", "", text.lower())
        if key in seen or text in texts:  # near-copies (differing only in digits, case or punctuation) are dropped
            continue
        seen.add(key)
        texts.add(text)
        cats = [c for c in CATEGORIES if c in b.categories]
        flags = [f for f in FLAG_IDS if f in b.flags]
        cues = [c for c in CUES if c in b.cues]
        mode = policy.decide(cats, flags, cues).mode
        note = {
            "id": f"syn-{len(notes):06d}", "text": text, "categories": cats, "flags": flags, "cues": cues,
            "response_mode": mode, "style": style, "bank": bank["source"], "family": f"{style}|{bank['source']}",
            "call_type": b.header_kind, "identity": ident.record(), "augmented": None, "augmented_from": None,
            "update": None, "update_source": None,
        }
        notes.append(note)
        if len(notes) < n and rng.random() < AUGMENT_P:
            kinds = list(AUGMENTATIONS)
            rng.shuffle(kinds)
            for kind in kinds:  # the first kind that changes the text
                new = augment(rng, text, kind, b, W)
                if new != text and new not in texts:
                    texts.add(new)
                    seen.add(re.sub(r"[^a-z]+", "", new.lower()))
                    notes.append({**note, "id": f"syn-{len(notes):06d}", "text": new,
                                  "augmented": kind, "augmented_from": note["id"]})
                    break
    if updates:
        notes = add_update_notes(seed, notes, updates, banks, W, n_dispelled, n_resolved, texts)
    if narratives:
        notes = add_long_notes(rng, notes, narratives, n_total)
    return notes


def write_jsonl_gz(notes: list[dict], path: Path) -> str:
    """Write deterministic gzip (mtime 0) and return the sha256 of the uncompressed JSONL."""
    data = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in notes).encode("utf-8")
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    path.write_bytes(buf.getvalue())
    return hashlib.sha256(data).hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=DEFAULT_N)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--out", type=Path, default=HERE / "notes.jsonl.gz")
    args = ap.parse_args(argv)
    notes = generate(args.n, args.seed)
    digest = write_jsonl_gz(notes, args.out)
    n_bh = sum(1 for r in notes if r["categories"])
    n_aug = sum(1 for r in notes if r["augmented"])
    print(f"wrote {len(notes)} notes ({len(notes) - n_bh} not behavioural-health, {n_aug} augmented) to {args.out}; "
          f"sha256(jsonl)={digest}; sources={source_digest()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
