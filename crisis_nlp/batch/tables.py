"""The one I/O stack: every table of notes crisis_nlp reads (CSV, JSONL, Parquet; ``.gz``;
``-`` for stdin) is opened, decoded and split into rows here.

This module owns opening an input, telling its format from its name, its encoding
(``--encoding``: UTF-8, cp1252 or latin-1; input that is not in it is an error naming
the option), UTF-8's byte order mark, the CSV and JSONL row readers, and the errors for a
missing ``--text-field``. Errors name the file, a line or record number and the option to
pass; they never quote a row. Two layers stand on it:

- :func:`read_records`, one dict per row, strictly decoded: labelled data
  (:mod:`crisis_nlp.training.labelled`, :mod:`crisis_nlp.training.agency_data`),
  ``review``, the tools;
- the lossless formats that ``relabel`` streams (:mod:`crisis_nlp.batch.formats`): the
  same readers with undecodable bytes carried through (``surrogateescape``).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from ..errors import DataFormatError, InputError

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
SNIFF_CHARS = 65536
"""How much of a CSV the delimiter is sniffed from (whole lines, at least this many characters)."""
BOM = b"\xef\xbb\xbf"

# -- encodings -------------------------------------------------------------------------

ENCODINGS = ("utf-8", "cp1252", "latin-1")
"""Encodings an input file may be read in (``--encoding``): UTF-8, and the Windows and ISO
Western code pages that CAD exports often use. All keep ``\\n`` and ASCII as they are."""
_file_encodings: ContextVar[dict[str, str]] = ContextVar("crisis_nlp_file_encodings", default={})


def check_encoding(encoding: str | None) -> str:
    """The canonical name of an accepted input encoding (see ``ENCODINGS``), or InputError."""
    if encoding is None:
        return "utf-8"
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        name = ""
    accepted = {codecs.lookup(e).name: e for e in ENCODINGS}
    if name not in accepted:
        raise InputError(f"--encoding {encoding!r} is not supported; use one of {', '.join(ENCODINGS)}.")
    return accepted[name]


@contextmanager
def file_encoding(path: str | Path | None, encoding: str | None) -> Iterator[None]:
    """Read ``path`` in ``encoding`` wherever it is read in this block (``read_records``
    without an explicit encoding); other files stay UTF-8. How the CLI's ``--encoding``
    reaches library code that reads the file deep inside (training, comparing)."""
    if path is None or encoding is None:
        yield
        return
    token = _file_encodings.set({**_file_encodings.get(), _key(path): check_encoding(encoding)})
    try:
        yield
    finally:
        _file_encodings.reset(token)


def _key(path: str | Path) -> str:
    return "-" if str(path) == "-" else str(Path(path).resolve())


def input_encoding(path: str | Path, encoding: str | None = None) -> str:
    """The encoding to read ``path`` in: ``encoding``, else what :func:`file_encoding` set
    for it, else UTF-8 (checked either way)."""
    return check_encoding(encoding or _file_encodings.get().get(_key(path)))


def decode_error(what: str, encoding: str, exc: UnicodeDecodeError) -> InputError:
    """The error for input that is not in ``encoding``: names --encoding, quotes nothing."""
    other = " or ".join(f"--encoding {e}" for e in ENCODINGS if e != encoding)
    return InputError(f"{what} is not valid {encoding} text (byte 0x{exc.object[exc.start]:02x} cannot be "
                      f"decoded); if it was saved in another encoding, pass {other}.")


def leading_bom(no: int, line: bytes, encoding: str) -> bytes:
    """UTF-8's byte order mark when it opens line 1 of UTF-8 input (Excel writes one), else b''."""
    return BOM if no == 1 and encoding == "utf-8" and line.startswith(BOM) else b""


def line_text(no: int, line: bytes, encoding: str, errors: str = "strict") -> str:
    """Line ``no`` (from 1) of an input as text, without a byte order mark."""
    if no == 1:
        line = line[len(leading_bom(no, line, encoding)):]
    return line.decode(encoding, errors)


def decode_text(data: bytes, encoding: str, what: str) -> str:
    """``data`` (a whole note, say) as text, strictly: a byte that is not in ``encoding``
    is an InputError that calls the data ``what`` and names --encoding."""
    try:
        return line_text(1, data, encoding)
    except UnicodeDecodeError as exc:
        raise decode_error(what, encoding, exc) from None


# -- formats and opening ---------------------------------------------------------------

FORMATS = ("jsonl", "csv", "parquet")


