"""Relabelling on a Dask cluster, for data that outgrows one machine (the ``dask`` extra).

``relabel_dask(ddf)`` maps :func:`crisis_nlp.batch.frame.relabel_frame` over the partitions of a
dask DataFrame; each worker process loads the model once (a per-process cache keyed by
model and registry) and keeps it for every partition it labels. Point it at a cluster
with ``distributed.Client("tcp://host:8786")``; the workers need crisis-nlp installed.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from ..errors import InputError
from .frame import require

_models: dict[tuple[str | None, str | None], Any] = {}
_lock = threading.Lock()
loads = 0  # how many models this process has loaded (tests check once per worker)


def worker_model(model_spec: str | None = None, registry: str | None = None):
    """The model for this process, loaded on first use and kept."""
    global loads
    key = (model_spec, registry)
    with _lock:
        if key not in _models:
            from ..api import load_model

            _models[key] = load_model(model_spec, registry=registry)
            loads += 1
        return _models[key]


def _label_partition(df, text_column: str, model_spec: str | None, registry: str | None, explain: bool):
    from .frame import relabel_frame

    return relabel_frame(worker_model(model_spec, registry), df, text_column=text_column, explain=explain)


def relabel_dask(ddf: Any, *, text_column: str = "text", model_spec: str | None = None,
                 registry: str | None = None, explain: bool = False) -> Any:
    """A lazy dask DataFrame: every column of ``ddf`` plus the result columns, partition by
    partition, in the same order; compute it (or write it) on whatever scheduler is active."""
    pd = require("pandas", "dask")
    require("dask.dataframe", "dask")
    from .labelling import result_columns

    if text_column not in ddf.columns:
        raise InputError(f"the frame has no column {text_column!r}; pass text_column=.")
    meta = ddf._meta.copy()
    for c in result_columns(explain):
        meta[c] = pd.Series([], dtype="float64" if c.startswith("score_") else object)
    return ddf.map_partitions(_label_partition, text_column, model_spec, registry, explain, meta=meta)


def relabel_on_cluster(input: str, output: str, scheduler: str, *, text_field: str = "text", fmt: str | None = None,
                       model_spec: str | None = None, registry: str | None = None, explain: bool = False,
                       timeout: str = "20s", encoding: str = "utf-8") -> None:
    """The CLI's ``--scheduler``: read CSV/JSONL/Parquet with dask (``input`` may be a glob),
    label on the cluster at ``scheduler`` and write ``output`` as a folder of part files of
    the same format, numbered in input order. Paths must be readable and writable by the
    workers (a shared file system or an object store). ``encoding`` is how CSV and JSONL
    input is read (utf-8, cp1252 or latin-1); the output is UTF-8."""
    from .tables import check_encoding, table_format

    encoding = check_encoding(encoding)

    dd = require("dask.dataframe", "dask")
    distributed = require("distributed", "dask")
    kind = table_format(input, fmt)
    try:
        client = distributed.Client(scheduler, timeout=timeout)
    except OSError as exc:
        raise InputError(f"cannot reach the Dask scheduler at {scheduler} ({exc}); start one with "
                         "`dask scheduler` and workers with `dask worker ADDRESS`.") from None
    with client:
        if kind == "csv":
            # one partition per file: a quoted note may span lines, so a file cannot be split safely
            ddf = dd.read_csv(input, dtype=str, keep_default_na=False, blocksize=None, encoding=encoding)
        elif kind == "jsonl":
            ddf = dd.read_json(input, lines=True, blocksize=2**26, dtype=False, encoding=encoding)
        else:
            ddf = dd.read_parquet(input)
        out = relabel_dask(ddf, text_column=text_field, model_spec=model_spec, registry=registry, explain=explain)
        if kind == "parquet":
            from .labelling import result_columns
            from .formats import result_schema

            import pyarrow as pa

            # the whole schema: dask would infer the result columns from placeholder objects
            base = pa.Schema.from_pandas(ddf._meta_nonempty, preserve_index=False)
            schema = pa.schema(list(base) + list(result_schema(result_columns(explain))))
            out.to_parquet(output, write_index=False, schema=schema)
        elif kind == "csv":
            out = out.map_partitions(_lists_as_json, meta=out._meta)
            out.to_csv(str(Path(output) / "part-*.csv"), index=False, name_function=_part_name)
        else:
            out.to_json(str(Path(output) / "part-*.jsonl"), orient="records", lines=True, force_ascii=False,
                        name_function=_part_name)


def _part_name(i: int) -> str:
    return f"{i:06d}"


def _lists_as_json(df):
    import json

    df = df.copy()
    for c in ("categories", "flags"):
        df[c] = [json.dumps(v) if isinstance(v, list) else "" for v in df[c]]
    return df
