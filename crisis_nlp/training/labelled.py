"""Labelled notes in the library's own schema (the gold sets, the synthetic notes,
``evaluate``): ``text``, ``categories`` and ``flags`` (JSON lists, or ids separated by
``|`` or ``;``), optionally ``response_mode`` and ``cues``, each checked against the
taxonomy. Files are read by :func:`crisis_nlp.batch.tables.read_records`; an agency's own
shapes of labels (codes, 0/1 columns) are :mod:`crisis_nlp.training.agency_data`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..batch.tables import missing_field, read_records, records_format
from ..errors import DataFormatError, InputError
from ..labels import CUES, validate_categories, validate_cues, validate_flags, validate_response_mode
from ..notes import note_problem

LABEL_FIELDS = ("categories", "flags", "labels", "response_mode")


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
    problem = note_problem(text)
    if problem is not None:
        raise InputError(f"{where}: field {text_field!r}: {problem}.")
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
    if raw and not any(text_field in r for r in raw):
        where = f"{path} has no column" if records_format(path, fmt) == "csv" else f"no record of {path} has a field"
        raise missing_field(where, text_field, list(raw[0]), "--text-field")
    return [labelled_example(r, f"{path} record {i}", text_field) for i, r in enumerate(raw, 1)]
