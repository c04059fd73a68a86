"""Make a stand-in for an agency's labelled notes, to time `crisis-nlp train --data`.

Notes come from the synthetic generator with another seed than the committed data, and
are rewritten with a shorthand the shipped model does not know ("SXI" for suicidal
ideation, "pt" for the person, "EtOH+" for intoxicated), as an agency's own writing would
be. Usage: python bench/make_agency_sample.py OUT.csv [N] [SEED]
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "training_data_synthetic"))

from generate import generate  # noqa: E402

REWRITES = [
    (re.compile(r"\b(suicidal|suicidal ideation|SI)\b", re.I), "SXI"),
    (re.compile(r"\b(wants|wanted) to (die|kill (him|her|them)self)\b", re.I), "SXI"),
    (re.compile(r"\b(subj|subject|the person|the subject)\b", re.I), "pt"),
    (re.compile(r"\b(intoxicated|drunk)\b", re.I), "EtOH+"),
]


def main(out: str, n: int = 5000, seed: int = 2026) -> None:
    seen: set[str] = set()
    rows = []
    for r in generate(n=n + n // 10, seed=seed):
        text = r["text"]
        for pattern, repl in REWRITES:
            text = pattern.sub(repl, text)
        key = " ".join(text.casefold().split())
        if key in seen:
            continue
        seen.add(key)
        rows.append({"id": r["id"], "narrative": text, "categories": "|".join(r["categories"]),
                     "flags": "|".join(r["flags"]), "response_mode": r["response_mode"]})
        if len(rows) == n:
            break
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:]))
