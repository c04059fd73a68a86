"""An agency's own labelled notes: read them, map its codes, and validate before training.

Labels may come in three shapes (the first that the header has wins):

1. a mapping file from the agency's own codes (call types, dispositions) to taxonomy ids,
   applied to one column (``code_field``), several codes in a cell separated by ``|`` or ``;``;
2. one 0/1 column per taxonomy id (``suicidal``, ``weapon``, ...);
3. list columns ``categories`` / ``flags`` (or one ``labels`` column mixing both), as a
   JSON list or ids separated by ``|`` or ``;``.

An optional ``response_mode`` column is kept for evaluation. Every problem in the file is
collected and reported together, each with its row number (CSV: as a spreadsheet shows it,
the header being row 1; JSONL: the record number); nothing is silently dropped.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DataFormatError, DataValidationError, InputError
from ..notes import MAX_NOTE_CHARS
from ..batch.tables import missing_field, read_records, records_format
from ..labels import CATEGORIES, FLAGS, LABELS, RESPONSE_MODES

DEFAULT_MIN_EXAMPLES = 10
_TRUE, _FALSE = {"1", "1.0", "true", "yes", "y", "x"}, {"0", "0.0", "false", "no", "n", ""}


def _split_ids(value: Any) -> list[str]:
    """A list cell: a JSON list, or ids separated by ``|`` / ``;`` / ``,``."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value]
    s = str(value).strip()
    if s.startswith("["):
        try:
            return [str(v).strip() for v in json.loads(s)]
        except json.JSONDecodeError:
            pass
    return [p.strip() for p in re.split(r"[|;,]", s) if p.strip()]


@dataclass(frozen=True)
class LabelMapping:
    """Agency code -> taxonomy label ids (and optionally a response mode)."""

    codes: dict[str, tuple[tuple[str, ...], str | None]]
    source: str = ""

    @classmethod
    def from_file(cls, path: str | Path) -> "LabelMapping":
        """A CSV with columns ``code``, ``labels`` (ids separated by ``|``; empty = none) and
        optionally ``response_mode``."""
        rows = list(read_records(path, "csv", delimiter=","))
        if not rows or not {"code", "labels"} <= set(rows[0]):
            raise DataFormatError(
                f"labels mapping {path} needs a header with columns code,labels (and optionally "
                "response_mode), one agency code per row, e.g. `SUIC,suicidal` or `OD,substance_use|medical`."
            )
        codes: dict[str, tuple[tuple[str, ...], str | None]] = {}
        bad = []
        for n, row in enumerate(rows, 2):
            code = (row.get("code") or "").strip()
            ids = tuple(_split_ids(row.get("labels")))
            mode = (row.get("response_mode") or "").strip() or None
            unknown = [i for i in ids if i not in LABELS] + ([mode] if mode and mode not in RESPONSE_MODES else [])
            if not code:
                bad.append(f"row {n}: empty code")
            elif code in codes:
                bad.append(f"row {n}: code {code!r} is mapped twice")
            elif unknown:
                bad.append(f"row {n}: code {code!r} maps to unknown ids {unknown}")
            else:
                codes[code] = (ids, mode)
        if bad:
            raise DataValidationError(
                f"labels mapping {path} has {len(bad)} problem(s):\n  " + "\n  ".join(bad)
                + f"\nLabel ids: {', '.join(LABELS)}; response modes: {', '.join(RESPONSE_MODES)}.",
                [(b.partition(":")[0], b.partition(": ")[2]) for b in bad],
            )
        return cls(codes, str(path))


@dataclass
class AgencyData:
    """Validated records (``text``, ``categories``, ``flags``, optional ``response_mode``,
    ``row``) plus the warnings that did not stop training."""

    records: list[dict[str, Any]]
    label_format: str
    warnings: list[str] = field(default_factory=list)

    def label_counts(self) -> dict[str, int]:
        c = Counter(x for r in self.records for x in r["categories"] + r["flags"])
        return {x: c.get(x, 0) for x in LABELS}


def _normalise(text: str) -> str:
    return " ".join(text.casefold().split())


def _label_format(header: Iterable[str], mapping: LabelMapping | None) -> str:
    keys = set(header)
    if mapping is not None:
        return "mapping"
    if keys & set(LABELS):
        return "columns"
    if keys & {"categories", "flags", "labels"}:
        return "lists"
    raise DataFormatError(
        "the file has no label columns: give list columns `categories`/`flags` (or `labels`), one 0/1 "
        "column per taxonomy id (suicidal, weapon, ...), or a mapping of your own codes with --labels-mapping."
    )


