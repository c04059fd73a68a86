"""Behaviour-check failure rates of a model version on a file of notes (CheckList style).

    python tools/behaviour_report.py --data tests/data/gold_cad.jsonl [--model default@2.0.0]
    python tools/behaviour_report.py --data tests/data/gold.jsonl --data tests/data/gold_cad.jsonl --json

Prints one table per file: for each perturbation (see crisis_nlp/behaviour.py), the notes
it ran on, the failures, the failure rate and the ids of the first failing notes; then the
invariance and directional totals. Only the `text` (and `id`) of each record are used; the
labels are not needed, since a check compares the model's result with itself. Never
prints note text.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from crisis_nlp.training.behaviour import BY_NAME, run_checks  # noqa: E402
from crisis_nlp.errors import CrisisNLPError  # noqa: E402
from crisis_nlp.batch.tables import read_records  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", action="append", required=True, help="a JSONL or CSV file with a text column (repeatable)")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--model", default=None, help="a registry version ('2.0.0', 'default@2.0.0'); the default if omitted")
    src.add_argument("--model-folder", default=None, help="a model version folder instead of a registry version")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--checks", default=None, help=f"comma-separated subset of: {', '.join(BY_NAME)}")
    ap.add_argument("--json", action="store_true", help="print the reports as JSON instead of tables")
    args = ap.parse_args(argv)
    try:
        from crisis_nlp.api import load_model, load_model_folder

        model = load_model_folder(args.model_folder) if args.model_folder else load_model(args.model)
        checks = [c.strip() for c in args.checks.split(",")] if args.checks else None
        out = {}
        for path in args.data:
            records = list(read_records(path))
            ids = [str(r.get("id") or i) for i, r in enumerate(records)]
            report = run_checks(model, [r["text"] for r in records], ids=ids, seed=args.seed, checks=checks)
            if args.json:
                out[path] = report.to_dict()
            else:
                print(f"## {path}: model {model.version}, {report.n_notes} notes, seed {args.seed}\n")
                print(report.format_table())
                print()
    except CrisisNLPError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyError:
        print("error: every record needs a 'text' field.", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
