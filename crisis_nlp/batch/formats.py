"""The tables ``relabel`` streams: CSV, JSONL(.gz) and Parquet, read in chunks and written
back losslessly with the result columns added.

A reader yields :class:`Chunk` s: the rows as the format holds them (``payload``), the
note of each row (or a :class:`BadRow` saying why there is none), the values of the
compare field, and how far through the input it is (for the ETA). A format may leave
the notes to :meth:`TableFormat.decode`, which runs where the chunk is labelled (a
``--jobs`` worker): the JSONL reader only splits lines, and parsing them is done in
parallel. A format writes a payload plus result columns as one part file; parts are
concatenated at the end.

Opening, decoding and splitting into rows are those of every reader
(:mod:`crisis_nlp.batch.tables`), with one difference: bytes that are not valid in the
input's encoding (UTF-8 unless ``encoding`` says cp1252 or latin-1) are carried through
unchanged (``surrogateescape``), so a bad byte in one cell neither stops the run nor
changes the other cells; the output is written in the input's encoding. Nothing of the
input is dropped: a CSV row longer than the header keeps its extra fields (after the
result columns), a JSONL line that is not an object is kept, whole, under ``input``.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import DataFormatError, InputError
from .tables import (Source, csv_cell, csv_rows, leading_bom, line_text, missing_field, open_parquet,
                     parse_object, require_pyarrow)

# one encoder for every output line (json.dumps with options builds a new one per call)
_JSON = json.JSONEncoder(ensure_ascii=False, check_circular=False)
_JSON_ASCII = json.JSONEncoder(ensure_ascii=True, check_circular=False)
INPUT_KEY = "input"
"""The field that holds, byte for byte, a JSONL line that is not a JSON object."""


def _keep_bytes(exc: UnicodeEncodeError) -> tuple[bytes, int]:
    """Encode error handler: a byte carried by ``surrogateescape`` goes back out as that
    byte; any other character the output encoding lacks (rare: a result column is ASCII)
    becomes ``?``."""
    out = bytes(ord(c) - 0xDC00 if 0xDC80 <= ord(c) <= 0xDCFF else 0x3F for c in exc.object[exc.start:exc.end])
    return out, exc.end


codecs.register_error("crisis_nlp.keep", _keep_bytes)
_JSON_CACHE: dict[str, dict[Any, bytes]] = {}  # result column -> value -> its JSON


def json_column(name: str, values: list[Any], ascii: bool = False) -> list[bytes]:
    """The JSON (UTF-8; ``ascii``: escaped to ASCII) of each value of one result column. A
    result column holds few distinct values (label lists, modes, scores rounded to 4 places),
    so each is encoded once and looked up after that: most of the cost of writing a JSONL
    line was this encoding."""
    encoder = _JSON_ASCII if ascii else _JSON
    cache = _JSON_CACHE.setdefault(name + "\0ascii" * ascii, {})
    keys = [tuple(v) if type(v) is list else v for v in values] if name in ("categories", "flags") else values
    out = list(map(cache.get, keys))
    if None in out:
        if len(cache) > 50_000:  # errors and reasons differ row by row: bound the memory
            cache.clear()
        for i, k in enumerate(keys):
            if out[i] is None:
                out[i] = cache[k] = encoder.encode(values[i]).encode()
    return out


@dataclass(frozen=True)
class BadRow:
    """Stands in for the note of a row that has none we can use; ``reason`` says why."""

    reason: str


@dataclass
class Chunk:
    index: int
    payload: Any  # CSV: list of row lists; JSONL: list of (line number, line bytes); Parquet: RecordBatch
    texts: list[Any] | None  # None until decoded (see TableFormat.decode)
    keys: list[Any] | None  # values of the compare field, if any
    fraction: float | None  # share of the input read so far, None when unknown (stdin)


def check_columns(path: str | Path, have: list[str], text_field: str, compare_field: str | None,
                  result_columns: list[str]) -> None:
    """A table's header has the note field (and the compare field) and none of the result columns."""
    for need, opt in ((text_field, "--text-field"), (compare_field, "--compare-field")):
        if need is not None and need not in have:
            raise missing_field(f"{path} has no column", need, have, opt)
    clash = [c for c in result_columns if c in have]
    if clash:
        raise InputError(f"{path} already has result columns {clash} (is it a relabel output?); "
                         "rename or drop them first, so that nothing in the input is overwritten.")


def open_format(fmt: str, **options: Any) -> TableFormat:
    return {"csv": CsvFormat, "jsonl": JsonlFormat, "parquet": ParquetFormat}[fmt](**options)


