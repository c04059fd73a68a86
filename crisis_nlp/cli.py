"""The ``crisis-nlp`` command line: a thin layer over the library.

Each command calls one library function; library errors become a one-line message and
exit status 1 (usage errors: 2). Note text is never logged.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import sys
from pathlib import Path

from .errors import CrisisNLPError, InputError, ModelError, OutputError



def _progress_enabled(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def cmd_classify(args: argparse.Namespace) -> int:
    from .api import load_model

    from .batch.tables import check_encoding, decode_text

    encoding = check_encoding(args.encoding)
    if args.eido:
        from .serve.eido import classify_eido

        try:
            raw = sys.stdin.buffer.read() if args.eido == "-" else Path(args.eido).read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {args.eido}: {exc.strerror or exc}") from None
        out = classify_eido(load_model(args.model, registry=args.registry), raw)
        if args.format == "text":  # the suggestion only; the EIDO document is JSON or nothing
            _print_result_text(out["result"])
        else:
            print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    if args.text is not None:  # the shell's bytes, as Python decoded them (surrogateescape)
        data = os.fsencode(args.text)
        where = "the note argument"
    else:
        data = sys.stdin.buffer.read()
        where = "the note on stdin"
    text = decode_text(data, encoding, where)
    result = load_model(args.model, registry=args.registry).classify(text)
    if args.format == "text":
        _print_result_text(result.to_dict())
    else:
        print(json.dumps(result.to_dict(), indent=2 if sys.stdout.isatty() else None, ensure_ascii=False))
    return 0


def _print_result_text(result: dict) -> None:
    print(f"response mode : {result['response_mode']}")
    print(f"categories    : {', '.join(result['categories']) or '-'}")
    print(f"flags         : {', '.join(result['flags']) or '-'}")
    print(f"why           : {result['reason']}")
    print(f"model         : {result['model_version']}")


def cmd_relabel(args: argparse.Namespace) -> int:
    from .batch.progress import Progress

    if args.scheduler:
        from .batch.dask import relabel_on_cluster

        if args.resume or args.jobs != 1:
            raise InputError("--scheduler runs on the Dask cluster: --resume and --jobs do not apply there.")
        relabel_on_cluster(args.input, args.output, args.scheduler, text_field=args.text_field, fmt=args.format,
                           model_spec=args.model, registry=args.registry, explain=args.reason,
                           encoding=args.encoding)
        if not args.quiet:
            _say(f"labelled on {args.scheduler} -> {args.output}")
        return 0
    from .batch.relabel import relabel_file

    progress = Progress(_progress_enabled(args.quiet))
    try:
        stats = relabel_file(
            args.input, args.output, text_field=args.text_field, compare_field=args.compare_field, fmt=args.format,
            delimiter=args.delimiter, encoding=args.encoding, model_spec=args.model, registry=args.registry,
            jobs=args.jobs, chunk_size=args.chunk_size, explain=args.reason, resume=args.resume,
            on_chunk=lambda chunk, totals, labelled: progress.update(totals["read"], chunk.fraction, labelled))
    except KeyboardInterrupt:
        progress.close()
        if args.output != "-" and args.input != "-":
            _say(f"crisis-nlp: interrupted; the chunks labelled so far are kept in {args.output}.parts: run the "
                 "same command again with --resume to finish (only the rest is labelled).")
            return 130
        raise
    dt = progress.close()
    if not args.quiet:
        _say(f"read {stats['read']:,} rows, labelled {stats['labelled']:,}, failed {stats['failed']:,} "
             f"in {dt:.1f}s ({stats['read'] / max(dt, 1e-9):,.0f} rows/s) -> {args.output}")
        for what, prefix in (("response modes", "mode:"), ("categories and flags", "label:")):
            counts = sorted(((k[len(prefix):], v) for k, v in stats.items() if k.startswith(prefix)),
                            key=lambda kv: (-kv[1], kv[0]))
            _say(f"{what}: " + (", ".join(f"{k} {v:,}" for k, v in counts) or "-"))
    if args.compare_field:
        from .batch.crosstab import cross_table, format_report, write_csv

        bh = {v.strip() for v in args.compare_bh.split(",")} if args.compare_bh else None
        rows = cross_table(stats, bh)
        dest = args.compare_out or (f"{args.output}.compare.csv" if args.output != "-" else "compare.csv")
        try:
            write_csv(rows, dest, args.compare_field)
        except OSError as exc:
            raise OutputError(f"cannot write {dest}: {exc.strerror or exc}.") from None
        if not args.quiet:
            _say("\n" + format_report(rows, args.compare_field) + f"\ncross-table written to {dest}")
    return 0


def _agency_rules(args: argparse.Namespace):
    """A rules folder with the user's own tables (--shorthand), or None for the package's."""
    if not args.shorthand:
        return None
    import tempfile

    from .resources import rules_with

    src = Path(args.shorthand)
    if not src.is_file():
        raise InputError(f"--shorthand {src}: no such file (a TSV of abbreviation<TAB>expansion lines).")
    folder = rules_with({"shorthand.tsv": src}, tempfile.mkdtemp(prefix="crisis-nlp-rules-"))
    from .preprocess.tables import parse_tsv

    parse_tsv(src.read_text(encoding="utf-8"), "shorthand.tsv")  # a malformed table fails before training
    return folder


def cmd_train(args: argparse.Namespace) -> int:
    from .training.evaluate import format_report

    gold = args.gold  # scored only when given: a gold set is never looked up from the current folder
    progress = (lambda m: None) if args.quiet else _say
    if args.data is None:  # rebuild the shipped recipe from the synthetic notes
        from .training.train import train

        agency_only = [o for o, v in (("--policy", args.policy), ("--local-only", args.local_only),
                                      ("--labels-mapping", args.labels_mapping),
                                      ("--synthetic-n", args.synthetic_n)) if v]
        if agency_only:
            raise InputError(f"{', '.join(agency_only)} apply to training on your notes: add --data FILE.")

        from .training.retrain import default_synthetic

        entry = train(args.synthetic or default_synthetic(), version=args.version, rules_dir=_agency_rules(args),
                      name=args.name or "default", registry=args.registry, gold_path=gold, seed=args.seed,
                      n_jobs=args.jobs, progress=progress)
        ev = entry.manifest["evaluation"]
        print(format_report(ev["heldout_families"], "held-out template families"))
    else:
        from .training.retrain import retrain

        if not args.name:
            raise InputError("name your agency's model with --name (e.g. --name county-x).")
        entry = retrain(args.data, version=args.version, name=args.name, registry=args.registry,
                        rules_dir=_agency_rules(args),
                        text_field=args.text_field, labels_mapping=args.labels_mapping, code_field=args.code_field,
                        fmt=args.format, synthetic=args.synthetic, synthetic_n=args.synthetic_n,
                        local_weight=args.local_weight, local_only=args.local_only, holdout=args.holdout,
                        cv_folds=args.cv_folds, policy=args.policy, min_examples=args.min_examples,
                        gold_path=gold[0] if gold else None, seed=args.seed, n_jobs=args.jobs, progress=progress)
        ev = entry.manifest["evaluation"]
        base = ev["baseline"]
        print(format_report(ev["heldout_agency"], f"{entry.spec} on held-out agency notes"))
        print()
        print(format_report(base["heldout_agency"], f"{base['spec']} on the same notes"))
    for name, metrics in (ev.get("gold_sets") or ({"gold": ev["gold"]} if ev.get("gold") else {})).items():
        print()
        print(format_report(metrics, f"gold set {name}"))
    print(f"\nwrote {entry.spec} ({entry.manifest['bytes'] / 1e6:.1f} MB) to {entry.path}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .api import load_model
    from .training.evaluate import compute_metrics, format_report
    from .training.labelled import load_labelled

    model = load_model(args.model, registry=args.registry)
    gold = load_labelled(args.data, text_field=args.text_field, fmt=args.format, encoding=args.encoding)
    if not gold:
        raise InputError(f"{args.data} holds no records.")
    results = model.classify_batch([g["text"] for g in gold])
    metrics = compute_metrics(gold, [r.to_dict() for r in results])
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print(format_report(metrics, f"{args.data} with model {model.version}"))
    if args.plot:
        from .training.plots import plot_metrics

        _say(f"wrote {plot_metrics([(model.version, metrics)], args.plot)}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from .training.agency_data import LabelMapping, load_agency_data
    from .training.compare import compare_models, format_comparison

    mapping = LabelMapping.from_file(args.labels_mapping) if args.labels_mapping else None
    data = load_agency_data(args.data, text_field=args.text_field, mapping=mapping, code_field=args.code_field,
                            fmt=args.format, training=False)
    c = compare_models(args.new, args.old, data.records, registry=args.registry, data_path=args.data,
                       fairness=not args.no_fairness)
    print(json.dumps(c, indent=2) if args.json else format_comparison(c))
    if args.plot:
        from .training.plots import plot_metrics

        _say(f"wrote {plot_metrics([(c[r]['spec'], c[r]['metrics']) for r in ('new', 'old')], args.plot)}")
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from .api import load_model
    from .notes import check_note
    from .batch.tables import read_records, write_records
    from .training.review import rank_for_review

    model = load_model(args.model, registry=args.registry)
    texts, ids = [], []
    for n, rec in enumerate(read_records(args.data, args.format, args.encoding), 1):
        text = rec.get(args.text_field)
        try:
            texts.append(check_note(text, n))
        except InputError as exc:
            raise InputError(f"{args.data} record {n}: {exc} Fix or remove the row.") from None
        ids.append(rec.get(args.id_field, n))
    rows = rank_for_review(model, texts, ids, top=args.top)
    try:
        n = write_records(rows, args.output, args.format if args.output != "-" else "jsonl")
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        raise OutputError(f"cannot write {args.output}: {exc.strerror or exc}; choose another -o.") from None
    _say(f"ranked {len(texts):,} notes with {model.version}; wrote the {n:,} least certain to {args.output}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .api import load_model
    from .serve.http import create_app, serve_stdio

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
    from .registry.lifecycle import current_default, promote, rollback
    from .registry.versions import default_registry, list_all, resolve

    action = getattr(args, "action", None) or "list"
    if action == "convert":
        return _convert(args)
    if action in ("promote", "rollback"):
        try:
            entry = promote(args.spec, args.registry) if action == "promote" else rollback(args.registry)
        except OSError as exc:
            root = args.registry or default_registry()
            raise OutputError(f"cannot write the default pointer in {root}: {exc.strerror or exc}; "
                              "check that the registry folder is writable.") from None
        print(f"{entry.spec} is now the default (load_model() returns it)" if action == "promote"
              else f"the default is back to {entry.spec}")
        return 0
    entries = list_all(args.registry)
    root = args.registry or default_registry()
    if not entries:
        print(f"no models in {root}")
        return 0
    promoted = current_default(root)
    try:
        default = resolve(None, root).spec
    except ModelError as exc:  # still list what is there
        default = f"none that loads ({exc})"
    rows, sets = [], set()
    for e in entries:
        f1, measured, key = _headline_f1(e.manifest)
        sets.add(key)
        rows.append((e, f1, measured))
    width = max(28, *(len(e.spec) + 11 for e, _f, _m in rows))
    print(f"{'model':<{width}}{'created':<27}{'cat. micro-F1':>14}  {'measured on':<24}{'size MB':>8}  location")
    for e, f1, measured in rows:
        mark = (" (default)" if e.spec == default else "")
        print(f"{e.spec + mark:<{width}}{e.manifest.get('created', '?'):<27}"
              f"{(f'{f1:.3f}' if f1 is not None else '-'):>14}  {measured:<24}"
              f"{e.manifest.get('bytes', 0) / 1e6:>8.1f}  {e.path.parent.parent}")
    if len(sets - {None}) > 1:
        print("note: these micro-F1 values were measured on different notes and are not comparable; "
              "to compare two versions, score both on the same notes: crisis-nlp compare NEW OLD --data FILE")
    print(f"default: {default} ({'promoted' if promoted else 'newest shipped; nothing promoted'} in {root})")
    return 0


def _convert(args: argparse.Namespace) -> int:
    from .registry.convert import convert_legacy
    from .registry.versions import default_registry, list_all

    if not args.trust_pickle:
        raise InputError("a format-1 version is a pickle, and converting it runs its code: add --trust-pickle "
                         "only if you trust where the file came from (otherwise retrain it).")
    matches = [e for e in list_all(args.registry) if e.spec == args.spec or e.version == args.spec]
    if not matches:
        raise InputError(f"no version {args.spec!r} in the registry; `crisis-nlp models` lists them.")
    out = args.registry or default_registry()
    entry = convert_legacy(matches[-1].path, registry=out)
    print(f"converted {matches[-1].spec} to plain data: {entry.path}")
    return 0


def _headline_f1(manifest: dict) -> tuple[float | None, str, object]:
    """A version's category micro-F1, what it was measured on (for people) and a key that
    is equal only for the same set of notes."""
    ev = manifest.get("evaluation") or {}
    for name, label in (("gold", "gold set"), ("heldout_agency", "own held-out notes")):
        m = ev.get(name)
        if isinstance(m, dict) and "category_micro" in m:
            n = m.get("n", "?")
            if name == "gold":
                key = ("gold", n)  # the shipped version records no hash of its gold file
            else:
                key = ("heldout_agency", manifest.get("name"), manifest.get("version"), n)
            return m["category_micro"].get("f1"), f"{label} (n={n})", key
    return None, "-", None


README_RETRAIN = "Your agency's notes: retrain, compare, promote, review"
TEXT_FIELD_HELP = "column holding the note (default: text)"
FORMAT_HELP = "jsonl or csv (default: guessed from the file name)"
_SPEC = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*(@[A-Za-z0-9][A-Za-z0-9._+-]*)?")


def _spec_arg(value: str) -> str:
    """A model name, version or name@version: no whitespace, no control or path characters."""
    if not _SPEC.fullmatch(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a model name or version: use letters, digits and "
                                         ". _ + - only (e.g. county-x@1.1.0), no spaces or line breaks")
    return value


def _name_arg(value: str) -> str:
    if "@" in value:
        raise argparse.ArgumentTypeError(f"{value!r}: a model name has no '@' (pass the version with --version)")
    return _spec_arg(value)


def _version_arg(value: str) -> str:
    if "@" in value:
        raise argparse.ArgumentTypeError(f"{value!r}: a version has no '@' (pass the name with --name)")
    return _spec_arg(value)


def encoding_opt(sp: argparse.ArgumentParser, what: str = "") -> None:
    from .batch.tables import ENCODINGS

    sp.add_argument("--encoding", default="utf-8", choices=ENCODINGS,
                    help=f"text encoding of the input{what} (default: utf-8; cp1252 and latin-1 for "
                         "older CAD exports)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="crisis-nlp", description="Label emergency call notes with behavioural-health "
                                "crisis categories, risk flags and a recommended response mode. Decision support "
                                "for trained people, not a dispatcher.")
    from . import __version__

    p.add_argument("--version", action="version", version=f"crisis-nlp {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def model_opts(sp):
        sp.add_argument("--model", default=None, type=_spec_arg, help="model version: 1.0.0, name or name@1.0.0 (default: the promoted default)")
        sp.add_argument("--registry", default=None, help="model registry folder, searched before the shipped one (default: $CRISIS_NLP_REGISTRY, else your user data folder)")

    c = sub.add_parser("classify", help="classify one note (argument or stdin)")
    c.add_argument("text", nargs="?", help="the note; read from stdin when omitted")
    c.add_argument("--format", choices=("json", "text"), default="json", help="json (default) or text for people; "
                   "with --eido, text prints the suggestion only")
    encoding_opt(c, " note (argument or stdin; an EIDO document is always UTF-8 JSON)")
    c.add_argument("--eido", metavar="FILE", help="classify the notes of a NENA EIDO JSON document ('-' = stdin) "
                   "and print the result plus the EIDO with the classifier's note added")
    model_opts(c)
    c.set_defaults(func=cmd_classify)

    r = sub.add_parser("relabel", help="label every row of a CSV, JSONL or Parquet file (resumable, parallel)")
    r.add_argument("input", help="CSV, JSONL(.gz) or Parquet file ('-' = stdin, JSONL or CSV)")
    r.add_argument("-o", "--output", required=True, help="output file, same format as the input ('-' = stdout, "
                   "no resume); every input column is kept and the result columns are added")
    r.add_argument("--text-field", default="text", help="column holding the note (default: text)")
    r.add_argument("--id-field", default=None, help="accepted for compatibility: every input column is kept")
    r.add_argument("--format", choices=("jsonl", "csv", "parquet"), default=None,
                   help="override the format guessed from the file name")
    r.add_argument("--delimiter", default=None, help="CSV delimiter (default: sniffed from , ; tab |)")
    encoding_opt(r, "; the output is written in the same encoding")
    r.add_argument("--jobs", type=int, default=1, help="worker processes (output order and results are the same)")
    r.add_argument("--chunk-size", type=int, default=2048, help="rows per chunk: the unit of work, of memory "
                   "and of resume (default: 2048)")
    r.add_argument("--resume", action="store_true", help="finish a run that was interrupted or killed "
                   "(same input, model and options)")
    r.add_argument("--reason", action="store_true", help="add the reason column (why this mode; slower)")
    r.add_argument("--compare-field", default=None, metavar="COL", help="cross-table this column (e.g. the old "
                   "call type) against the new response mode and categories")
    r.add_argument("--compare-bh", default=None, metavar="V1,V2", help="values of --compare-field that already "
                   "mean a behavioural-health call (default: names with mental, psych, suicid, crisis, EDP ...)")
    r.add_argument("--compare-out", default=None, help="where to write the cross-table CSV "
                   "(default: OUTPUT.compare.csv)")
    r.add_argument("--scheduler", default=None, metavar="ADDRESS", help="run on a Dask cluster, e.g. "
                   "tcp://host:8786 (the dask extra)")
    r.add_argument("--quiet", action="store_true", help="no progress or summary on stderr")
    model_opts(r)
    r.set_defaults(func=cmd_relabel)

    t = sub.add_parser("train", help="train and register a model version: on your labelled notes (--data) "
                       "or, without --data, the shipped recipe on the synthetic notes")
    t.add_argument("--data", default=None, help=f'your labelled notes (CSV or JSONL); see README "{README_RETRAIN}"')
    t.add_argument("--version", required=True, type=_version_arg, help="semantic version of the new model, e.g. 1.1.0")
    t.add_argument("--name", default=None, type=_name_arg, help="model name (default: 'default'; required with --data)")
    t.add_argument("--registry", default=None, help="where to write (default: $CRISIS_NLP_REGISTRY, else your user data folder)")
    t.add_argument("--text-field", default="text", help=TEXT_FIELD_HELP)
    t.add_argument("--format", choices=("jsonl", "csv"), default=None, help=FORMAT_HELP)
    encoding_opt(t)
    t.add_argument("--labels-mapping", metavar="CSV", default=None,
                   help="CSV code,labels[,response_mode] mapping your own codes to taxonomy ids")
    t.add_argument("--code-field", default="call_type", help="column holding your codes (with --labels-mapping)")
    t.add_argument("--local-weight", type=float, default=1.0, help="weight of your notes against synthetic ones")
    t.add_argument("--local-only", action="store_true", help="train on your notes alone, no synthetic ones")
    t.add_argument("--synthetic", metavar="PATH", default=None,
                   help="synthetic notes (default: training_data_synthetic/notes.jsonl.gz of the source repo)")
    t.add_argument("--synthetic-n", type=int, default=None, help="use a seeded random subset of this many synthetic notes")
    t.add_argument("--holdout", type=float, default=0.25, help="fraction of your notes held out for evaluation")
    t.add_argument("--cv-folds", type=int, default=3, help="cross-fitting folds for threshold tuning")
    t.add_argument("--min-examples", type=int, default=10, help="fewest positive notes a label of yours needs")
    t.add_argument("--policy", metavar="TOML", default=None, help="your response policy, stored with the version")
    t.add_argument("--shorthand", metavar="TSV", default=None,
                   help="your agency's shorthand table (abbreviation<TAB>expansion), used instead of the "
                        "shipped one and stored with the new version")
    t.add_argument("--gold", action="append", default=None, metavar="FILE",
                   help="a hand-labelled set to score the new version on, never tuned on (repeatable; "
                        "e.g. tests/data/gold.jsonl)")
    t.add_argument("--seed", type=int, default=0, help="random seed of the split, folds and sampling (default: 0)")
    t.add_argument("--jobs", type=int, default=2, help="processes for fitting (default: 2)")
    t.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    t.set_defaults(func=cmd_train)

    cp = sub.add_parser("compare", help="two model versions side by side on the same labelled notes")
    cp.add_argument("new", help="the candidate, e.g. county-x@1.1.0")
    cp.add_argument("old", help="what it is measured against, e.g. default@1.0.0")
    cp.add_argument("--data", required=True, help="labelled notes neither version was trained on")
    cp.add_argument("--text-field", default="text", help=TEXT_FIELD_HELP)
    cp.add_argument("--format", choices=("jsonl", "csv"), default=None, help=FORMAT_HELP)
    encoding_opt(cp)
    cp.add_argument("--labels-mapping", metavar="CSV", default=None,
                    help="CSV code,labels[,response_mode] mapping your own codes to taxonomy ids")
    cp.add_argument("--code-field", default="call_type", help="column holding your codes (with --labels-mapping)")
    cp.add_argument("--json", action="store_true", help="print the comparison as JSON")
    cp.add_argument("--no-fairness", action="store_true", help="skip the counterfactual fairness figures "
                    "(sex swap, race word, name, control; about 17 classifications per note, on up to 1,000 notes)")
    cp.add_argument("--plot", metavar="PNG", default=None, help="also write a PNG (needs crisis-nlp[plots])")
    cp.add_argument("--registry", default=None, help="model registry folder (searched before the shipped one)")
    cp.set_defaults(func=cmd_compare)

    rv = sub.add_parser("review", help="the unlabelled notes the model is least sure about, to label next")
    rv.add_argument("--data", required=True, help="unlabelled notes (CSV or JSONL)")
    rv.add_argument("--top", type=int, default=200, help="how many notes to list")
    rv.add_argument("-o", "--output", required=True, help="output file, same format ('-' = stdout)")
    rv.add_argument("--text-field", default="text", help=TEXT_FIELD_HELP)
    rv.add_argument("--id-field", default="id", help="column holding each note's id, copied to the output "
                    "(default: id; the row number when absent)")
    rv.add_argument("--format", choices=("jsonl", "csv"), default=None, help=FORMAT_HELP)
    encoding_opt(rv)
    model_opts(rv)
    rv.set_defaults(func=cmd_review)

    e = sub.add_parser("evaluate", help="per-label precision/recall/F1 and response-mode confusion on labelled notes")
    e.add_argument("--data", required=True, help="labelled JSONL or CSV (categories, flags, response_mode)")
    e.add_argument("--text-field", default="text", help=TEXT_FIELD_HELP)
    e.add_argument("--format", choices=("jsonl", "csv"), default=None, help=FORMAT_HELP)
    encoding_opt(e)
    e.add_argument("--json", action="store_true", help="print the metrics as JSON")
    e.add_argument("--plot", metavar="PNG", default=None, help="also write a PNG (needs crisis-nlp[plots])")
    model_opts(e)
    e.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("serve", help="serve the model: JSON lines on stdin/stdout (--stdio) or HTTP")
    s.add_argument("--stdio", action="store_true", help="one JSON request per line on stdin, one result per line on stdout")
    s.add_argument("--host", default="127.0.0.1", help="HTTP interface (default: loopback only)")
    s.add_argument("--port", type=int, default=8080, help="HTTP port (default: 8080)")
    s.add_argument("--quiet", action="store_true", help="no access log")
    model_opts(s)
    s.set_defaults(func=cmd_serve)

    m = sub.add_parser("models", help="list the model versions (default), promote one to default, or roll back")
    m.add_argument("--registry", default=None, help="model registry folder, searched before the shipped one (default: $CRISIS_NLP_REGISTRY, else your user data folder)")
    m.set_defaults(func=cmd_models)
    ms = m.add_subparsers(dest="action", metavar="ACTION")
    ms.add_parser("list", help="list versions and the current default")
    mp = ms.add_parser("promote", help="make a version what load_model() returns")
    mp.add_argument("spec", type=_spec_arg, help="name@version, e.g. county-x@1.1.0")
    ms.add_parser("rollback", help="return the default to the one before the last promote")
    mc = ms.add_parser("convert", help="convert a trusted format-1 (pickled) version to plain data, once")
    mc.add_argument("spec", help="name@version of the format-1 version")
    mc.add_argument("--trust-pickle", action="store_true",
                    help="required: you trust the file (converting it unpickles it, which runs its code)")
    for sp_ in ms.choices.values():
        sp_.add_argument("--registry", default=argparse.SUPPRESS, help="model registry folder")
    return p


def main(argv: list[str] | None = None) -> int:
    from .batch.tables import file_encoding

    args = build_parser().parse_args(argv)
    try:
        # train --data and compare --data are read deep in the library: the encoding goes with the path
        with file_encoding(getattr(args, "data", None), getattr(args, "encoding", None)):
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