def table_format(path: str | Path, fmt: str | None = None) -> str:
    """``csv``, ``jsonl`` or ``parquet``, from ``fmt`` or the file name."""
    if fmt:
        if fmt not in FORMATS:
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


def records_format(path: str | Path, fmt: str | None = None) -> str:
    """``jsonl`` or ``csv``: the formats :func:`read_records` reads."""
    kind = table_format(path, fmt)
    if kind == "parquet":
        raise DataFormatError(f"{path}: labelled notes are read from JSONL or CSV here, not Parquet; "
                              "convert it (for example with pandas) first.")
    return kind


def unreadable(path: str | Path, exc: BaseException, kind: str) -> InputError:
    """The error for an input that fails part way (a truncated or corrupt ``.gz``, say)."""
    return InputError(f"cannot read {path}: {exc}; it may be truncated or not {kind}.")


class Source:
    """An input opened for reading: a file (gunzipped when its name ends in ``.gz``) or,
    for ``-``, stdin, which is left open when this is closed."""

    def __init__(self, path: str | Path) -> None:
        self.path = path
        self._text: io.TextIOWrapper | None = None
        self.raw: BinaryIO | None = None  # the file itself, for progress by position
        self.size = 0
        if str(path) == "-":
            self.stream: BinaryIO = sys.stdin.buffer
            return
        try:
            self.raw = open(path, "rb")
            self.size = os.fstat(self.raw.fileno()).st_size
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
        self.stream = gzip.GzipFile(fileobj=self.raw) if str(path).endswith(".gz") else self.raw  # type: ignore[assignment]

    def fraction(self) -> float | None:
        """The share of the file read so far; None when unknown (stdin, a pipe)."""
        return min(self.raw.tell() / self.size, 1.0) if self.raw is not None and self.size else None

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """(line number from 1, the line's bytes) of each line that is not blank."""
        return ((no, b) for no, b in enumerate(self.stream, 1) if not b.isspace())

    def text(self, encoding: str, errors: str = "strict") -> TextIO:
        """The input as text; newlines kept as they are (for the csv module)."""
        self._text = io.TextIOWrapper(self.stream, encoding=encoding, errors=errors, newline="")
        return self._text

    def close(self) -> None:
        if self.raw is None:
            if self._text is not None:
                self._text.detach()  # leave sys.stdin open
            return
        if self._text is not None:
            self._text.close()
        self.stream.close()
        self.raw.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def require_pyarrow():
    """pyarrow and pyarrow.parquet, or the error saying which extra installs them."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError("Parquet needs pyarrow: pip install 'crisis-nlp[parquet]'.") from None
    return pa, pq


def open_parquet(path: str | Path):
    """A ``pyarrow.parquet.ParquetFile`` to read batch by batch (a file: never stdin)."""
    pa, pq = require_pyarrow()
    if str(path) == "-":
        raise InputError("Parquet cannot be read from stdin; pass a file.")
    try:
        return pq.ParquetFile(path)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    except pa.ArrowInvalid as exc:
        raise DataFormatError(f"{path} is not a Parquet file ({exc}).") from None


# -- rows ------------------------------------------------------------------------------

def sniff_delimiter(sample: str, path: str | Path) -> str:
    """The CSV delimiter, one of , ; tab |. Only the delimiter is sniffed: the sniffer
    takes apostrophes in notes for quote characters."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return "\t" if str(path).lower().endswith((".tsv", ".tsv.gz")) else ","


def csv_rows(source: Source, encoding: str, *, errors: str = "strict",
             delimiter: str | None = None) -> tuple[str, list[str] | None, Iterator[list[str]]]:
    """``(delimiter, header, rows after the header)`` of a CSV: the delimiter is
    ``delimiter`` or sniffed from the first 64 KiB, a quoted field may span lines, a byte
    order mark is dropped and a blank line is no row. The header is None for an empty file."""
    text = source.text(encoding, errors)
    head: list[str] = []
    size = 0
    while size < SNIFF_CHARS:
        line = text.readline()
        if not line:
            break
        head.append(line)
        size += len(line)
    if head and encoding == "utf-8":
        head[0] = head[0].removeprefix("\ufeff")  # the byte order mark, as in leading_bom
    if delimiter is None:
        delimiter = sniff_delimiter("".join(head), source.path)
    reader = csv.reader(itertools.chain(head, text), delimiter=delimiter, quotechar='"', strict=False)
    try:
        header = next(reader)
    except StopIteration:
        return delimiter, None, iter(())
    except csv.Error as exc:
        raise DataFormatError(f"{source.path}: cannot read the header row ({exc}).") from None
    return delimiter, header, _csv_records(reader, source.path)


