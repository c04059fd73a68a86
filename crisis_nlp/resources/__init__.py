"""Rules, lexicons and tables kept as data, read with :mod:`importlib.resources`."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any


#: the response policy is a version's own file (policy.toml), not one of its rule tables
_NOT_RULES = ("policy_default.toml",)


def rule_files() -> list[Path]:
    """The package's preprocessing tables, as a model version snapshots them (``rules/``)."""
    root = Path(str(files(__name__)))
    return sorted(p for p in root.iterdir()
                  if p.is_file() and p.suffix in (".json", ".tsv", ".txt", ".toml") and p.name not in _NOT_RULES)


def read_text(name: str) -> str:
    """Return the text of a bundled resource file."""
    return files(__name__).joinpath(name).read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def load_json(name: str) -> Any:
    """Parse a bundled JSON resource (cached: resources never change at run time)."""
    return json.loads(read_text(name))


@lru_cache(maxsize=None)
def load_shorthand() -> dict[str, str]:
    """Return the dispatch shorthand table: lower-case abbreviation -> expansion."""
    table: dict[str, str] = {}
    for lineno, line in enumerate(read_text("shorthand.tsv").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        abbr, sep, expansion = line.partition("\t")
        if not sep or not expansion.strip():
            raise ValueError(f"shorthand.tsv line {lineno}: expected 'abbreviation<TAB>expansion'")
        table[abbr.strip().lower()] = expansion.strip().lower()
    return table

