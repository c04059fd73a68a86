"""Seeded, deterministic generator of synthetic call notes.

Phrases come from the banks in ``banks/`` (one author, voice and setting each); the way a
note is put together comes from one of the STYLES below (CAD shorthand, all caps,
timestamped updates, 988 transfer, clinician field note, ...). Labels come from which
phrases were chosen, never from the text; the response mode from the default policy.
Every note records its ``style`` and ``bank``; ``family`` = ``style|bank``, so evaluation
can hold out whole styles and whole banks.

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
from pathlib import Path

HERE = Path(__file__).resolve().parent
try:
    import crisis_nlp  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(HERE.parent))

from crisis_nlp.labels import CATEGORIES, CUES  # noqa: E402
from crisis_nlp.policy import ResponsePolicy  # noqa: E402

DEFAULT_N = 40000
DEFAULT_SEED = 20261126
STYLES = (
    "cad_terse", "cad_caps", "timestamped", "narrative", "quote_heavy", "transfer_988",
    "clinician_field", "relay_text", "officer_update", "checklist", "texting_lower", "qa_protocol",
)
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


def load_banks(folder: Path = HERE / "banks") -> list[dict]:
    banks = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]
    if not banks:
        raise SystemExit(f"no phrase banks in {folder}")
    return banks


def entry(e) -> tuple[str, list[str]]:
    """A bank entry as (text, labels it also establishes)."""
    if isinstance(e, str):
        return e, []
    return e["text"], list(e.get("also", []))


class NoteBuilder:
    """Collects the parts of one note and the labels they establish."""

    def __init__(self, rng: random.Random, bank: dict, gender: str) -> None:
        self.rng, self.bank, self.gender = rng, bank, gender
        self.parts: list[tuple[str, str]] = []  # (kind, text): kind in content/quote/cue/filler/negation
        self.categories: set[str] = set()
        self.flags: set[str] = set()
        self.cues: set[str] = set()

    def fill(self, text: str) -> str:
        for k, v in PRONOUNS[self.gender].items():
            text = text.replace(k, v)
        return text

    def add(self, kind: str, e, label: str | None = None) -> None:
        text, also = entry(e)
        for lab in ([label] if label else []) + also:
            (self.categories if lab in CATEGORIES else self.flags).add(lab)
        self.parts.append((kind, self.fill(text)))


def pick(rng: random.Random, seq):
    return seq[rng.randrange(len(seq))]


def sample_bh(rng: random.Random, b: NoteBuilder) -> None:
    ph = b.bank["phrases"]
    cues = b.bank["cues"]
    # archetype "talk": the person calls for themself, safe, wanting to talk or find help
    talk = rng.random() < 0.2
    n_cats = rng.choices((1, 2, 3), weights=(45, 35, 20))[0]
    pool = [c for c in CATEGORIES if c != "veteran" and not (talk and c in ("suicidal", "self_harm"))]
    weights = [2.5 if c == "suicidal" else 1.0 for c in pool]
    chosen: list[str] = []
    while len(chosen) < min(n_cats, len(pool)):
        c = rng.choices(pool, weights=weights)[0]
        if c not in chosen:
            chosen.append(c)
    if rng.random() < 0.15:  # veteran status only ever accompanies another category
        chosen.append("veteran")
    for c in chosen:
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
    r = rng.random()
    if r < 0.14:
        b.add("content", pick(rng, ph["weapon"]["self"]), "weapon")
    elif r < 0.19:
        b.add("content", pick(rng, ph["weapon"]["against_others"]), "weapon")
        b.cues.add("weapon_against_others")
        b.flags.add("violence")
    r = rng.random()
    if r < 0.06:
        b.add("content", pick(rng, ph["violence"]["act"]), "violence")
        b.cues.add("violence_in_progress")
    elif r < 0.14:
        b.add("content", pick(rng, ph["violence"]["threat"]), "violence")
    if rng.random() < 0.12:
        b.add("content", pick(rng, ph["medical"]["pos"]), "medical")
    if "suicidal" in b.categories and rng.random() < 0.25:
        b.add("cue", pick(rng, cues["public_place"]))
        b.cues.add("public_place")
    elif rng.random() < 0.3:
        b.add("cue", pick(rng, cues["private_place"]))
    if rng.random() < 0.12:
        b.add("cue", pick(rng, cues["agitated"]))
        b.cues.add("agitated_unknown_safety")
    if rng.random() < 0.10:
        b.add("cue", pick(rng, cues["confused_unsafe"]))
        b.cues.add("confused_unsafe")
    if "agitated_unknown_safety" not in b.cues and rng.random() < 0.25:
        b.cues.add("caller_is_person")
        if rng.random() < 0.4:
            b.add("cue", pick(rng, cues["wants_to_talk"]))
            b.cues.add("wants_to_talk")
    add_negations(rng, b, rng.choices((0, 1, 2), weights=(45, 35, 20))[0])
    if rng.random() < 0.12:
        add_hard_negative(rng, b)


def add_negations(rng: random.Random, b: NoteBuilder, k: int) -> None:
    ph = b.bank["phrases"]
    present = b.categories | b.flags
    options = [lab for lab in list(CATEGORIES) + ["weapon", "violence", "medical"] if lab not in present]
    # denials of the high-risk labels are what call-takers write most
    weights = [4.0 if lab in ("suicidal", "weapon", "violence", "self_harm", "medical") else 1.0 for lab in options]
    for _ in range(k):
        lab = rng.choices(options, weights=weights)[0]
        b.add("negation", pick(rng, ph[lab]["neg"]))


def add_hard_negative(rng: random.Random, b: NoteBuilder) -> None:
    ph = b.bank["phrases"]
    present = b.categories | b.flags
    options = [lab for lab in list(CATEGORIES) + ["weapon", "violence", "medical"] if lab not in present]
    lab = pick(rng, options)
    b.add("content", pick(rng, ph[lab]["hard_neg"]))


def sample_non_bh(rng: random.Random, b: NoteBuilder) -> None:
    ph = b.bank["phrases"]
    r = rng.random()
    if r < 0.55:
        inc = pick(rng, b.bank["non_bh"])
        b.parts.append(("content", b.fill(inc["text"])))
        b.flags.update(inc.get("flags", []))
        if rng.random() < 0.25:
            add_hard_negative(rng, b)
    elif r < 0.85:
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


# -- rendering ---------------------------------------------------------------------------

def abbreviate(rng: random.Random, text: str, p: float) -> str:
    for long, short in ABBREVIATIONS:
        if long in text and rng.random() < p:
            text = re.sub(rf"\b{re.escape(long)}\b", short, text)
    return text


def typos(rng: random.Random, text: str, rate: float) -> str:
    words = text.split(" ")
    for i, w in enumerate(words):
        if len(w) > 3 and w.isalpha() and rng.random() < rate:
            j = rng.randrange(1, len(w) - 1)
            op = rng.randrange(4)
            if op == 0:
                w = w[:j] + w[j + 1:]
            elif op == 1:
                w = w[:j] + w[j] + w[j:]
            elif op == 2:
                w = w[:j - 1] + w[j] + w[j - 1] + w[j + 1:]
            else:
                w = w[:j] + rng.choice(TYPO_KEYS) + w[j + 1:]
            words[i] = w
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
    if caller_is_person:
        who = pick(rng, ["caller", "RP", "the caller", "pt", "subj", "caller herself" if b.gender == "f" else "caller himself",
                         "female caller" if b.gender == "f" else "male caller", "texter"])
        return who, "self"
    return b.fill(pick(rng, persons)), b.fill(pick(rng, b.bank["reporters"]))


def render(rng: random.Random, style: str, b: NoteBuilder) -> str:
    self_call = "caller_is_person" in b.cues
    person, reporter = person_phrase(rng, b, self_call)
    he = PRONOUNS[b.gender]["{he}"]
    body = [t for k, t in b.parts if k not in ("quote",)]
    quotes = [t for k, t in b.parts if k == "quote"]
    rng.shuffle(body)
    fill = b.bank.get("filler", [])
    extra = [b.fill(f) for f in rng.sample(fill, rng.choices((0, 1, 2), weights=(50, 35, 15))[0])] if fill else []
    if rng.random() < 0.15:
        extra.append(fake_pii(rng))
    qsay = [f'{he} said "{q}"' if not self_call else f'"{q}"' for q in quotes]

    def who_intro() -> str:
        if self_call:
            return pick(rng, [f"{person} states", f"{person} reports", f"{person} calling for self,", f"{person}:", f"{person} says"])
        return pick(rng, [f"RP ({reporter}) states {person}", f"{reporter} calling re {person},", f"RP is {reporter}, reports {person}",
                          f"{reporter} reports {person}", f"{person} per {reporter}:", f"3rd party call from {reporter} abt {person}:"])

    if style in ("cad_terse", "cad_caps"):
        segs = [who_intro() + " " + ", ".join(body[:2])] + body[2:] + qsay + extra
        text = "; ".join(s for s in segs if s)
        text = abbreviate(rng, text, 0.8)
        if rng.random() < 0.3:
            text = pick(rng, ["10-96 ", "EDP ", "MH CALL ", "WELFARE CHK ", "SUICIDAL SUBJ ", ""]) + text
        if style == "cad_caps":
            text = text.upper()
    elif style == "timestamped":
        h, m = rng.randint(0, 23), rng.randint(0, 50)
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
        qs = [f'"{q}"' for q in quotes] or [f'"{body[0]}"' if body else '""']
        text = f"{intro} {' '.join(qs)} - " + ", ".join(body[1:] if not quotes else body) + ("; " + "; ".join(extra) if extra else "")
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
        text = f"{frm} relaying texts from {person if not self_call else 'caller'}: " + " / ".join(
            [f'"{q}"' for q in quotes] + body + extra)
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
    return re.sub(r"[ \t]+", " ", text).strip()


def generate(n: int = DEFAULT_N, seed: int = DEFAULT_SEED, banks: list[dict] | None = None) -> list[dict]:
    banks = banks or load_banks()
    policy = ResponsePolicy.default()
    rng = random.Random(seed)
    notes: list[dict] = []
    seen: set[str] = set()
    attempts = 0
    while len(notes) < n and attempts < n * 3:
        attempts += 1
        bank = pick(rng, banks)
        style = pick(rng, STYLES)
        b = NoteBuilder(rng, bank, rng.choice("mf"))
        if rng.random() < 0.35:
            sample_non_bh(rng, b)
        else:
            sample_bh(rng, b)
        text = render(rng, style, b)
        key = re.sub(r"[^a-z]+", "", text.lower())
        if key in seen:  # near-copies (differing only in digits, case or punctuation) are dropped
            continue
        seen.add(key)
        cats = [c for c in CATEGORIES if c in b.categories]
        flags = [f for f in ("weapon", "violence", "medical") if f in b.flags]
        cues = [c for c in CUES if c in b.cues]
        mode = policy.decide(cats, flags, cues).mode
        notes.append({
            "id": f"syn-{len(notes):06d}", "text": text, "categories": cats, "flags": flags, "cues": cues,
            "response_mode": mode, "style": style, "bank": bank["source"], "family": f"{style}|{bank['source']}",
        })
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
    print(f"wrote {len(notes)} notes ({len(notes) - n_bh} not behavioural-health) to {args.out}; sha256(jsonl)={digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
