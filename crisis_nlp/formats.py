"""The tables ``relabel`` streams: CSV, JSONL(.gz) and Parquet, read in chunks and written
back losslessly with the result columns added.

A reader yields :class:`Chunk` s: the rows as the format holds them (``payload``), the
note of each row (or a :class:`BadRow` saying why there is none), the values of the
compare field, and how far through the input it is (for the ETA). A format writes a
payload plus result columns as one part file; parts are concatenated at the end.
Bytes that are not valid UTF-8 are carried through unchanged (``surrogateescape``), so
a bad byte in one cell neither stops the run nor changes the other cells.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .errors import DataFormatError, InputError

csv.field_size_limit(2**31 - 1)
# one encoder for every output line (json.dumps with options builds a new one per call)
_JSON = json.JSONEncoder(ensure_ascii=False, check_circular=False)
SNIFF_BYTES = 65536


@dataclass(frozen=True)
class BadRow:
    """Stands in for the note of a row that has none we can use; ``reason`` says why."""

    reason: str


@dataclass
class Chunk:
    index: int
    payload: Any  # CSV: list of row lists; JSONL: list of dicts (None for an unparseable line); Parquet: RecordBatch
    texts: list[Any]
    keys: list[Any] | None  # values of the compare field, if any
    fraction: float | None  # share of the input read so far, None when unknown (stdin)


def table_format(path: str | Path, fmt: str | None = None) -> str:
    """``csv``, ``jsonl`` or ``parquet``, from ``fmt`` or the file name."""
    if fmt:
        if fmt not in ("jsonl", "csv", "parquet"):
            raise DataFormatError(f"unknown format {fmt!r}; use jsonl, csv or parquet.")
        return fmt
    name = str(path).lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".json")):
        return "jsonl"
    if name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt")):
        return "csv"
    raise DataFormatError(f"cannot tell the format of {path}; name it .csv, .jsonl or .parquet, or pass --format.")


def open_format(fmt: str, **options: Any) -> TableFormat:
    return {"csv": CsvFormat, "jsonl": JsonlFormat, "parquet": ParquetFormat}[fmt](**options)


def _open_binary(path: str | Path) -> tuple[BinaryIO | None, BinaryIO]:
    """(the raw file, for progress by position; the stream to read). Raw is None for stdin."""
    import sys

    if str(path) == "-":
        return None, sys.stdin.buffer
    try:
        raw = open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return raw, (gzip.GzipFile(fileobj=raw) if str(path).endswith(".gz") else raw)  # type: ignore[return-value]


def _fraction(raw: BinaryIO | None, size: int) -> float | None:
    return min(raw.tell() / size, 1.0) if raw is not None and size else None


def _check_columns(have: list[str], text_field: str, compare_field: str | None, result_columns: list[str]) -> None:
    for need, opt in ((text_field, "--text-field"), (compare_field, "--compare-field")):
        if need is not None and need not in have:
            shown = ", ".join(have[:20]) + (" ..." if len(have) > 20 else "")
            raise InputError(f"the input has no column {need!r} (it has: {shown}); name the right one with {opt}.")
    clash = [c for c in result_columns if c in have]
    if clash:
        raise InputError(f"the input already has result columns {clash} (is it a relabel output?); "
                         "rename or drop them first, so that nothing in the input is overwritten.")


class TableFormat:
    """One format: read chunks, write parts, merge parts. Subclasses fill in the details."""

    ext = ""

    def chunks(self, path: str | Path, *, text_field: str, compare_field: str | None,
               result_columns: list[str], chunk_size: int) -> Iterator[Chunk]:
        raise NotImplementedError

    def write_part(self, chunk: Chunk, results: dict[str, list], f: BinaryIO) -> None:
        raise NotImplementedError

    def merge(self, parts: list[Path], f: BinaryIO) -> None:
        for p in parts:
            with open(p, "rb") as src:
                shutil.copyfileobj(src, f, 1 << 20)

    def options(self) -> dict[str, Any]:
        """What a resumed run must read and write the same way (goes into the journal)."""
        return {}


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


class CsvFormat(TableFormat):
    """CSV with a header row, any of , ; tab | as delimiter (sniffed, or ``delimiter``);
    quoted fields may span lines. Output uses the input's delimiter and quote character;
    lists are JSON, missing values empty."""

    ext = "csv"

    def __init__(self, delimiter: str | None = None) -> None:
        self.delimiter = delimiter
        self.header: list[str] | None = None
        self._result_columns: list[str] = []

    def options(self) -> dict[str, Any]:
        return {"delimiter": self.delimiter}

    def _writer_options(self) -> dict[str, Any]:
        return {"delimiter": self.delimiter or ",", "quotechar": '"', "lineterminator": "\r\n"}

    def chunks(self, path, *, text_field, compare_field, result_columns, chunk_size):
        raw, stream = _open_binary(path)
        size = Path(path).stat().st_size if raw is not None else 0
        text = io.TextIOWrapper(stream, encoding="utf-8", errors="surrogateescape", newline="")
        with text:
            head: list[str] = []
            while sum(map(len, head)) < SNIFF_BYTES:
                line = text.readline()
                if not line:
                    break
                head.append(line)
            if self.delimiter is None:
                try:
                    self.delimiter = csv.Sniffer().sniff("".join(head), delimiters=",;\t|").delimiter
                except csv.Error:
                    self.delimiter = "\t" if str(path).lower().endswith((".tsv", ".tsv.gz")) else ","
            reader = csv.reader(itertools.chain(head, text), delimiter=self.delimiter, quotechar='"', strict=False)
            try:
                header = next(reader)
            except StopIteration:
                raise DataFormatError(f"{path} is empty; a CSV needs a header row.") from None
            except csv.Error as exc:
                raise DataFormatError(f"{path}: cannot read the header row ({exc}).") from None
            if header and header[0].startswith("\ufeff"):
                header[0] = header[0][1:]
            _check_columns(header, text_field, compare_field, result_columns)
            self.header, self._result_columns = header, result_columns
            n, ti = len(header), header.index(text_field)
            ki = header.index(compare_field) if compare_field is not None else None
            rows = (r for r in reader if r)  # a blank line is no record
            for index in itertools.count():
                try:
                    block = list(itertools.islice(rows, chunk_size))
                except csv.Error as exc:
                    raise DataFormatError(f"{path}: the CSV is malformed near record {index * chunk_size}: {exc}.") from None
                if not block:
                    return
                texts: list[Any] = []
                for i, r in enumerate(block):
                    if len(r) == n:
                        texts.append(r[ti])
                    else:
                        texts.append(BadRow(f"the row has {len(r)} fields, the header {n}"))
                        block[i] = (r + [""] * n)[:n]
                keys = [r[ki] for r in block] if ki is not None else None
                yield Chunk(index, block, texts, keys, _fraction(raw, size))

    def write_part(self, chunk, results, f):
        buf = io.StringIO()
        w = csv.writer(buf, **self._writer_options())
        cols = [results[c] for c in self._result_columns]
        for row, res in zip(chunk.payload, zip(*cols)):
            w.writerow(row + [_cell(v) for v in res])
        f.write(buf.getvalue().encode("utf-8", "surrogateescape"))

    def header_bytes(self) -> bytes:
        buf = io.StringIO()
        csv.writer(buf, **self._writer_options()).writerow((self.header or []) + self._result_columns)
        return buf.getvalue().encode("utf-8", "surrogateescape")

    def merge(self, parts, f):
        f.write(self.header_bytes())
        super().merge(parts, f)


class JsonlFormat(TableFormat):
    """One JSON object per line (optionally gzipped). A line that is not a JSON object
    becomes an output line holding only the result fields and the error."""

    ext = "jsonl"

    def chunks(self, path, *, text_field, compare_field, result_columns, chunk_size):
        raw, stream = _open_binary(path)
        size = Path(path).stat().st_size if raw is not None else 0
        clash = frozenset(result_columns)
        lines = ((no, b) for no, b in enumerate(stream, 1) if b.strip())
        with stream:
            for index in itertools.count():
                block = list(itertools.islice(lines, chunk_size))
                if not block:
                    if raw is not None and raw is not stream:
                        raw.close()
                    return
                recs: list[dict | None] = []
                texts: list[Any] = []
                for no, b in block:
                    try:
                        rec = json.loads(b.decode("utf-8", "surrogateescape"))
                    except json.JSONDecodeError:
                        recs.append(None)
                        texts.append(BadRow(f"line {no} is not valid JSON"))
                        continue
                    if not isinstance(rec, dict):
                        recs.append(None)
                        texts.append(BadRow(f"line {no} is not a JSON object"))
                        continue
                    if not clash.isdisjoint(rec):
                        raise InputError(f"{path} line {no} already has result fields "
                                         f"{sorted(clash.intersection(rec))} (is it a relabel output?); "
                                         "rename or drop them first, so that nothing in the input is overwritten.")
                    recs.append(rec)
                    texts.append(rec.get(text_field))
                keys = [r.get(compare_field) if r is not None else None for r in recs] if compare_field else None
                yield Chunk(index, recs, texts, keys, _fraction(raw, size))

    def write_part(self, chunk, results, f):
        names = list(results)
        out = []
        for rec, res in zip(chunk.payload, zip(*results.values())):
            row = dict(rec) if rec is not None else {}
            row.update(zip(names, res))
            line = _JSON.encode(row)
            try:
                out.append(line.encode("utf-8", "surrogateescape"))
            except UnicodeEncodeError:  # a lone surrogate that came from a JSON escape: keep it escaped
                out.append(json.dumps(row).encode("ascii"))
        f.write(b"\n".join(out) + b"\n")


def _require_pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError("Parquet needs pyarrow: pip install 'crisis-nlp[parquet]'.") from None
    return pa, pq


def result_schema(result_columns: list[str]):
    """The Arrow types of the result columns."""
    pa, _ = _require_pyarrow()
    types = {"categories": pa.list_(pa.string()), "flags": pa.list_(pa.string())}
    return pa.schema([(c, types.get(c, pa.float64() if c.startswith("score_") else pa.string()))
                      for c in result_columns])


class ParquetFormat(TableFormat):
    """Parquet via pyarrow (the ``parquet`` extra): read batch by batch, every input column
    kept with its Arrow type, result columns appended; row groups of ``ROW_GROUP`` rows."""

    ext = "parquet"
    ROW_GROUP = 65536

    def __init__(self) -> None:
        self._schema = None

    def chunks(self, path, *, text_field, compare_field, result_columns, chunk_size):
        pa, pq = _require_pyarrow()
        if str(path) == "-":
            raise InputError("Parquet cannot be read from stdin; pass a file.")
        try:
            pf = pq.ParquetFile(path)
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc}") from None
        except pa.ArrowInvalid as exc:
            raise DataFormatError(f"{path} is not a Parquet file ({exc}).") from None
        names = pf.schema_arrow.names
        _check_columns(names, text_field, compare_field, result_columns)
        rs = result_schema(result_columns)
        self._schema = pa.schema(list(pf.schema_arrow) + list(rs))
        total, done = pf.metadata.num_rows, 0
        with pf:
            for index, batch in enumerate(pf.iter_batches(batch_size=chunk_size)):
                done += batch.num_rows
                texts = batch.column(text_field).to_pylist()
                keys = batch.column(compare_field).to_pylist() if compare_field else None
                yield Chunk(index, batch, texts, keys, done / total if total else None)

    def write_part(self, chunk, results, f):
        pa, pq = _require_pyarrow()
        batch = chunk.payload
        arrays = list(batch.columns) + [pa.array(v, type=self._schema.field(c).type) for c, v in results.items()]
        pq.write_table(pa.Table.from_arrays(arrays, schema=self._schema), f)

    def merge(self, parts, f):
        pa, pq = _require_pyarrow()
        writer = None
        pending: list = []
        rows = 0
        for p in parts:
            t = pq.read_table(p)
            if writer is None:
                writer = pq.ParquetWriter(f, t.schema)
            pending.append(t)
            rows += t.num_rows
            if rows >= self.ROW_GROUP:
                writer.write_table(pa.concat_tables(pending), row_group_size=self.ROW_GROUP)
                pending, rows = [], 0
        if writer is None:
            pq.write_table(pa.Table.from_pylist([], schema=self._schema), f)
            return
        if pending:
            writer.write_table(pa.concat_tables(pending), row_group_size=self.ROW_GROUP)
        writer.close()