class TableFormat:
    """One format: read chunks, write parts, merge parts. Subclasses fill in the details."""

    ext = ""

    def chunks(self, path: str | Path, *, text_field: str, compare_field: str | None,
               result_columns: list[str], chunk_size: int) -> Iterator[Chunk]:
        raise NotImplementedError

    def decode(self, chunk: Chunk) -> Chunk:
        """Fill in ``chunk.texts`` and ``chunk.keys`` if the reader left them (it is called
        where the chunk is labelled, so in a worker with ``--jobs``); idempotent."""
        return chunk

    def write_part(self, chunk: Chunk, results: dict[str, list], f: BinaryIO) -> None:
        raise NotImplementedError

    def merge(self, parts: list[Path], f: BinaryIO) -> None:
        for p in parts:
            with open(p, "rb") as src:
                shutil.copyfileobj(src, f, 1 << 20)

    def options(self) -> dict[str, Any]:
        """What a resumed run must read and write the same way (goes into the journal)."""
        return {}

    def check_decoded(self, chunk: Chunk) -> None:
        """Called on the first decoded chunk: raise InputError when the input plainly lacks
        the fields asked for (a CSV or Parquet reader checks its header instead)."""


class CsvFormat(TableFormat):
    """CSV with a header row, any of , ; tab | as delimiter (sniffed, or ``delimiter``);
    quoted fields may span lines. Output uses the input's delimiter and quote character;
    lists are JSON, missing values empty."""

    ext = "csv"

    def __init__(self, delimiter: str | None = None, encoding: str = "utf-8") -> None:
        self.delimiter = delimiter
        self.encoding = encoding
        self.header: list[str] | None = None
        self._result_columns: list[str] = []

    def options(self) -> dict[str, Any]:
        return {"delimiter": self.delimiter, **({"encoding": self.encoding} if self.encoding != "utf-8" else {})}

    def _encode(self, text: str) -> bytes:
        return text.encode(self.encoding, "surrogateescape" if self.encoding == "utf-8" else "crisis_nlp.keep")

    def _writer_options(self) -> dict[str, Any]:
        return {"delimiter": self.delimiter or ",", "quotechar": '"', "lineterminator": "\r\n"}

    def chunks(self, path, *, text_field, compare_field, result_columns, chunk_size):
        with Source(path) as source:
            self.delimiter, header, rows = csv_rows(source, self.encoding, errors="surrogateescape",
                                                    delimiter=self.delimiter)
            if header is None:
                raise DataFormatError(f"{path} is empty; a CSV needs a header row.")
            check_columns(path, header, text_field, compare_field, result_columns)
            self.header, self._result_columns = header, result_columns
            n, ti = len(header), header.index(text_field)
            ki = header.index(compare_field) if compare_field is not None else None
            for index in itertools.count():
                block = list(itertools.islice(rows, chunk_size))
                if not block:
                    return
                texts: list[Any] = []
                for i, r in enumerate(block):
                    if len(r) == n:
                        texts.append(r[ti])
                    elif len(r) > n:  # kept whole: the extra fields follow the result columns
                        texts.append(BadRow(f"the row has {len(r)} fields, the header {n}; the {len(r) - n} "
                                            "extra field(s) are kept after the result columns"))
                    else:
                        texts.append(BadRow(f"the row has {len(r)} fields, the header {n}"))
                        block[i] = r + [""] * (n - len(r))
                keys = [r[ki] if ki < len(r) else "" for r in block] if ki is not None else None
                yield Chunk(index, block, texts, keys, source.fraction())

    def write_part(self, chunk, results, f):
        buf = io.StringIO()
        w = csv.writer(buf, **self._writer_options())
        cols = [results[c] for c in self._result_columns]
        n = len(self.header or ())
        for row, res in zip(chunk.payload, zip(*cols)):
            cells = [csv_cell(v) for v in res]
            w.writerow(row + cells if len(row) == n else row[:n] + cells + row[n:])
        f.write(self._encode(buf.getvalue()))

    def header_bytes(self) -> bytes:
        buf = io.StringIO()
        csv.writer(buf, **self._writer_options()).writerow((self.header or []) + self._result_columns)
        return self._encode(buf.getvalue())

    def merge(self, parts, f):
        f.write(self.header_bytes())
        super().merge(parts, f)


