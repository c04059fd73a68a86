"""Near-duplicate detection for note collections (character 5-gram shingles, cosine).

    python tools/dedupe.py tests/data/gold.jsonl --against training_data_synthetic/notes.jsonl.gz

Prints pairs above the threshold; exits 1 if any are found, so it can guard the gold set.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from crisis_nlp.batch.tables import read_records  # noqa: E402


def _vectors(texts):
    hv = HashingVectorizer(analyzer="char_wb", ngram_range=(5, 5), n_features=2**20, lowercase=True,
                           alternate_sign=False, norm="l2")
    return hv.transform(texts)


def near_duplicates(texts_a, texts_b=None, threshold: float = 0.8, block: int = 2000):
    """(i, j, similarity) for pairs at or above ``threshold`` (within a, or a against b)."""
    A = _vectors(texts_a)
    B = A if texts_b is None else _vectors(texts_b)
    pairs = []
    for start in range(0, A.shape[0], block):
        S = (A[start:start + block] @ B.T).toarray()
        for i, j in zip(*np.nonzero(S >= threshold)):
            gi = start + i
            if texts_b is None and j <= gi:
                continue
            pairs.append((gi, int(j), float(S[i, j])))
    return pairs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path")
    ap.add_argument("--against")
    ap.add_argument("--threshold", type=float, default=0.8)
    args = ap.parse_args()
    a = [r["text"] for r in read_records(args.path)]
    b = [r["text"] for r in read_records(args.against)] if args.against else None
    pairs = near_duplicates(a, b, args.threshold)
    for i, j, s in pairs[:50]:
        print(f"{s:.3f}\t{i}\t{j}\t{a[i][:70]!r}\t{(b or a)[j][:70]!r}")
    print(f"{len(pairs)} pairs >= {args.threshold}")
    return 1 if pairs else 0


if __name__ == "__main__":
    raise SystemExit(main())
