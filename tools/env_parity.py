"""Does crisis_nlp give the same answers in two Python environments (e.g. spaCy 3.8 /
numpy 2 and the spaCy 3.7.5 / numpy 1.26 that medspaCy 1.3.1 brings on Python 3.11)?

    .ci-venv/bin/python tools/env_parity.py dump a.jsonl
    .ci-venv-med/bin/python tools/env_parity.py dump b.jsonl
    python tools/env_parity.py compare a.jsonl b.jsonl      # exit 1 if they differ

``dump`` classifies every note of the gold sets (or of ``--data`` files) with a shipped
model version (the newest by default; a per-user registry is not read) through
``classify``, ``classify_batch`` and the bulk path, and writes, per note, the labels, the
response mode, the rounded scores and the reason of each path, the unrounded probability
of every output (``proba_all``), and sha256 digests of the tokens and of the feature
string (no note text). ``compare`` demands the same labels, modes, scores, reasons,
tokens and features, and unrounded probabilities within ``--tol`` (1e-9).
The code imported is this checkout's, whatever is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GOLD = [ROOT / "tests" / "data" / "gold_cad.jsonl", ROOT / "tests" / "data" / "gold.jsonl"]
PATHS = ("classify", "classify_batch", "bulk")


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value).encode()).hexdigest()[:16]


def dump(out: Path, data: list[Path], model_spec: str | None) -> None:
    import numpy
    import spacy

    from crisis_nlp import load_model
    from crisis_nlp.batch.tables import read_records
    from crisis_nlp.preprocess import analyze

    with tempfile.TemporaryDirectory() as empty:
        os.environ["CRISIS_NLP_REGISTRY"] = empty  # the shipped versions only
        model = load_model(model_spec)
    env = {"python": platform.python_version(), "spacy": spacy.__version__, "numpy": numpy.__version__,
           "model": model.version, "outputs": list(model.arrays.outputs)}
    with open(out, "w", encoding="utf-8") as f:
        f.write(json.dumps({"env": env}) + "\n")
        for path in data:
            records = list(read_records(path))
            texts = [r["text"] for r in records]
            batch = model.classify_batch(texts)
            bulk = model.classify_batch(texts, explain=False)
            proba = model.proba_all(texts).tolist()
            for i, r in enumerate(records):
                a = analyze(texts[i])
                row = {"file": path.name, "id": r.get("id", i), "proba": proba[i],
                       "tokens": _digest(list(a.tokens)), "features": _digest(a.features)}
                for name, res in zip(PATHS, (model.classify(texts[i]), batch[i], bulk[i])):
                    row[name] = {k: v for k, v in res.to_dict().items() if k != "model_version"}
                f.write(json.dumps(row) + "\n")
    print(f"{out}: {env['model']} under Python {env['python']}, spaCy {env['spacy']}, numpy {env['numpy']}")


def compare(a_path: Path, b_path: Path, tol: float) -> int:
    a = [json.loads(line) for line in a_path.read_text(encoding="utf-8").splitlines()]
    b = [json.loads(line) for line in b_path.read_text(encoding="utf-8").splitlines()]
    (ea, *a), (eb, *b) = a, b
    for tag, e in (("A", ea["env"]), ("B", eb["env"])):
        print(f"{tag}: {e['model']} under Python {e['python']}, spaCy {e['spacy']}, numpy {e['numpy']}")
    if ea["env"]["outputs"] != eb["env"]["outputs"] or [(x["file"], x["id"]) for x in a] != [(y["file"], y["id"]) for y in b]:
        print("the two dumps are not of the same outputs and notes")
        return 1
    max_diff = 0.0
    differ: dict[str, list] = {}
    for x, y in zip(a, b):
        max_diff = max(max_diff, max(abs(u - v) for u, v in zip(x["proba"], y["proba"])))
        keys = ["tokens", "features"] + [f"{p}.{k}" for p in PATHS for k in x[p]]
        for key in keys:
            p, _, k = key.partition(".")
            if (x[p][k] if k else x[p]) != (y[p][k] if k else y[p]):
                differ.setdefault(key, []).append(f"{x['file']}:{x['id']}")
    print(f"{len(a)} notes; largest difference of an unrounded probability: {max_diff:.3g} (tolerance {tol:g})")
    for key, ids in differ.items():
        print(f"  {key} differs on {len(ids)} notes, e.g. {', '.join(ids[:5])}")
    ok = max_diff <= tol and not differ
    print("same answers" if ok else "DIFFERENT answers")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="classify the notes here and write the answers")
    d.add_argument("out", type=Path)
    d.add_argument("--data", type=Path, action="append", help="JSONL/CSV with a text column (default: both gold sets)")
    d.add_argument("--model", default=None, help="a shipped version, e.g. default@2.7.0 (default: the newest)")
    c = sub.add_parser("compare", help="compare two dumps")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    c.add_argument("--tol", type=float, default=1e-9)
    args = ap.parse_args(argv)
    if args.command == "dump":
        dump(args.out, args.data or GOLD, args.model)
        return 0
    return compare(args.a, args.b, args.tol)


if __name__ == "__main__":
    sys.exit(main())