def load_agency_data(
    path: str | Path,
    *,
    text_field: str = "text",
    mapping: LabelMapping | None = None,
    code_field: str = "call_type",
    fmt: str | None = None,
    min_examples: int = DEFAULT_MIN_EXAMPLES,
    training: bool = True,
) -> AgencyData:
    """Read and validate labelled notes; raise :class:`DataValidationError` listing every problem.

    ``training=True`` also refuses duplicate notes (they would leak between the training
    and held-out parts) and labels with fewer than ``min_examples`` positive notes (too
    few to learn and to measure). Labels no note has are a warning: the synthetic data
    still teaches them, but the agency's data cannot check them.
    """
    fmt = records_format(path, fmt)
    rows = list(read_records(path, fmt))
    if not rows:
        raise InputError(f"{path} holds no records.")
    label_format = _label_format(rows[0].keys(), mapping)
    if label_format == "mapping" and code_field not in rows[0]:
        raise DataFormatError(f"{path} has no column {code_field!r} for the labels mapping; pass --code-field.")
    if text_field not in rows[0]:
        raise missing_field(f"{path} has no column", text_field, list(rows[0]), "--text-field")
    problems: list[tuple[str, str]] = []
    records: list[dict[str, Any]] = []
    first_seen: dict[str, str] = {}
    for i, raw in enumerate(rows, 1):
        where = f"row {i + 1}" if fmt == "csv" else f"record {i}"
        n_before = len(problems)
        text = raw.get(text_field)
        if not isinstance(text, str) or not text.strip():
            problems.append((where, f"{text_field!r} is empty or missing"))
        elif len(text) > MAX_NOTE_CHARS:
            problems.append((where, f"the note has {len(text):,} characters, over the limit of {MAX_NOTE_CHARS:,}"))
        labels: set[str] = set()
        mode = raw.get("response_mode") or None
        if label_format == "mapping":
            assert mapping is not None
            for code in _split_ids(raw.get(code_field)):
                if code not in mapping.codes:
                    problems.append((where, f"code {code!r} in {code_field!r} is not in the labels mapping"))
                    continue
                ids, mapped_mode = mapping.codes[code]
                labels.update(ids)
                mode = mode or mapped_mode
        elif label_format == "columns":
            for x in LABELS:
                v = str(raw.get(x, "") if raw.get(x) is not None else "").strip().lower()
                if v in _TRUE:
                    labels.add(x)
                elif v not in _FALSE:
                    problems.append((where, f"column {x!r} must be 0 or 1, got {v[:20]!r}"))
        else:
            for col in ("categories", "flags", "labels"):
                for x in _split_ids(raw.get(col)):
                    if x not in LABELS:
                        problems.append((where, f"unknown label {x!r} in {col!r} (allowed: {', '.join(LABELS)})"))
                    else:
                        labels.add(x)
        if mode is not None and mode not in RESPONSE_MODES:
            problems.append((where, f"unknown response mode {mode!r} (allowed: {', '.join(RESPONSE_MODES)})"))
        if training and isinstance(text, str) and text.strip():
            key = _normalise(text)
            if key in first_seen:
                problems.append((where, f"duplicate note: the same text as {first_seen[key]}"))
            else:
                first_seen[key] = where
        if len(problems) == n_before:
            rec = {"text": text, "categories": [c for c in CATEGORIES if c in labels],
                   "flags": [f for f in FLAGS if f in labels], "row": where}
            if mode:
                rec["response_mode"] = mode
            if raw.get("id") not in (None, ""):
                rec["id"] = raw["id"]
            records.append(rec)
    data = AgencyData(records, label_format)
    if training:
        positives: dict[str, list[str]] = defaultdict(list)
        for r in records:
            for x in r["categories"] + r["flags"]:
                positives[x].append(r["row"])
        for x in LABELS:
            n = len(positives[x])
            if 0 < n < min_examples:
                shown = ", ".join(positives[x][:8]) + (" ..." if n > 8 else "")
                problems.append((f"label {x}", f"only {n} example(s) ({shown}); at least {min_examples} are needed "
                                 "to learn and to measure it: label more notes with it, or lower --min-examples"))
        absent = [x for x in LABELS if not positives[x]]
        if absent:
            data.warnings.append(f"no note of {Path(path).name} has {', '.join(absent)}: the agency data "
                                 "can neither teach nor check those labels")
    if problems:
        shown = problems[:50]
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        raise DataValidationError(
            f"{path}: {len(problems)} problem(s) found, nothing was trained. Fix them and run again:\n  "
            + "\n  ".join(f"{w}: {m}" for w, m in shown) + more,
            problems,
        )
    return data
