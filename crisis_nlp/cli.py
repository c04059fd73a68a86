"""The ``crisis-nlp`` command line: a thin layer over the library.

Each command calls one library function; library errors become a one-line message and
exit status 1 (usage errors: 2). Note text is never logged.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections import Counter
from pathlib import Path

from .errors import CrisisNLPError, InputError



def _progress_enabled(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def cmd_classify(args: argparse.Namespace) -> int:
    from .api import load_model

    model = load_model(args.model, registry=args.registry)
    if args.eido:
        from .eido import classify_eido

        try:
            raw = sys.stdin.buffer.read() if args.eido == "-" else Path(args.eido).read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {args.eido}: {exc.strerror or exc}") from None
        print(json.dumps(classify_eido(model, raw), indent=2, ensure_ascii=False))
        return 0
    text = args.text if args.text is not None else sys.stdin.read()
    result = model.classify(text)
    if args.format == "text":
        print(f"response mode : {result.response_mode}")
        print(f"categories    : {', '.join(result.categories) or '-'}")
        print(f"flags         : {', '.join(result.flags) or '-'}")
        print(f"why           : {result.reason}")
        print(f"model         : {result.model_version}")
    else:
        print(json.dumps(result.to_dict(), indent=2 if sys.stdout.isatty() else None, ensure_ascii=False))
    return 0


def cmd_relabel(args: argparse.Namespace) -> int:
    from .batch import relabel, tally
    from .io import read_records, write_records

    stats: Counter = Counter()
    show = _progress_enabled(args.quiet)
    t0 = time.perf_counter()

    def counted(rows):
        last = 0.0
        for row in rows:
            tally(stats, row)
            yield row
            now = time.perf_counter()
            if show and now - last > 0.5:
                last = now
                n = stats["read"]
                print(f"\r{n:,} rows, {n / max(now - t0, 1e-9):,.0f} rows/s", end="", file=sys.stderr, flush=True)

    if args.jobs == 1:
        from .api import load_model

        model = load_model(args.model, registry=args.registry)  # fail fast on a bad --model
    else:
        model = None
    rows = relabel(read_records(args.input, args.format), model=model, model_spec=args.model,
                   registry=args.registry, id_field=args.id_field, text_field=args.text_field, jobs=args.jobs)
    n = write_records(counted(rows), args.output, args.format if args.output != "-" else "jsonl")
    dt = time.perf_counter() - t0
    if show:
        print(file=sys.stderr)
    if not args.quiet:
        _say(f"read {stats['read']:,} rows, labelled {stats['labelled']:,}, failed {stats['failed']:,} "
             f"in {dt:.1f}s ({n / max(dt, 1e-9):,.0f} rows/s) -> {args.output}")
        modes = {k[5:]: v for k, v in stats.items() if k.startswith("mode:")}
        labels = {k[6:]: v for k, v in stats.items() if k.startswith("label:")}
        _say("response modes: " + ", ".join(f"{k} {v}" for k, v in sorted(modes.items(), key=lambda x: -x[1])))
        _say("labels: " + (", ".join(f"{k} {v}" for k, v in sorted(labels.items(), key=lambda x: -x[1])) or "-"))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .train import train

    gold = args.gold
    if gold is None and Path("tests/data/gold.jsonl").exists():
        gold = "tests/data/gold.jsonl"
    entry = train(args.data, version=args.version, name=args.name, registry=args.registry,
                  gold_path=gold, seed=args.seed, n_jobs=args.jobs,
                  progress=(lambda m: None) if args.quiet else _say)
    ev = entry.manifest["evaluation"]
    from .evaluate import format_report

    print(format_report(ev["heldout_families"], "held-out template families"))
    if ev.get("gold"):
        print()
        print(format_report(ev["gold"], f"gold set {gold}"))
    print(f"\nwrote {entry.spec} ({entry.manifest['artifact_bytes'] / 1e6:.1f} MB) to {entry.path}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .api import load_model
    from .evaluate import compute_metrics, format_report
    from .io import load_labelled

    model = load_model(args.model, registry=args.registry)
    gold = load_labelled(args.data, text_field=args.text_field, fmt=args.format)
    if not gold:
        raise InputError(f"{args.data} holds no records.")
    results = model.classify_batch([g["text"] for g in gold])
    metrics = compute_metrics(gold, [r.to_dict() for r in results])
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print(format_report(metrics, f"{args.data} with model {model.version}"))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .api import load_model
    from .service import create_app, serve_stdio

    model = load_model(args.model, registry=args.registry)
    model.classify("warm up")
    gc.collect()
    gc.freeze()  # the loaded model is long-lived: keep it out of the collector's scans (fewer slow calls)
    if args.stdio:
        serve_stdio(model)
        return 0
    try:
        import uvicorn
    except ImportError:
        raise CrisisNLPError("the HTTP service needs uvicorn: pip install 'crisis-nlp[serve]'") from None
    _say(f"crisis-nlp {model.version} serving on http://{args.host}:{args.port} (docs at /docs)")
    uvicorn.run(create_app(model), host=args.host, port=args.port, log_level="warning" if args.quiet else "info")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from .registry import default_registry, list_models

    entries = list_models(args.registry)
    root = args.registry or default_registry()
    if not entries:
        print(f"no models in {root}")
        return 0
    newest = {}
    for e in entries:
        newest[e.name] = e
    print(f"{'model':<24}{'created':<28}{'gold micro-F1':>14}{'size MB':>9}")
    for e in entries:
        gold = (e.manifest.get("evaluation") or {}).get("gold") or {}
        f1 = gold.get("category_micro", {}).get("f1")
        mark = " (newest)" if newest[e.name] is e else ""
        print(f"{e.spec + mark:<24}{e.manifest.get('created', '?'):<28}"
              f"{(f'{f1:.3f}' if f1 is not None else '-'):>14}{e.manifest.get('artifact_bytes', 0) / 1e6:>9.1f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="crisis-nlp", description="Label emergency call notes with behavioural-health "
                                "crisis categories, risk flags and a recommended response mode. Decision support "
                                "for trained people, not a dispatcher.")
    from . import __version__

    p.add_argument("--version", action="version", version=f"crisis-nlp {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def model_opts(sp):
        sp.add_argument("--model", default=None, help="model version: 1.0.0, name or name@1.0.0 (default: newest shipped)")
        sp.add_argument("--registry", default=None, help="model registry folder (default: $CRISIS_NLP_REGISTRY or the shipped one)")

    c = sub.add_parser("classify", help="classify one note (argument or stdin)")
    c.add_argument("text", nargs="?", help="the note; read from stdin when omitted")
    c.add_argument("--format", choices=("json", "text"), default="json")
    c.add_argument("--eido", metavar="FILE", help="classify the notes of a NENA EIDO JSON document ('-' = stdin) "
                   "and print the result plus the EIDO with the classifier's note added")
    model_opts(c)
    c.set_defaults(func=cmd_classify)

    r = sub.add_parser("relabel", help="label every record of a JSONL or CSV file")
    r.add_argument("input", help="JSONL or CSV file ('-' = JSONL on stdin)")
    r.add_argument("-o", "--output", required=True, help="output file, same format ('-' = stdout)")
    r.add_argument("--id-field", default="id")
    r.add_argument("--text-field", default="text")
    r.add_argument("--format", choices=("jsonl", "csv"), default=None, help="override the format guessed from the name")
    r.add_argument("--quiet", action="store_true", help="no progress or summary on stderr")
    r.add_argument("--jobs", type=int, default=1, help="worker processes (output order and results are the same)")
    model_opts(r)
    r.set_defaults(func=cmd_relabel)

    t = sub.add_parser("train", help="train and register a model version from labelled notes")
    t.add_argument("--data", default="training_data_synthetic/notes.jsonl.gz")
    t.add_argument("--version", required=True, help="semantic version of the new model, e.g. 1.0.0")
    t.add_argument("--name", default="default")
    t.add_argument("--registry", default=None, help="where to write (default: $CRISIS_NLP_REGISTRY or the shipped models/)")
    t.add_argument("--gold", default=None, help="gold set to score (default: tests/data/gold.jsonl if present)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--jobs", type=int, default=2)
    t.add_argument("--quiet", action="store_true")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="per-label precision/recall/F1 and response-mode confusion on labelled notes")
    e.add_argument("--data", required=True, help="labelled JSONL or CSV (categories, flags, response_mode)")
    e.add_argument("--text-field", default="text")
    e.add_argument("--format", choices=("jsonl", "csv"), default=None)
    e.add_argument("--json", action="store_true", help="print the metrics as JSON")
    model_opts(e)
    e.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("serve", help="serve the model: JSON lines on stdin/stdout (--stdio) or HTTP")
    s.add_argument("--stdio", action="store_true", help="one JSON request per line on stdin, one result per line on stdout")
    s.add_argument("--host", default="127.0.0.1", help="HTTP interface (default: loopback only)")
    s.add_argument("--port", type=int, default=8080)
    s.add_argument("--quiet", action="store_true", help="no access log")
    model_opts(s)
    s.set_defaults(func=cmd_serve)

    m = sub.add_parser("models", help="list the model versions in the registry")
    m.add_argument("--registry", default=None)
    m.set_defaults(func=cmd_models)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CrisisNLPError as exc:
        print(f"crisis-nlp: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("crisis-nlp: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
