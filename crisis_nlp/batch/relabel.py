"""Labelling many notes: chunked, in order, one result row per input row, optionally in
several processes. For a file, a worker gets a chunk as read (JSONL: the raw lines) and
gives back the bytes of its output part and its statistics: parsing, labelling and
writing all run in the workers, and the parent (which loads no model) only reads,
journals and counts, so ``--jobs N`` costs little beyond the labelling itself."""

from __future__ import annotations

import gc
import gzip
import io
import itertools
import multiprocessing as mp
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import InputError, OutputError
from .formats import Chunk, TableFormat
from .labelling import CHUNK_SIZE, label_texts, result_columns  # noqa: F401  (result_columns: public here too)

_worker_model = None


def _init_worker(model_spec: str | None, registry: str | None, model_path: str | None = None) -> None:
    global _worker_model
    from ..api import load_model, load_model_folder

    # once per worker process: the caller's own model when it gave one, else the spec's
    _worker_model = load_model_folder(model_path) if model_path else load_model(model_spec, registry=registry)
    gc.freeze()  # the model lives as long as the worker: keep it out of the collector's scans


def _work(args: tuple[Callable, Chunk, tuple]) -> Any:
    task, chunk, task_args = args
    return task(_worker_model, chunk, *task_args)


def _label_chunk(model, chunk: Chunk, explain: bool) -> dict[str, list]:
    return label_texts(model, chunk.texts, explain=explain)  # type: ignore[arg-type]


def label_part(model, chunk: Chunk, form: TableFormat, explain: bool) -> tuple[bytes, Counter]:
    """One chunk of a file, start to end: its notes decoded, labelled, and its part file's
    bytes and statistics made. This runs in the ``--jobs`` worker, so the parent only
    reads and writes bytes."""
    form.decode(chunk)
    cols = label_texts(model, chunk.texts, explain=explain)  # type: ignore[arg-type]
    buf = io.BytesIO()
    form.write_part(chunk, cols, buf)
    return buf.getvalue(), chunk_stats(cols, chunk.keys)


def _map_chunks(
    chunks: Iterable[Chunk],
    task: Callable[..., Any],
    task_args: tuple = (),
    *,
    model=None,
    model_spec: str | None = None,
    registry: str | None = None,
    jobs: int = 1,
    skip: Callable[[Chunk], bool] = lambda chunk: False,
) -> Iterator[tuple[Chunk, Any]]:
    """Yield ``(chunk, task(model, chunk, *task_args))`` in input order; ``None`` for
    chunks that ``skip`` says are done already (a resumed run), which are not run again.

    ``jobs > 1`` runs the task in that many worker processes (each loads the model once);
    at most ``2 * jobs`` chunks are in flight, so memory stays flat however long the input.
    """
    if jobs < 1:
        raise InputError(f"jobs must be at least 1, got {jobs}.")
    if jobs == 1:
        if model is None:
            from ..api import load_model

            model = load_model(model_spec, registry=registry)
        # the collector would scan the model's many objects again and again while a run
        # makes millions of short-lived ones; frozen for the run only (not if the caller
        # has frozen already), so a long-lived caller gets its objects back afterwards
        freeze = gc.get_freeze_count() == 0
        if freeze:
            gc.freeze()
        try:
            for chunk in chunks:
                yield chunk, (None if skip(chunk) else task(model, chunk, *task_args))
        finally:
            if freeze:
                gc.unfreeze()
        return
    model_path = None
    if model is not None:  # the workers must label with this model, not with what the spec names
        if getattr(model, "path", None) is None:
            raise InputError("a model that was not loaded from a registry can only relabel with jobs=1; "
                             "register it (save_version) or pass jobs=1.")
        model_path = str(model.path)
    ctx = mp.get_context("spawn")  # no fork of a process that may hold BLAS or spaCy threads
    with ctx.Pool(jobs, initializer=_init_worker, initargs=(model_spec, registry, model_path)) as pool:
        pending: deque = deque()
        for chunk in chunks:
            pending.append((chunk, None if skip(chunk) else pool.apply_async(_work, ((task, chunk, task_args),))))
            if len(pending) >= 2 * jobs:
                c, res = pending.popleft()
                yield c, (res.get() if res is not None else None)
        while pending:
            c, res = pending.popleft()
            yield c, (res.get() if res is not None else None)