def _csv_records(reader: Iterator[list[str]], path: str | Path) -> Iterator[list[str]]:
    n = 0
    try:
        for row in reader:
            if row:
                n += 1
                yield row
    except csv.Error as exc:
        raise DataFormatError(f"{path}: the CSV is malformed near record {n + 1}: {exc}.") from None


def parse_object(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """``(the JSON object on a JSONL line, None)``, or ``(None, why there is none)``;
    never quotes the line."""
    try:
        rec = json.loads(text)
    except (ValueError, RecursionError):  # JSONDecodeError; an integer of 4,300+ digits; deep nesting
        return None, "is not valid JSON"
    return (rec, None) if type(rec) is dict else (None, "is not a JSON object")


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


def missing_field(what: str, need: str, names: list[Any], option: str) -> DataFormatError:
    """The error for an input without the field asked for (``what`` says where it was
    looked for): the columns it has, when they look like names, and the option to pass. A
    None among ``names`` (where :func:`read_records` keeps a CSV row's extra cells) is no name."""
    names = [n for n in names if n is not None]
    return DataFormatError(f"{what} {need!r} ({describe_columns(names)}); name the right one with {option}.")


# -- records: one dict per row ---------------------------------------------------------

def read_records(path: str | Path, fmt: str | None = None, encoding: str | None = None, *,
                 delimiter: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield one dict per record of a JSONL or CSV file. CSV cells that hold JSON lists
    stay strings here; a CSV row shorter than the header gets None for the missing cells,
    one longer keeps the extra cells as a list under the key None (as ``csv.DictReader``).

    ``encoding`` is one of ``ENCODINGS`` (default: what :func:`file_encoding` set for this
    path, else UTF-8); a file that is not in it raises InputError naming ``--encoding``."""
    fmt = records_format(path, fmt)
    encoding = input_encoding(path, encoding)
    with Source(path) as source:
        no = 0
        try:
            if fmt == "jsonl":
                for no, line in source.lines():
                    rec, problem = parse_object(line_text(no, line, encoding))
                    if problem is not None:
                        raise DataFormatError(f"{path} line {no} {problem}; each line must hold one JSON object.")
                    yield rec  # type: ignore[misc]
                return
            _delimiter, header, rows = csv_rows(source, encoding, delimiter=delimiter)
            n = len(header or ())
            for no, row in enumerate(rows, 1):
                rec: dict[Any, Any] = dict(zip(header, row))  # type: ignore[arg-type]
                if len(row) < n:
                    rec.update(dict.fromkeys(header[len(row):]))  # type: ignore[index]
                elif len(row) > n:
                    rec[None] = row[n:]
                yield rec
        except UnicodeDecodeError as exc:
            where = (f" line {no}" if fmt == "jsonl" else f" (near record {no + 1})") if no else ""
            raise decode_error(f"{path}{where}", encoding, exc) from None
        except (OSError, EOFError) as exc:
            raise unreadable(path, exc, fmt) from None


def csv_cell(v: Any) -> str:
    """A value as a CSV cell: lists and dicts as JSON, None empty."""
    if v is None:
        return ""
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def write_records(records: Iterable[dict[str, Any]], path: str | Path, fmt: str | None = None) -> int:
    """Write dicts as JSONL or CSV (UTF-8; a list or dict in a CSV cell as JSON) to ``path``
    (``-``: stdout, JSONL unless ``fmt`` says otherwise). Returns how many were written."""
    fmt = records_format(path, fmt) if str(path) != "-" else (fmt or "jsonl")
    if str(path) == "-":
        f: TextIO = sys.stdout
    elif str(path).endswith(".gz"):
        f = gzip.open(path, "wt", encoding="utf-8", newline="")  # type: ignore[assignment]
    else:
        f = open(path, "w", encoding="utf-8", newline="")
    n = 0
    try:
        if fmt == "jsonl":
            for rec in records:
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                n += 1
        else:
            writer = None
            for rec in records:
                if writer is None:
                    writer = csv.DictWriter(f, fieldnames=list(rec))
                    writer.writeheader()
                writer.writerow({k: csv_cell(v) for k, v in rec.items()})
                n += 1
    finally:
        if f is sys.stdout:
            f.flush()
        else:
            f.close()
    return n
