"""Rules, lexicons and tables kept as data, read with :mod:`importlib.resources`."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any


def _is_rule_table(p: Path) -> bool:
    """A table that makes a version's features, the personal-data masking tables among
    them since stop 46 (masking writes ``PII_NAME``). Not: the response policy (a version's
    own ``policy.toml``)."""
    return p.is_file() and p.suffix in (".json", ".tsv", ".txt", ".toml") and p.name != "policy_default.toml"


def rule_files(rules_dir: str | Path | None = None) -> list[Path]:
    """The preprocessing tables a model version snapshots (``rules/``): those in
    ``rules_dir``, default the package's."""
    root = Path(rules_dir) if rules_dir is not None else Path(str(files(__name__)))
    return sorted(p for p in root.iterdir() if _is_rule_table(p))


def rules_with(overrides: dict[str, str | Path], folder: str | Path) -> Path:
    """A rules folder in ``folder``: the package's tables with some replaced by a user's
    own files (e.g. ``{"shorthand.tsv": "agency.tsv"}``); returns the folder."""
    import shutil

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    known = {p.name: p for p in rule_files()}
    for name in overrides:
        if name not in known:
            raise ValueError(f"{name!r} is not one of the rule tables ({', '.join(sorted(known))}).")
    for name, src in known.items():
        shutil.copyfile(overrides.get(name, src), folder / name)
    return folder


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