def label_chunks(
    chunks: Iterable[Chunk],
    *,
    model=None,
    model_spec: str | None = None,
    registry: str | None = None,
    jobs: int = 1,
    explain: bool = False,
    skip: Callable[[Chunk], bool] = lambda chunk: False,
) -> Iterator[tuple[Chunk, dict[str, list] | None]]:
    """Yield ``(chunk, result columns)`` in input order; ``None`` for chunks that ``skip``
    says are done already. ``jobs > 1`` labels in that many worker processes; results
    are identical to ``jobs=1``."""
    return _map_chunks(chunks, _label_chunk, (explain,), model=model, model_spec=model_spec,
                       registry=registry, jobs=jobs, skip=skip)


def relabel(
    records: Iterable[dict[str, Any]],
    *,
    model=None,
    model_spec: str | None = None,
    registry: str | None = None,
    text_field: str = "text",
    jobs: int = 1,
    chunk_size: int = CHUNK_SIZE,
    explain: bool = False,
) -> Iterator[dict[str, Any]]:
    """Yield each record (a dict) with the result columns added, in input order."""

    def chunks() -> Iterator[Chunk]:
        buf: list[dict[str, Any]] = []
        index = 0
        for rec in records:
            buf.append(rec)
            if len(buf) >= chunk_size:
                yield Chunk(index, buf, [r.get(text_field) for r in buf], None, None)
                buf, index = [], index + 1
        if buf:
            yield Chunk(index, buf, [r.get(text_field) for r in buf], None, None)

    for chunk, cols in label_chunks(chunks(), model=model, model_spec=model_spec, registry=registry,
                                    jobs=jobs, explain=explain):
        names = list(cols)  # type: ignore[arg-type]
        for rec, res in zip(chunk.payload, zip(*cols.values())):  # type: ignore[union-attr]
            yield {**rec, **dict(zip(names, res))}


def chunk_stats(cols: dict[str, list], keys: list[Any] | None = None) -> Counter:
    """Run statistics of one labelled chunk: rows read, labelled, failed, per response mode
    and label, and (with ``keys``, the compare field) per key value (see ``compare``)."""
    from .crosstab import tally_keys

    stats: Counter = Counter()
    n = len(cols["error"])
    ok = [e is None for e in cols["error"]]
    stats["read"] = n
    stats["labelled"] = sum(ok)
    stats["failed"] = n - stats["labelled"]
    for good, mode, cats, flags in zip(ok, cols["response_mode"], cols["categories"], cols["flags"]):
        if good:
            stats["mode:" + mode] += 1
            for x in cats:
                stats["label:" + x] += 1
            for x in flags:
                stats["label:" + x] += 1
    if keys is not None:
        tally_keys(stats, keys, ok, cols["response_mode"], cols["categories"])
    return stats


def _refuse_same_file(input: str | Path, output: str | Path) -> None:
    """InputError when ``output`` is ``input`` by any path (relative, symlink, hard link):
    the run would replace the notes it reads."""
    import os

    if str(input) == "-" or str(output) == "-":
        return
    same = Path(input).resolve() == Path(output).resolve()
    if not same:
        try:
            same = os.path.samefile(input, output)
        except OSError:  # the output does not exist yet (or the input does not: reading says so)
            same = False
    if same:
        raise InputError(f"the output {output} is the input file itself; relabel writes a new file: name "
                         "another output with -o.")


def _model_identity(model, model_spec: str | None, registry: str | None) -> dict[str, Any]:
    from ..registry.versions import model_digest, resolve

    if model is not None:
        return {"model_version": model.version, "model_sha256": model_digest(model.manifest)}
    entry = resolve(model_spec, registry)
    return {"model_version": entry.spec, "model_sha256": model_digest(entry.manifest)}


