"""Reading and writing labelled or unlabelled note records (JSONL, JSONL.gz, CSV)."""

from __future__ import annotations

import csv
import gzip
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from .errors import DataFormatError, InputError
from .labels import CUES, validate_categories, validate_cues, validate_flags, validate_response_mode

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def detect_format(path: str | Path, fmt: str | None = None) -> str:
    """``jsonl`` or ``csv``, from ``fmt`` or the file name (the names ``relabel`` knows)."""
    from .formats import table_format

    kind = table_format(path, fmt)
    if kind == "parquet":
        raise DataFormatError(f"{path}: labelled notes are read from JSONL or CSV here, not Parquet; "
                              "convert it (for example with pandas) first.")
    return kind


def _open_text(path: str | Path, mode: str = "r") -> TextIO:
    if str(path) == "-":
        return sys.stdin if "r" in mode else sys.stdout
    if str(path).endswith(".gz"):
        return gzip.open(path, mode + "t", encoding="utf-8", newline="")  # type: ignore[return-value]
    return open(path, mode, encoding="utf-8", newline="")


def read_records(path: str | Path, fmt: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield one dict per record. CSV cells that hold JSON lists stay strings here."""
    fmt = detect_format(path, fmt)
    try:
        f = _open_text(path)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    with f:
        if fmt == "jsonl":
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataFormatError(f"{path} line {lineno}: not valid JSON ({exc.msg}).") from None
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
            yield from csv.DictReader(f, delimiter=delimiter)


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


def load_labelled(path: str | Path, text_field: str = "text", fmt: str | None = None) -> list[dict[str, Any]]:
    return [labelled_example(r, f"{path} record {i}", text_field) for i, r in enumerate(read_records(path, fmt), 1)]

