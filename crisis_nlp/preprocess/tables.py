"""Reading rule tables: from a model version's snapshot (``rules/``) or, when no folder is
given, from the package's ``crisis_nlp/resources``. Every component and rule reader goes
through these functions, so that a version classifies with the tables it was trained with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import CrisisNLPError
from ..resources import read_text


#: tables added after the first versions of model format 2: a version whose snapshot
#: (``rules/``) predates one was trained without it and reads as if it were empty
LATER_TABLES = frozenset({"known_words.txt", "lexicon_distress.json", "boilerplate.json",
                          "lexicon_warning_signs.json", "lexicon_weapons.json", "patterns_psychosis.json",
                          "fallback_uncounted.txt", "patterns_warning_signs.json"})


def absent_later_table(rules_dir: str | Path | None, name: str) -> bool:
    """True when a version's snapshot predates table ``name``: read it as empty."""
    return name in LATER_TABLES and rules_dir is not None and not (Path(rules_dir) / name).exists()


def read_rules(rules_dir: str | Path | None, name: str) -> str:
    """The text of rule table ``name`` from ``rules_dir``, or from the package's
    resources when ``rules_dir`` is None."""
    try:
        return read_text(name) if rules_dir is None else (Path(rules_dir) / name).read_text(encoding="utf-8")
    except OSError as exc:
        where = "the package's resources" if rules_dir is None else repr(str(rules_dir))
        raise CrisisNLPError(f"rule table {name!r} not found in {where}: copy it there from "
                             f"crisis_nlp/resources or leave rules_dir unset") from exc


def read_word_list(rules_dir: str | Path | None, name: str) -> frozenset[str]:
    """The words of a one-word-per-line table (``#`` starts a comment line)."""
    return frozenset(w.strip() for w in read_rules(rules_dir, name).splitlines() if w.strip() and not w.startswith("#"))


def function_words(rules_dir: str | Path | None = None) -> frozenset[str]:
    """The closed-class words of ``function_words.txt`` in ``rules_dir`` (default the
    package's tables): single-word features a model may drop, and words a knowledge
    fallback does not count."""
    return read_word_list(rules_dir, "function_words.txt")


def fallback_uncounted(rules_dir: str | Path | None = None) -> frozenset[str]:
    """The words a knowledge fallback does not count: the function words, and since 2.16.0
    those of ``fallback_uncounted.txt`` (the codes' own words, masked-data placeholders,
    a page's wrapping)."""
    extra = frozenset() if absent_later_table(rules_dir, "fallback_uncounted.txt") \
        else read_word_list(rules_dir, "fallback_uncounted.txt")
    return function_words(rules_dir) | extra


def read_rules_json(rules_dir: str | Path | None, name: str) -> Any:
    try:
        return json.loads(read_rules(rules_dir, name))
    except json.JSONDecodeError as exc:
        raise CrisisNLPError(f"rule table {name!r} is not valid JSON (line {exc.lineno}): fix the file") from exc


def parse_tsv(text: str, name: str) -> dict[str, str]:
    """A two-column table (``key<TAB>value``, ``#`` comments): lower-case key -> value."""
    table: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        key, sep, value = line.partition("\t")
        if not sep or not value.strip():
            raise CrisisNLPError(f"{name} line {lineno}: expected 'key<TAB>value'")
        table[key.strip().lower()] = value.strip()
    return table