def relabel_file(
    input: str | Path,
    output: str | Path,
    *,
    text_field: str = "text",
    compare_field: str | None = None,
    fmt: str | None = None,
    delimiter: str | None = None,
    encoding: str = "utf-8",
    model=None,
    model_spec: str | None = None,
    registry: str | None = None,
    jobs: int = 1,
    chunk_size: int = CHUNK_SIZE,
    explain: bool = False,
    resume: bool = False,
    on_chunk: Callable[[Chunk, Counter, bool], None] | None = None,
) -> Counter:
    """Label every row of a CSV, JSONL or Parquet file into ``output`` (same format): every
    input column, then :func:`result_columns`. Returns the run's statistics.

    The output is built from atomically written parts (see :mod:`crisis_nlp.batch.journal`);
    ``resume=True`` finishes a run that was killed, labelling only the chunks not done.
    ``output="-"`` streams CSV or JSONL to stdout instead (no journal, no resume).
    ``on_chunk(chunk, totals, labelled)`` is called after each chunk (for progress;
    ``labelled`` is False for a chunk a resumed run found done). ``encoding`` (CSV and
    JSONL: utf-8, cp1252 or latin-1) is how the input is read and the output written.
    Nothing of the input is lost (see :mod:`crisis_nlp.batch.formats`), and an output that is the
    input itself (by any path) is refused.
    """
    import sys

    from .formats import open_format
    from .tables import check_encoding, table_format, unreadable
    from .journal import Journal, input_fingerprint

    if chunk_size < 1 or jobs < 1:
        raise InputError(f"--chunk-size and --jobs must be at least 1, got {chunk_size} and {jobs}.")
    kind = table_format(input, fmt)
    if str(output) != "-" and table_format(output, fmt) != kind:
        raise InputError(f"relabel writes the input's format ({kind}); name the output accordingly, "
                         f"e.g. {Path(str(output)).stem}.{kind}.")
    if compare_field is not None and compare_field == text_field:
        raise InputError("--compare-field must not be the note column: its values would be printed.")
    _refuse_same_file(input, output)
    if resume and str(input) != "-" and str(output) != "-" and Path(input).exists() and not Path(input).is_file():
        raise InputError(f"cannot resume: {input} is not a regular file (a pipe?), so it cannot be checked to be "
                         "the input of the unfinished run; relabel a file to be able to resume.")
    encoding = check_encoding(encoding)
    if kind == "parquet":
        options: dict[str, Any] = {}
    else:
        options = {"encoding": encoding, **({"delimiter": delimiter} if kind == "csv" else {})}
    form = open_format(kind, **options)
    columns = result_columns(explain)
    chunks = form.chunks(input, text_field=text_field, compare_field=compare_field,
                         result_columns=columns, chunk_size=chunk_size)
    first = next(chunks, None)  # unreadable input or a wrong column fails here, before any output
    if first is not None:
        form.decode(first)  # so do result columns already in the input (JSONL: checked per line)
        form.check_decoded(first)  # and a JSONL input none of whose first lines has the note field
    chunks = itertools.chain([first] if first is not None else [], chunks)
    totals: Counter = Counter()

    def run(skip, write) -> int:
        n = 0
        try:
            for chunk, part in _map_chunks(chunks, label_part, (form, explain), model=model, model_spec=model_spec,
                                           registry=registry, jobs=jobs, skip=skip):
                n += 1
                stats = write(chunk, part)
                totals.update(stats)
                if on_chunk is not None:
                    on_chunk(chunk, totals, part is not None)
        except BrokenPipeError:
            raise
        except (OSError, EOFError) as exc:  # writes raise OutputError, so this is the input
            raise unreadable(input, exc, kind) from None
        return n

    def merge(parts: list[Path], f) -> None:
        if str(output).endswith(".gz"):
            with gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as g:  # mtime 0: resumed runs are identical
                form.merge(parts, g)
        else:
            form.merge(parts, f)

    if str(output) == "-":
        if kind == "parquet":
            raise InputError("Parquet cannot be streamed to stdout; name an output file.")
        out = sys.stdout.buffer
        if kind == "csv":
            out.write(form.header_bytes())  # type: ignore[attr-defined]

        def to_stdout(chunk, part):
            data, stats = part
            out.write(data)
            out.flush()
            return stats

        run(lambda c: False, to_stdout)
        return totals
    if str(input) == "-":
        if resume:
            raise InputError("cannot resume a run that reads stdin; relabel a file to be able to resume.")
        source: dict[str, Any] = {"input": "-"}
    else:
        try:
            source = input_fingerprint(input)
        except OSError as exc:
            raise InputError(f"cannot read {input}: {exc.strerror or exc}") from None
    settings = {**source, "format": kind, **form.options(), "text_field": text_field,
                "compare_field": compare_field, "chunk_size": chunk_size, "explain": explain,
                **_model_identity(model, model_spec, registry)}
    journal = Journal(output, settings, form.ext)
    done = journal.start(resume)

    def to_journal(chunk, part):
        if part is None:  # done before the restart
            return journal.stats(chunk.index)
        data, stats = part
        try:
            journal.write_part(chunk.index, lambda f: f.write(data), stats)
        except OSError as exc:
            raise OutputError(f"cannot write to {journal.dir}: {exc.strerror or exc}.") from None
        return stats

    n = run(lambda c: c.index < done, to_journal)
    try:
        journal.finish(n, merge)
    except OSError as exc:
        raise OutputError(f"cannot write {output}: {exc.strerror or exc}.") from None
    return totals
