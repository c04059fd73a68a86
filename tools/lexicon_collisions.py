"""Which lexicon phrases fire on ordinary calls: a check before a table edit lands.

    python tools/lexicon_collisions.py NEW_RULES_DIR [--base OLD_RULES_DIR] [--data notes.jsonl]

Runs the preprocessing pipeline twice over ordinary (non-behavioural-health) notes, once
with the tables of ``--base`` (default: the package's) and once with ``NEW_RULES_DIR``
(a copy of ``crisis_nlp/resources`` with the edit), and prints, per concept and matched
words, how many notes gain a concept match they did not have. By default the notes are
the ordinary incidents of the phrase banks (``training_data_synthetic/banks``), never a
gold set: a phrase found here is an everyday wording to drop or narrow. Prints counts and
the matched words only, never a note's text, unless ``--show`` is given.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training_data_synthetic"))
from crisis_nlp.preprocess.pipeline import process_batch  # noqa: E402
from generate import PRONOUNS, load_banks  # noqa: E402


def bank_incidents() -> list[str]:
    """The ordinary incidents of every bank, pronoun placeholders filled as the generator does."""
    fill = PRONOUNS["m"]
    return [re.sub(r"\{[A-Za-z]+\}", lambda m: fill.get(m.group(0), "he"), e["text"])
            for bank in load_banks() for e in bank["non_bh"]]


def concept_spans(docs) -> list[set[tuple[int, int, str]]]:
    return [{(s, e, c) for s, e, c, _neg in doc._.concepts} for doc in docs]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("rules_dir", help="the edited copy of the rule tables")
    ap.add_argument("--base", default=None, help="the tables to compare with (default: the package's)")
    ap.add_argument("--data", default=None, help="a JSONL file of ordinary notes ('text' field) instead of the banks")
    ap.add_argument("--show", action="store_true", help="also print the first 100 characters of one note per row")
    args = ap.parse_args(argv)
    if args.data:
        texts = [json.loads(line)["text"] for line in open(args.data, encoding="utf-8") if line.strip()]
    else:
        texts = bank_incidents()
    docs = list(process_batch(texts, args.rules_dir))
    old, new = concept_spans(process_batch(texts, args.base)), concept_spans(docs)
    counts: collections.Counter = collections.Counter()
    example: dict = {}
    for i, (o, n) in enumerate(zip(old, new)):
        for s, e, c in n - o:
            key = (c, docs[i][s:e].text.lower())
            counts[key] += 1
            example.setdefault(key, texts[i][:100])
    gained = sum(1 for o, n in zip(old, new) if n - o)
    print(f"{len(texts)} ordinary notes; {gained} gain a concept match with {args.rules_dir}")
    for (concept, words), k in counts.most_common():
        print(f"{k:5d}  {concept:12s} {words!r}" + (f"  | {example[(concept, words)]}" if args.show else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
