"""Build ``crisis_nlp/resources/known_words.txt``: common English words that the concept
matcher never reads as a typo of a lexicon word.

The matcher corrects a word one typing slip away from a long lexicon word ('sucidal' ->
'suicidal'). Without a list of real words it also "corrected" ordinary ones: 'framing'
became 'foaming' (MEDICAL) in a post about house framing. The list is the 30,000 most
frequent English words of wordfreq (Robyn Speer; data CC BY-SA 4.0), letters only.

Run once when the list should change (needs ``pip install wordfreq``; the library itself
does not depend on it):  python tools/build_known_words.py
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import wordfreq

N = 30_000
OUT = Path(__file__).resolve().parent.parent / "crisis_nlp" / "resources" / "known_words.txt"


def main() -> None:
    words = sorted({w for w in wordfreq.top_n_list("en", N) if w.isalpha() and w.isascii()})
    header = [
        "# Common English words that are never read as a typo of a lexicon word, one a line.",
        f"# Source: the {N:,} most frequent English words of wordfreq {version('wordfreq')}",
        "# (Robyn Speer, https://github.com/rspeer/wordfreq; data CC BY-SA 4.0), letters only.",
        "# Made by tools/build_known_words.py; edit that script, not this file.",
    ]
    OUT.write_text("\n".join(header + words) + "\n", encoding="utf-8")
    print(f"wrote {len(words):,} words to {OUT}")


if __name__ == "__main__":
    main()
