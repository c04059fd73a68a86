"""Merge the two halves of a phrase bank, written by two writers, into one bank file.

    python tools/merge_bank_halves.py b16_text_relay HALVES_DIR

reads ``HALVES_DIR/<bank>_p1.json`` (the ten categories, persons, reporters) and ``_p2.json``
(weapon, violence, medical, cues, ordinary incidents, fillers) and writes
``training_data_synthetic/banks/<bank>.json``. Why a script: the writers' placeholders
(``{HE}`` in ALL-CAPS entries) become the generator's, and the checks that stop 20-35 made by
hand are made the same way for every bank: an ``also`` that names a category on a hard
negative drops the entry (a hard negative may gain a flag, never a category), a phone number
that is not 555 drops it, a race word drops a person, an incident ``kind`` the wrapping does
not know is left out, and entries within cosine 0.9 (character 5-grams, as
``tools/dedupe.py``) of an earlier bank's or of the bank's own, or within 0.6 of a gold note,
are dropped. Prints what it dropped.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from dedupe import _vectors  # noqa: E402

CATEGORIES = ["suicidal", "anxiety_panic", "depression_isolation", "substance_use", "self_harm", "trauma_ptsd",
              "grief_loss", "resource_request", "veteran", "psychosis"]
FLAGS = ["weapon", "violence", "medical"]
FLAG_SECTIONS = {"weapon": ("self", "against_others", "neg", "hard_neg"),
                 "violence": ("act", "threat", "neg", "hard_neg"), "medical": ("pos", "neg", "hard_neg")}
CAPS_PLACEHOLDERS = {"{HE}": "{he}", "{HIS}": "{his}", "{HIM}": "{him}", "{HIMSELF}": "{himself}"}
PLACEHOLDERS = {"{he}", "{his}", "{him}", "{himself}", "{He}", "{His}"}
RACE_RX = re.compile(r"\b(?:(?:[WBHAIN]|ME)/[MF]|hispanic|latin[oa]|black|white|asian|caucasian|african|arab|native"
                     r"|middle eastern)\b", re.I)  # generate.RACE_RX
PHONE_RX = re.compile(r"\(?\b\d{3}\)?[ -]\d{3}-\d{4}\b|\b\d{3}-\d{4}\b")


class Merger:
    def __init__(self) -> None:
        self.dropped = {"placeholder": 0, "category_on_a_negative": 0, "phone": 0, "race": 0, "unknown_kind": 0,
                        "near_copy": 0, "near_gold": 0}

    def text(self, t: str) -> str | None:
        for caps, plain in CAPS_PLACEHOLDERS.items():
            t = t.replace(caps, plain)
        if set(re.findall(r"\{\w+\}", t)) - PLACEHOLDERS:
            self.dropped["placeholder"] += 1
            return None
        if any("555" not in m.group(0) for m in PHONE_RX.finditer(t)):
            self.dropped["phone"] += 1
            return None
        return t

    def entry(self, e, allowed_also: list[str]):
        if isinstance(e, str):
            return self.text(e)
        t = self.text(e["text"])
        also = list(e.get("also", []))
        if t is None:
            return None
        if set(also) - set(allowed_also):
            self.dropped["category_on_a_negative"] += 1
            return None
        return {"text": t, "also": also} if also else t


def texts_of(bank: dict) -> list[str]:
    out: list[str] = []

    def walk(x) -> None:
        if isinstance(x, dict):
            if isinstance(x.get("text"), str):
                out.append(x["text"])
            else:
                for v in x.values():
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
        elif isinstance(x, str):
            out.append(x)

    walk({k: bank[k] for k in ("phrases", "cues", "non_bh", "filler")})
    return out


def merge(bank_id: str, halves: Path, banks_dir: Path, gold: list[str]) -> tuple[dict, dict]:
    p1 = json.loads((halves / f"{bank_id}_p1.json").read_text(encoding="utf-8"))
    p2 = json.loads((halves / f"{bank_id}_p2.json").read_text(encoding="utf-8"))
    kinds = set(json.loads((ROOT / "training_data_synthetic" / "wrapping" / "cad.json").read_text())["kinds"])
    m = Merger()
    persons = {}
    for sex in ("male", "female"):
        keep = [p for p in p1["persons"].get(sex, []) if not RACE_RX.search(p)]
        m.dropped["race"] += len(p1["persons"].get(sex, [])) - len(keep)
        persons[sex] = [t for t in map(m.text, keep) if t]
    phrases: dict[str, dict] = {}
    for c in CATEGORIES:
        phrases[c] = {k: [x for x in (m.entry(e, {"pos": CATEGORIES + FLAGS, "quotes": CATEGORIES + FLAGS,
                                                   "neg": [], "hard_neg": FLAGS}[k]) for e in p1["phrases"][c].get(k, []))
                          if x] for k in ("pos", "neg", "hard_neg", "quotes")}
    for f, sections in FLAG_SECTIONS.items():
        phrases[f] = {k: [x for x in (m.entry(e, {"neg": [], "hard_neg": FLAGS}.get(k, CATEGORIES + FLAGS))
                                      for e in p2["phrases"][f].get(k, [])) if x] for k in sections}
    incidents = []
    for e in p2["non_bh"]:
        t = m.text(e["text"])
        if not t:
            continue
        row = {"text": t, "flags": [x for x in e.get("flags", []) if x in FLAGS]}
        if e.get("kind") in kinds:
            row["kind"] = e["kind"]
        elif e.get("kind"):
            m.dropped["unknown_kind"] += 1
        incidents.append(row)
    bank = {"source": bank_id, "style": max(p1.get("style", ""), p2.get("style", ""), key=len), "persons": persons,
            "reporters": [r for r in p1.get("reporters", []) if not RACE_RX.search(r)], "phrases": phrases,
            "cues": {k: [t for t in map(m.text, v) if t] for k, v in p2["cues"].items()},
            "non_bh": incidents, "filler": [t for t in map(m.text, p2.get("filler", [])) if t]}

    earlier = [t for p in sorted(banks_dir.glob("*.json")) if p.stem != bank_id
               for t in texts_of(json.loads(p.read_text(encoding="utf-8")))]
    E, G = (_vectors(texts) if texts else None for texts in (earlier, gold))
    kept: list[str] = []

    def near(M, v, threshold: float) -> bool:
        return M is not None and (M @ v.T).max() >= threshold

    def keep(t: str) -> bool:
        v = _vectors([t])
        if near(E, v, 0.9) or near(_vectors(kept) if kept else None, v, 0.9):
            m.dropped["near_copy"] += 1
            return False
        if near(G, v, 0.6):
            m.dropped["near_gold"] += 1
            return False
        kept.append(t)
        return True

    def text_of(e) -> str:
        return e if isinstance(e, str) else e["text"]

    for section in phrases.values():
        for k in section:
            section[k] = [e for e in section[k] if keep(text_of(e))]
    bank["cues"] = {k: [t for t in v if keep(t)] for k, v in bank["cues"].items()}
    bank["non_bh"] = [e for e in bank["non_bh"] if keep(e["text"])]
    bank["filler"] = [t for t in bank["filler"] if keep(t)]
    return bank, m.dropped


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bank_id")
    ap.add_argument("halves", type=Path)
    ap.add_argument("--banks", type=Path, default=ROOT / "training_data_synthetic" / "banks")
    args = ap.parse_args(argv)
    gold = [json.loads(line)["text"] for p in sorted((ROOT / "tests" / "data").glob("gold*.jsonl"))
            for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    bank, dropped = merge(args.bank_id, args.halves, args.banks, gold)
    (args.banks / f"{args.bank_id}.json").write_text(json.dumps(bank, indent=2, ensure_ascii=False) + "\n",
                                                      encoding="utf-8")
    print(f"{args.bank_id}: kept {len(texts_of(bank))} entries ({len(bank['non_bh'])} ordinary incidents); "
          f"dropped {dropped}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
