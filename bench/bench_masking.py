"""Personal-data masking: recall per format and false masking of ordinary words.
Prints the tables in the README ("Personal data"); asserts nothing.
Run: python bench/bench_masking.py [--synthetic 5000]

Every value is invented (names drawn from a hand-written list of many origins, numbers
made up, 555 phone numbers, Luhn-valid test card numbers, documentation IP ranges and
domains). A format is recalled in a note when no part of its value is left after
``clean_text``: no name word, no run of 3 or more of its digits, no e-mail local part or
host.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# names of many origins, written for this benchmark; some are on the shipped lists, some not
FIRST = ("Maria Jamal Aisha Priya Wei Tonya Raymond DeShawn Fatima Mohammed Xiomara Oluwaseun Thandiwe Kenji "
         "Guadalupe Dmitri Latoya Hiroshi Ngozi Santiago Mei Tyrone Svetlana Ahmed Lakisha Jose Anjali Minh "
         "Kateryna Bogdan Imani Darnell Yusuf Rosalind Chayton Aiyana Carlos Linh Omar Keisha Denise Patrick "
         "Graciela Obinna Farid Ingrid Soren Malia Keanu Nizhoni").split()
LAST = ("Lopez Washington Okafor Nguyen Rasmussen Tallbear Patel Kowalczyk Haddad Garcia Johnson Yazzie "
        "Mbeki Tanaka Ivanova Castellano Abernathy Oyelaran Delacroix Whitehorse Begay Chowdhury Fitzgerald "
        "Nakamura Romero Jackson Kim Hernandez Schulz Adeyemi Moreau Sandoval Kaczmarek Osei Vasquez Brooks "
        "Mahmoud Reyes Thompson Quispe").split()
# everyday names, masked only after a cue
EVERYDAY_FIRST = "Will Hope Grace May June Bill Faith Art Rose Mark".split()
DRUGS = "sertraline trazodone oxycodone fentanyl xanax narcan lithium seroquel adderall tylenol".split()


def _luhn_complete(prefix: str) -> str:
    for d in "0123456789":
        s = prefix + d
        total = 0
        for i, ch in enumerate(reversed(s)):
            x = int(ch)
            if i % 2:
                x = x * 2 - 9 if x > 4 else x * 2
            total += x
        if total % 10 == 0:
            return s
    raise AssertionError


def _values(rng: random.Random) -> dict[str, Callable[[], tuple[str, str]]]:
    """Format -> a function giving (value as written, the part that must disappear)."""
    d = lambda n: "".join(rng.choice("0123456789") for _ in range(n))
    first = lambda: rng.choice(FIRST)
    last = lambda: rng.choice(LAST)

    def card() -> tuple[str, str]:
        s = _luhn_complete(rng.choice(["4", "51", "37", "6011"]) + d(15 - len("4")))[:16]
        s = _luhn_complete(s[:15])
        style = rng.randrange(3)
        v = s if style == 0 else " ".join(s[i:i + 4] for i in range(0, 16, 4)) if style == 1 else "-".join(
            s[i:i + 4] for i in range(0, 16, 4))
        return v, v

    def intl() -> tuple[str, str]:
        v = rng.choice(["+44 20 7946 {a}", "+33 1 23 45 {b} {c}", "+49 30 1234{a}", "+52 55 1234 {a}",
                        "+91 98765 4{a}", "+81 3-1234-{a}", "+234 803 123 {a}", "+61 2 9876 {a}",
                        "+1 (503) 555-{a}", "011 44 20 7946 {a}", "+63 917 123 {a}", "+20 10 1234 {a}"])
        v = v.format(a=d(4), b=d(2), c=d(2))
        return v, v

    def name() -> tuple[str, str]:
        n = f"{first()} {last()}"
        return n, n

    return {
        "phone, US (dashes, parens, dots)": lambda: (v := rng.choice(["555-{a}-{b}", "(555) {a}-{b}", "555.{a}.{b}"]).format(
            a=d(3), b=d(4)), v),
        "phone, 7 digits without a cue": lambda: (v := f"{d(3)}-{d(4)}", v),
        "phone, 10 digits bare": lambda: (v := "555" + d(7), v),
        "phone, international": intl,
        "e-mail": lambda: (v := f"{first().lower()}.{last().lower()}{d(2)}@example.org", v),
        "e-mail, non-ASCII": lambda: (v := rng.choice(["josé.garcía", "zoë.müller", "بريد", "用户", "øyvind"]) + "@"
                                      + rng.choice(["correo.es", "beispiel.de", "例子.广告", "example.no"]), v),
        "SSN with dashes": lambda: (v := f"{d(3)}-{d(2)}-{d(4)}", v),
        "SSN with spaces": lambda: (v := f"{d(3)} {d(2)} {d(4)}", v),
        "SSN without separators": lambda: (v := d(9), v),
        "card number (Luhn)": card,
        "medical record number": lambda: (v := rng.choice(["MRN {a}", "MRN: {a}", "mrn# {a}", "med rec # {a}",
                                                           "medical record no. {a}", "chart # {a}"]).format(a=d(rng.choice([6, 7, 8, 10]))),
                                          v.split()[-1]),
        "IPv4 address": lambda: (v := f"{rng.choice(['192.0.2', '198.51.100', '203.0.113'])}.{rng.randrange(1, 255)}", v),
        "IPv6 address": lambda: (v := f"2001:db8:{rng.randrange(4096):x}::{rng.randrange(4096):x}", v),
        "URL": lambda: (v := rng.choice(["https://example.com/u/{a}", "http://www.example.org/p?id={a}",
                                         "www.example.net/{a}", "facebook.com/jdoe{a}"]).format(a=d(4)), v),
        "date of birth": lambda: (v := f"DOB {rng.randrange(1, 13)}/{rng.randrange(1, 29)}/{rng.randrange(1940, 2010)}",
                                  v.split()[-1]),
        "street address": lambda: (v := f"{d(4)} {rng.choice(['Maple', 'N Main', 'Webster', 'Cedar Hill'])} "
                                        f"{rng.choice(['St', 'Ave', 'Rd', 'Dr', 'Ln'])}", v.split(" ", 1)[0]),
        "apartment / unit": lambda: (v := f"apt {d(3)}", v.split()[-1]),
        "licence plate": lambda: (v := f"plate {rng.choice('ABCDEFGHJK')}{rng.choice('LMNPRSTUVW')}{rng.choice('XYZABC')}{d(4)}",
                                  v.split()[-1]),
        "case number": lambda: (v := f"case# 20{d(2)}-{d(6)}", v.split()[-1]),
        "name after a cue (RP name is, caller, per, Mr/Mrs)": name,
        "name, First Last in running text": name,
        "name, LAST, FIRST": lambda: (v := f"{last()}, {first()}", v),
        "name, in a note in capitals": lambda: (v := f"{first()} {last()}".upper(), v),
        "name, lower case after 'name is'": lambda: (v := f"{first()} {last()}".lower(), v),
        "name, everyday first name after a kin cue": lambda: (v := rng.choice(EVERYDAY_FIRST), v),
    }


_TEMPLATES = {
    "name after a cue (RP name is, caller, per, Mr/Mrs)": [
        "RP name is {v}, states her son is threatening to jump", "caller {v} says pt took pills",
        "per {v} subj has a knife", "Mrs. {v} reports husband is suicidal", "Mr {v} is on scene, calm",
        "subj {v} 34 yo male, hx of bipolar", "daughter {v} found him unresponsive"],
    "name, First Last in running text": [
        "spoke with {v} who confirmed no weapons", "pt {v} denies SI, states he is fine", "{v} called back at 2130",
        "RP's neighbor {v} heard yelling", "Client {v} reports passive SI x1 wk", "told {v} to stay on the line"],
    "name, in a note in capitals": ["RP {v} STATES SUBJ IS SUICIDAL W/ KNIFE", "CALLER {v} REQ WELFARE CHECK ON SON",
                                    "SUBJ {v} LAST SEEN N/B ON FOOT", "PER {v} NO WEAPONS IN THE HOME"],
    "name, lower case after 'name is'": ["rp name is {v}, states pt took pills", "caller says her name is {v} and she wants to die"],
    "name, everyday first name after a kin cue": ["RP states son {v} is threatening to kill himself",
                                                  "Caller's daughter {v} took a bottle of pills", "Pt's wife {v} is on scene"],
    "name, LAST, FIRST": ["Subj: {v}, 34 M, hx SI", "RP {v} states husband has a gun", "pt id'd as {v} per ID card"],
}
_DEFAULT_TEMPLATES = ["cb {v} asap", "RP states {v}, pt took 30 pills", "{v}", "Caller gave {v} and hung up.",
                      "pt info: {v} / denies SI", "ref {v} (per RP)"]


def format_corpus(per_format: int = 60, seed: int = 13) -> dict[str, list[tuple[str, str]]]:
    """Format -> [(note, the value that must disappear)], all invented."""
    rng = random.Random(seed)
    out: dict[str, list[tuple[str, str]]] = {}
    for fmt, make in _values(rng).items():
        templates = _TEMPLATES.get(fmt, _DEFAULT_TEMPLATES)
        rows = []
        for k in range(per_format):
            v, secret = make()
            rows.append((templates[k % len(templates)].format(v=v), secret))
        out[fmt] = rows
    return out


def leaked(clean: str, secret: str) -> bool:
    """Whether any part of ``secret`` is left in the cleaned note."""
    words = re.findall(r"[^\W\d_]{2,}", secret)
    if secret[:1].isalpha() and "@" not in secret and "/" not in secret and "." not in secret:  # a name
        return any(re.search(r"(?<![^\W\d_])" + re.escape(w) + r"(?![^\W\d_])", clean) for w in words)
    if "@" in secret:
        local, host = secret.split("@")
        return local in clean or host in clean
    digits = re.findall(r"\d{3,}", secret)
    return any(x in re.sub(r"\D", "", clean) for x in digits) if digits else secret in clean


def recall_table(clean: Callable[[str], str]) -> list[tuple[str, int, int]]:
    rows = []
    for fmt, cases in format_corpus().items():
        hit = sum(not leaked(clean(note), secret) for note, secret in cases)
        rows.append((fmt, hit, len(cases)))
    return rows


def false_masking(clean: Callable[[str], str], vocab: list[str]) -> tuple[int, int, list[str]]:
    """Ordinary words of the notes, in sentences in three casings: how often a word is
    masked as a name."""
    templates = ["RP states subj {w} at home, no weapons", "Pt said {W} twice and hung up",
                 "RP STATES SUBJ {U} AT HOME", "per rp, {w} per caller", "Caller {W} then left"]
    masked, total, examples = 0, 0, []
    for w in vocab:
        for t in templates:
            note = t.format(w=w, W=w.capitalize(), U=w.upper())
            total += 1
            if "PII_NAME" in clean(note):
                masked += 1
                if len(examples) < 30:
                    examples.append(f"{w} ({t.split()[0]}...)")
    return masked, total, examples


def frequent_words(texts: list[str], n: int) -> list[str]:
    """The n most frequent lower-case words (whole words: not "ake" of "Lake") of the texts."""
    freq: dict[str, int] = {}
    for t in texts:
        for w in re.findall(r"\b[a-z]{2,}\b", t):
            freq[w] = freq.get(w, 0) + 1
    return sorted(freq, key=freq.__getitem__, reverse=True)[:n]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--synthetic", type=int, default=5000, help="synthetic notes to scan")
    ap.add_argument("--vocab", type=int, default=3000, help="most frequent lower-case words of the notes to try")
    args = ap.parse_args()
    from crisis_nlp.preprocess import clean_text

    print("| format | recall | notes |")
    print("| --- | --- | --- |")
    for fmt, hit, n in recall_table(clean_text):
        print(f"| {fmt} | {hit / n:.2f} | {n} |")

    with gzip.open(ROOT / "training_data_synthetic" / "notes.jsonl.gz", "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    vocab = frequent_words([r["text"] for r in rows], args.vocab)
    masked, total, examples = false_masking(clean_text, vocab)
    print(f"\nordinary words masked as names: {masked} of {total} ({masked / total:.2%}) "
          f"({len(vocab)} most frequent words of the synthetic notes x 5 sentences in 3 casings)")
    if examples:
        print("  e.g. " + ", ".join(examples[:15]))
    # Since stop 21 the generator writes invented names into some notes and records their
    # origin (identity.name_origin): those notes measure recall, the others false masking.
    # Everyday narratives name people the generator does not record ('the breakup with Tom'),
    # so they are left out, as tests/test_masking.py leaves them out.
    rows = [r for r in rows if r.get("identity") is not None and r.get("augmented") != "long_narrative"]
    sample = random.Random(0).sample(rows, min(args.synthetic, len(rows)))
    with_name = [r["text"] for r in sample if r["identity"].get("name_origin")]
    without = [r["text"] for r in sample if not r["identity"].get("name_origin")]
    hit = sum("PII_NAME" in clean_text(t) for t in with_name)
    false = sum("PII_NAME" in clean_text(t) for t in without)
    print(f"synthetic notes with an invented name that get a PII_NAME: {hit} of {len(with_name)}; "
          f"without a name: {false} of {len(without)} ({false / max(len(without), 1):.2%})")
    gold = [json.loads(x)["text"] for x in (ROOT / "tests/data/gold.jsonl").read_text().splitlines() if x.strip()]
    n_name = sum("PII_NAME" in clean_text(t) for t in gold)
    print(f"gold notes with a PII_NAME: {n_name} of {len(gold)}")
    crisis = ["will", "kill", "hope", "bridge", "jump", "gun", "knife", "pills", "rope", "hang"] + DRUGS
    notes = ["RP states pt {w} tonight", "RP STATES PT {U} TONIGHT", "Pt says {W} is all"]
    bad = [n.format(w=w, U=w.upper(), W=w.capitalize()) for w in crisis for n in notes]
    bad = [n for n in bad if "PII_NAME" in clean_text(n)]
    print(f"crisis words masked in typical notes: {len(bad)} of {len(crisis) * len(notes)}"
          + (f" (e.g. {'; '.join(bad[:5])})" if bad else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
