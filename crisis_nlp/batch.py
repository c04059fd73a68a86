"""Labelling many records: chunked, in order, one row out per row in, optionally in
several processes. The CLI's ``relabel`` is a thin layer over :func:`relabel`."""

from __future__ import annotations

import multiprocessing as mp
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from typing import Any

from .errors import InputError

CHUNK_SIZE = 512
RESULT_FIELDS = ("categories", "flags", "response_mode", "scores", "reason", "model_version")


def label_chunk(model, chunk: list[dict[str, Any]], id_field: str, text_field: str) -> list[dict[str, Any]]:
    """Label one chunk. A bad row (missing, empty, non-text or over-long note) gets an
    ``error`` saying why instead of labels; the note text never appears in it."""
    from .api import _check_note

    good: list[tuple[int, str]] = []
    errors: dict[int, str] = {}
    for i, rec in enumerate(chunk):
        value = rec.get(text_field)
        try:
            good.append((i, _check_note(value, 0)))
        except InputError as exc:
            what = "missing" if value is None else str(exc).split("; ")[0].replace("note 0 ", "")
            errors[i] = f"field {text_field!r}: {what}"
    results = dict(zip((i for i, _ in good), model.classify_batch([t for _, t in good]))) if good else {}
    out = []
    for i, rec in enumerate(chunk):
        row: dict[str, Any] = {id_field: rec.get(id_field)}
        if i in errors:
            row.update({k: None for k in RESULT_FIELDS})
            row.update(model_version=model.version, error=errors[i])
        else:
            row.update(results[i].to_dict())
            row["error"] = None
        out.append(row)
    return out


def _chunks(records: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    buf: list[dict[str, Any]] = []
    for rec in records:
        buf.append(rec)
        if len(buf) >= size:
            yield buf
            buf = []
    if buf:
        yield buf


_worker_model = None


def _init_worker(model_spec: str | None, registry: str | None) -> None:
    global _worker_model
    from .api import load_model

    _worker_model = load_model(model_spec, registry=registry)  # once per worker process


def _work(args: tuple[list[dict[str, Any]], str, str]) -> list[dict[str, Any]]:
    chunk, id_field, text_field = args
    return label_chunk(_worker_model, chunk, id_field, text_field)


def relabel(
    records: Iterable[dict[str, Any]],
    *,
    model=None,
    model_spec: str | None = None,
    registry: str | None = None,
    id_field: str = "id",
    text_field: str = "text",
    jobs: int = 1,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[dict[str, Any]]:
    """Yield one output row per input record, in input order.

    ``jobs > 1`` labels chunks in that many worker processes (each loads the model once);
    at most ``2 * jobs`` chunks are in flight, so memory stays flat however long the input.
    Results are identical to ``jobs=1``.
    """
    if jobs < 1:
        raise InputError(f"jobs must be at least 1, got {jobs}.")
    if jobs == 1:
        if model is None:
            from .api import load_model

            model = load_model(model_spec, registry=registry)
        for chunk in _chunks(records, chunk_size):
            yield from label_chunk(model, chunk, id_field, text_field)
        return
    ctx = mp.get_context("spawn")  # no fork of a process that may hold BLAS or spaCy threads
    with ctx.Pool(jobs, initializer=_init_worker, initargs=(model_spec, registry)) as pool:
        pending: deque = deque()
        for chunk in _chunks(records, chunk_size):
            pending.append(pool.apply_async(_work, ((chunk, id_field, text_field),)))
            if len(pending) >= 2 * jobs:
                yield from pending.popleft().get()
        while pending:
            yield from pending.popleft().get()


def tally(stats: Counter, row: dict[str, Any]) -> None:
    """Add one output row to run statistics (rows read, labelled, failed, per mode and label)."""
    stats["read"] += 1
    if row.get("error"):
        stats["failed"] += 1
        return
    stats["labelled"] += 1
    stats[f"mode:{row['response_mode']}"] += 1
    stats.update(f"label:{x}" for x in row["categories"] + row["flags"])
