"""Reading and writing labelled or unlabelled note records (JSONL, JSONL.gz, CSV)."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TextIO

from ..errors import DataFormatError, InputError
from ..labels import CUES, validate_categories, validate_cues, validate_flags, validate_response_mode

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

ENCODINGS = ("utf-8", "cp1252", "latin-1")
"""Encodings an input file may be read in (``--encoding``): UTF-8, and the Windows and ISO
Western code pages that CAD exports often use. All keep ``\\n`` and ASCII as they are."""
LABEL_FIELDS = ("categories", "flags", "labels", "response_mode")
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


def decode_error(path: str | Path, encoding: str, exc: UnicodeDecodeError, where: str = "") -> InputError:
    """The error for a file that is not in ``encoding``: names --encoding, quotes nothing."""
    other = " or ".join(f"--encoding {e}" for e in ENCODINGS if e != encoding)
    return InputError(f"{path}{where} is not valid {encoding} text (byte 0x{exc.object[exc.start]:02x} cannot be "
                      f"decoded); if it was saved in another encoding, pass {other}.")


def detect_format(path: str | Path, fmt: str | None = None) -> str:
    """``jsonl`` or ``csv``, from ``fmt`` or the file name (the names ``relabel`` knows)."""
    from .formats import table_format

    kind = table_format(path, fmt)
    if kind == "parquet":
        raise DataFormatError(f"{path}: labelled notes are read from JSONL or CSV here, not Parquet; "
                              "convert it (for example with pandas) first.")
    return kind


def _open_text(path: str | Path, mode: str = "r", encoding: str = "utf-8") -> TextIO:
    # reading UTF-8, a byte order mark is dropped (Excel writes one); strict: a byte that is
    # not in the encoding is an error that names --encoding, never a replacement character
    enc = "utf-8-sig" if encoding == "utf-8" and "r" in mode else encoding
    if str(path) == "-":
        if "r" in mode:
            return io.TextIOWrapper(sys.stdin.buffer, encoding=enc, newline="")
        return sys.stdout
    if str(path).endswith(".gz"):
        return gzip.open(path, mode + "t", encoding=enc, newline="")  # type: ignore[return-value]
    return open(path, mode, encoding=enc, newline="")


def read_records(path: str | Path, fmt: str | None = None, encoding: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield one dict per record. CSV cells that hold JSON lists stay strings here.

    ``encoding`` is one of ``ENCODINGS`` (default: what :func:`file_encoding` set for this
    path, else UTF-8); a file that is not in it raises InputError naming ``--encoding``."""
    fmt = detect_format(path, fmt)
    encoding = check_encoding(encoding or _file_encodings.get().get(_key(path)))
    try:
        f = _open_text(path, encoding=encoding)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    lineno = 0
    try:
        if fmt == "jsonl":
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataFormatError(f"{path} line {lineno}: not valid JSON ({exc.msg}).") from None
                except (ValueError, RecursionError):  # NaN-free, but an integer of 4,300+ digits; deep nesting
                    raise DataFormatError(f"{path} line {lineno}: not JSON that can be read (a number too "
                                          "long or nesting too deep).") from None
                if not isinstance(rec, dict):
                    raise DataFormatError(f"{path} line {lineno}: expected a JSON object per line.")
                yield rec
        else:
            sample = f.read(65536)
            f.seek(0)
            try:  # only the delimiter: the sniffer takes apostrophes in notes for quote characters
                delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
            except csv.Error:
                delimiter = ","
            for lineno, rec in enumerate(csv.DictReader(f, delimiter=delimiter), 2):
                yield rec
    except UnicodeDecodeError as exc:
        where = f" (near line {lineno + 1})" if lineno else ""
        raise decode_error(path, encoding, exc, where) from None
    finally:
        if str(path) == "-":
            f.detach()  # type: ignore[attr-defined] - leave sys.stdin open
        else:
            f.close()


def write_records(records: Iterable[dict[str, Any]], path: str | Path, fmt: str | None = None) -> int:
    fmt = detect_format(path, fmt) if str(path) != "-" else (fmt or "jsonl")
    n = 0
    f = _open_text(path, "w")
    try:
        if fmt == "jsonl":
            for rec in records:
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                n += 1
        else:
            writer = None
            for rec in records:
                row = {k: (json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v)
                       for k, v in rec.items()}
                if writer is None:
                    writer = csv.DictWriter(f, fieldnames=list(row))
                    writer.writeheader()
                writer.writerow(row)
                n += 1
    finally:
        if f is not sys.stdout:
            f.close()
        else:
            f.flush()
    return n


def _as_list(value: Any, field: str, where: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        s = value.strip()
        if s.startswith("["):
            try:
                return list(json.loads(s))
            except json.JSONDecodeError:
                raise DataFormatError(f"{where}: field {field!r} is not a JSON list: {s[:40]!r}.") from None
        return [p.strip() for p in s.replace(";", "|").split("|") if p.strip()]
    raise DataFormatError(f"{where}: field {field!r} must be a list of ids.")


def labelled_example(rec: dict[str, Any], where: str, text_field: str = "text") -> dict[str, Any]:
    """Validate one labelled record and return it normalised (ids checked, lists parsed)."""
    text = rec.get(text_field)
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{where}: field {text_field!r} is missing or empty.")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(f"{where}: field {text_field!r} is not valid Unicode text (a lone surrogate "
                             "escape such as \\ud800).") from None
    out = {
        "text": text,
        "categories": validate_categories(_as_list(rec.get("categories"), "categories", where)),
        "flags": validate_flags(_as_list(rec.get("flags"), "flags", where)),
    }
    if rec.get("response_mode"):
        out["response_mode"] = validate_response_mode(rec["response_mode"])
    if "cues" in rec:
        out["cues"] = validate_cues([c for c in _as_list(rec.get("cues"), "cues", where) if c in CUES])
    for k in ("id", "family", "style", "bank"):
        if k in rec:
            out[k] = rec[k]
    return out


def load_labelled(path: str | Path, text_field: str = "text", fmt: str | None = None,
                  encoding: str | None = None) -> list[dict[str, Any]]:
    """Labelled records, validated. A file whose records have none of ``LABEL_FIELDS`` is
    refused: scoring it would report zeros as if the model were wrong on every note."""
    raw = list(read_records(path, fmt, encoding))
    if raw and not any(k in r for r in raw for k in LABEL_FIELDS):
        raise InputError(f"{path} has no labels: none of its records has a {', '.join(LABEL_FIELDS[:-1])} or "
                         f"{LABEL_FIELDS[-1]} field. Label the notes first (see `crisis-nlp review`), or use "
                         "`crisis-nlp relabel` to label unlabelled notes.")
    return [labelled_example(r, f"{path} record {i}", text_field) for i, r in enumerate(raw, 1)]

