"""New labels against an existing column (such as the old CAD call type): the cross-table
and the share of calls newly recognised as behavioural-health calls.

Agencies code only a small share of calls as mental-health calls in the call type; this
shows, per old value, how the new response modes and categories fall, so that a
co-responder programme can be sized from years of calls.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..labels import CATEGORIES, RESPONSE_MODES

#: old values taken as already behavioural-health when the user names none
DEFAULT_BH_PATTERN = re.compile(
    r"mental|psych|suicid|crisis|behav|emotional|5150|\bedp\b|\bmh\b|\bbh\b|overdose|\bod\b|10-96",
    re.IGNORECASE,
)
MAX_KEY_CHARS = 80
_SEP = "\t"


def _key(value: Any) -> str:
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return "(blank)"
    return " ".join(str(value).split())[:MAX_KEY_CHARS] or "(blank)"


def tally_keys(stats: Counter, keys: Iterable[Any], ok: Iterable[bool], modes: Iterable[Any],
               cats: Iterable[Any]) -> None:
    """Count labelled rows per compare value: calls, new behavioural-health, modes, categories."""
    for key, good, mode, cs in zip(keys, ok, modes, cats):
        if not good:
            continue
        k = f"cmp{_SEP}{_key(key)}{_SEP}"
        stats[k + "n"] += 1
        stats[k + "mode:" + mode] += 1
        if cs:
            stats[k + "bh"] += 1
            for c in cs:
                stats[k + "cat:" + c] += 1


def is_old_bh(value: str, bh_values: set[str] | None) -> bool:
    """Whether an old value already marks a behavioural-health call."""
    if bh_values is not None:
        return value in bh_values
    return bool(DEFAULT_BH_PATTERN.search(value))


def cross_table(stats: Counter, bh_values: set[str] | None = None) -> list[dict[str, Any]]:
    """One row per old value, most calls first: calls, whether the old value is already
    behavioural-health, new behavioural-health calls, then counts per mode and category."""
    per: dict[str, Counter] = {}
    for k, v in stats.items():
        if k.startswith("cmp" + _SEP):
            _, key, what = k.split(_SEP, 2)
            per.setdefault(key, Counter())[what] += v
    rows = []
    for key, c in sorted(per.items(), key=lambda kv: (-kv[1]["n"], kv[0])):
        row: dict[str, Any] = {"value": key, "calls": c["n"], "old_bh": is_old_bh(key, bh_values),
                               "new_bh": c["bh"]}
        row.update({m: c["mode:" + m] for m in RESPONSE_MODES})
        row.update({x: c["cat:" + x] for x in CATEGORIES})
        rows.append(row)
    return rows


def write_csv(rows: list[dict[str, Any]], path: str | Path, field: str) -> None:
    cols = [field, "calls", "old_bh", "new_bh", *RESPONSE_MODES, *CATEGORIES]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for r in rows:
            w.writerow([r["value"], r["calls"], int(r["old_bh"]), r["new_bh"]]
                       + [r[m] for m in RESPONSE_MODES] + [r[x] for x in CATEGORIES])


def shares(rows: list[dict[str, Any]]) -> dict[str, float | int]:
    """Calls, the shares behavioural-health by the old field and by the new labels, and
    the share newly recognised (new labels say so, the old value does not)."""
    calls = sum(r["calls"] for r in rows)
    old = sum(r["calls"] for r in rows if r["old_bh"])
    new = sum(r["new_bh"] for r in rows)
    newly = sum(r["new_bh"] for r in rows if not r["old_bh"])
    div = max(calls, 1)
    return {"calls": calls, "old_bh": old / div, "new_bh": new / div, "newly_recognised": newly / div,
            "newly_recognised_calls": newly}


def _table(header: list[str], body: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in body])


def format_report(rows: list[dict[str, Any]], field: str, limit: int = 25) -> str:
    """The cross-table as text: modes, then categories, the ``limit`` commonest values."""
    shown, rest = rows[:limit], rows[limit:]
    if rest:
        other: dict[str, Any] = {"value": f"({len(rest)} other values)", "old_bh": False}
        for k in ["calls", "new_bh", *RESPONSE_MODES, *CATEGORIES]:
            other[k] = sum(r[k] for r in rest)
        shown = shown + [other]
    name = lambda r: r["value"] + (" *" if r["old_bh"] else "")
    modes = _table([field, "calls", "new BH", *RESPONSE_MODES],
                   [[name(r), f"{r['calls']:,}", f"{r['new_bh'] / max(r['calls'], 1):.0%}"]
                    + [f"{r[m]:,}" for m in RESPONSE_MODES] for r in shown])
    cats = _table([field, *CATEGORIES], [[name(r)] + [f"{r[x]:,}" for x in CATEGORIES] for r in shown])
    s = shares(rows)
    return (f"{field} against the new response mode (* = already a behavioural-health value):\n{modes}\n\n"
            f"{field} against the new categories:\n{cats}\n\n"
            f"behavioural-health calls: {s['old_bh']:.1%} by {field}, {s['new_bh']:.1%} by the new labels; "
            f"newly recognised: {s['newly_recognised']:.1%} of {s['calls']:,} labelled calls "
            f"({s['newly_recognised_calls']:,}).")