class JsonlFormat(TableFormat):
    """One JSON object per line (optionally gzipped). Each output line is the input line,
    byte for byte, with the result fields added before its closing brace. A line that is
    not a JSON object becomes an object holding it under ``input`` (byte for byte when it
    is other JSON, such as a list; as a JSON string otherwise, with undecodable bytes as
    ``\\udcXX`` escapes that ``surrogateescape`` turns back into them), the result fields
    and the error. A UTF-8 byte order mark before the first line is read past and kept."""

    ext = "jsonl"

    def __init__(self, encoding: str = "utf-8") -> None:
        self.encoding = encoding
        self._fields: tuple[str, str | None, frozenset[str]] | None = None
        self._path = ""
        self._seen: tuple[int, int, int, dict[str, None]] = (0, 0, 0, {})

    def options(self) -> dict[str, Any]:
        return {"encoding": self.encoding} if self.encoding != "utf-8" else {}

    def chunks(self, path, *, text_field, compare_field, result_columns, chunk_size):
        self._fields, self._path = (text_field, compare_field, frozenset(result_columns)), str(path)
        with Source(path) as source:
            lines = source.lines()
            for index in itertools.count():
                block = list(itertools.islice(lines, chunk_size))
                if not block:
                    return
                yield Chunk(index, block, None, None, source.fraction())

    def decode(self, chunk):
        if chunk.texts is not None:
            return chunk
        assert self._fields is not None, "decode() needs the settings chunks() was called with"
        text_field, compare_field, clash = self._fields
        texts: list[Any] = []
        keys: list[Any] = []
        encoding = self.encoding
        objects = with_text = with_key = 0
        names: dict[str, None] = {}
        for no, b in chunk.payload:
            rec, problem = parse_object(line_text(no, b, encoding, "surrogateescape"))
            if rec is None:
                texts.append(BadRow(f"line {no} {problem}"))
                keys.append(None)
                continue
            objects += 1
            if len(names) < 50:
                names.update(dict.fromkeys(itertools.islice(rec, 50)))
            with_text += text_field in rec
            with_key += compare_field is not None and compare_field in rec
            if not clash.isdisjoint(rec):
                raise InputError(f"{self._path} line {no} already has result fields "
                                 f"{sorted(clash.intersection(rec))} (is it a relabel output?); "
                                 "rename or drop them first, so that nothing in the input is overwritten.")
            texts.append(rec.get(text_field))
            if compare_field:
                keys.append(rec.get(compare_field))
        chunk.texts, chunk.keys = texts, (keys if compare_field else None)
        self._seen = (objects, with_text, with_key, names)
        return chunk

    def check_decoded(self, chunk):
        assert self._fields is not None
        text_field, compare_field, _clash = self._fields
        objects, with_text, with_key, names = self._seen
        if not objects:
            return
        for need, have, opt in ((text_field, with_text, "--text-field"), (compare_field, with_key, "--compare-field")):
            if need is not None and not have:
                raise missing_field(f"no record of the first {len(chunk.payload):,} lines of {self._path} has a field",
                                    need, list(names), opt)

    def write_part(self, chunk, results, f):
        template = (", ".join(_JSON.encode(c).replace("%", "%%") + ": %s" for c in results) + "}\n").encode()
        ascii = self.encoding != "utf-8"  # cp1252, latin-1: the added fields in ASCII, valid in both
        rows = zip(*[json_column(c, v, ascii) for c, v in results.items()])
        out: list[bytes] = []
        add = out.extend
        for (no, line), text, members in zip(chunk.payload, chunk.texts, rows):
            if isinstance(text, BadRow):  # not a JSON object: kept under "input", then the result fields
                add((*self._wrapped(no, line), b", ", template % members))
                continue
            body = line[:-2] if line.endswith(b"}\n") else line.rstrip()[:-1]  # without the closing brace
            add((body, b"" if body.rstrip().endswith(b"{") else b", ", template % members))
        f.write(b"".join(out))

    def _wrapped(self, no: int, line: bytes) -> tuple[bytes, bytes]:
        """The opening of the output line for an input line that is not a JSON object."""
        bom = leading_bom(no, line, self.encoding)
        raw = line[len(bom):].rstrip(b"\r\n")
        text = raw.decode(self.encoding, "surrogateescape")
        try:
            json.loads(text, parse_constant=_refuse)
            value = raw if "\n" not in text and "\r" not in text else None  # other JSON: as it is
        except (ValueError, RecursionError):
            value = None
        if value is None:
            value = _JSON_ASCII.encode(text).encode("ascii")
        return bom + b'{"' + INPUT_KEY.encode() + b'": ', value


def _refuse(name: str) -> Any:
    raise ValueError(name)


def result_schema(result_columns: list[str]):
    """The Arrow types of the result columns."""
    pa, _ = require_pyarrow()
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
        pa, _pq = require_pyarrow()
        pf = open_parquet(path)
        names = pf.schema_arrow.names
        check_columns(path, names, text_field, compare_field, result_columns)
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
        pa, pq = require_pyarrow()
        batch = chunk.payload
        arrays = list(batch.columns) + [pa.array(v, type=self._schema.field(c).type) for c, v in results.items()]
        pq.write_table(pa.Table.from_arrays(arrays, schema=self._schema), f)

    def merge(self, parts, f):
        pa, pq = require_pyarrow()
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
