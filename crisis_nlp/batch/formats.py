"""The tables ``relabel`` streams: CSV, JSONL(.gz) and Parquet, read in chunks and written
back losslessly with the result columns added.

A reader yields :class:`Chunk` s: the rows as the format holds them (``payload``), the
note of each row (or a :class:`BadRow` saying why there is none), the values of the
compare field, and how far through the input it is (for the ETA). A format may leave
the notes to :meth:`TableFormat.decode`, which runs where the chunk is labelled (a
``--jobs`` worker): the JSONL reader only splits lines, and parsing them is done in
parallel. A format writes a payload plus result columns as one part file; parts are
concatenated at the end.
Bytes that are not valid in the input's encoding (UTF-8 unless ``encoding`` says cp1252
or latin-1) are carried through unchanged (``surrogateescape``), so a bad byte in one cell
neither stops the run nor changes the other cells; the output is written in the input's
encoding. Nothing of the input is dropped: a CSV row longer than the header keeps its
extra fields (after the result columns), a JSONL line that is not an object is kept,
whole, under ``input``.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import DataFormatError, InputError

csv.field_size_limit(2**31 - 1)
# one encoder for every output line (json.dumps with options builds a new one per call)
_JSON = json.JSONEncoder(ensure_ascii=False, check_circular=False)
_JSON_ASCII = json.JSONEncoder(ensure_ascii=True, check_circular=False)
SNIFF_BYTES = 65536
BOM = b"\xef\xbb\xbf"
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


def _looks_like_name(name: object) -> bool:
    return (isinstance(name, str) and 0 < len(name) <= 40 and len(name.split()) <= 4
            and not _NOT_A_NAME.search(name))


_NOT_A_NAME = re.compile(r"\d{3}|[@\n\r]")


def describe_columns(names: list[Any]) -> str:
    """The column names of an input, for an error message, only when they look like names:
    in a file without a header row they are the first record, note text included."""
    names = list(names)
    if names and all(map(_looks_like_name, names)):
        return "it has: " + ", ".join(names[:20]) + (" ..." if len(names) > 20 else "")
    return (f"it has {len(names)} column(s), and the first row does not look like a header of column names: "
            "is the header row missing?")


def _check_columns(have: list[str], text_field: str, compare_field: str | None, result_columns: list[str]) -> None:
    for need, opt in ((text_field, "--text-field"), (compare_field, "--compare-field")):
        if need is not None and need not in have:
            raise InputError(f"the input has no column {need!r} ({describe_columns(have)}); "
                             f"name the right one with {opt}.")
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
        raw, stream = _open_binary(path)
        size = Path(path).stat().st_size if raw is not None else 0
        text = io.TextIOWrapper(stream, encoding=self.encoding, errors="surrogateescape", newline="")
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
            if header and header[0].startswith("\ufeff"):  # UTF-8's byte order mark
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
                    elif len(r) > n:  # kept whole: the extra fields follow the result columns
                        texts.append(BadRow(f"the row has {len(r)} fields, the header {n}; the {len(r) - n} "
                                            "extra field(s) are kept after the result columns"))
                    else:
                        texts.append(BadRow(f"the row has {len(r)} fields, the header {n}"))
                        block[i] = r + [""] * (n - len(r))
                keys = [r[ki] if ki < len(r) else "" for r in block] if ki is not None else None
                yield Chunk(index, block, texts, keys, _fraction(raw, size))

    def write_part(self, chunk, results, f):
        buf = io.StringIO()
        w = csv.writer(buf, **self._writer_options())
        cols = [results[c] for c in self._result_columns]
        n = len(self.header or ())
        for row, res in zip(chunk.payload, zip(*cols)):
            cells = [_cell(v) for v in res]
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
        raw, stream = _open_binary(path)
        size = Path(path).stat().st_size if raw is not None else 0
        self._fields, self._path = (text_field, compare_field, frozenset(result_columns)), str(path)
        lines = ((no, b) for no, b in enumerate(stream, 1) if not b.isspace())
        with stream:
            for index in itertools.count():
                block = list(itertools.islice(lines, chunk_size))
                if not block:
                    if raw is not None and raw is not stream:
                        raw.close()
                    return
                yield Chunk(index, block, None, None, _fraction(raw, size))

    def decode(self, chunk):
        if chunk.texts is not None:
            return chunk
        assert self._fields is not None, "decode() needs the settings chunks() was called with"
        text_field, compare_field, clash = self._fields
        texts: list[Any] = []
        keys: list[Any] = []
        loads = json.loads
        encoding = self.encoding
        objects = with_text = with_key = 0
        names: dict[str, None] = {}
        for no, b in chunk.payload:
            if no == 1 and b.startswith(BOM) and encoding == "utf-8":
                b = b[len(BOM):]
            try:
                rec = loads(b.decode(encoding, "surrogateescape"))
            except (ValueError, RecursionError):  # JSONDecodeError; an integer of 4,300+ digits
                rec, problem = None, f"line {no} is not valid JSON"
            else:
                problem = None if type(rec) is dict else f"line {no} is not a JSON object"
            if problem is not None:
                texts.append(BadRow(problem))
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
                raise InputError(f"no record of the first {len(chunk.payload):,} lines of {self._path} has a field "
                                 f"{need!r} ({describe_columns(list(names))}); name the right one with {opt}.")

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
        bom = BOM if no == 1 and line.startswith(BOM) and self.encoding == "utf-8" else b""
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
