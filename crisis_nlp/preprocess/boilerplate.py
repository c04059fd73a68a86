"""Dropping the lines a CAD system adds around the call-taker's words.

Why. Real dispatch pages carry unit-status lines (``E12 ENRT 14:02:10``), paging lists,
call-number and date-time lines, ``***`` banners and e-mail footers
(``shared/cad-genre.md``). None of them says what kind of call it is, yet each adds words
the model may weigh; an appended status line or footer changed the result of 3-8% of
the gold notes of ``default@2.6.0`` (behaviour checks; 0% for 2.7.0, which drops them). The rules are a table
(``boilerplate.json``, snapshotted with each model version) and strict: a line (or a
``" | "`` field of a pager text) is dropped only when the whole of it has one of the
shapes; a line with anything else on it is kept as it is.

A model version whose rule snapshot has no ``boilerplate.json`` (trained before the
table existed) drops nothing, so its scores do not change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .tables import absent_later_table, read_rules_json

# a line break, or the field separator of pager texts ("MVA | 6187 SUMMIT BLVD | ...")
_PIECES = re.compile(r"(\r\n|\r|\n| \| )")
# tokens of a status line: separated by spaces, slashes, commas, semicolons; brackets off
_STATUS_SPLIT = re.compile(r"[\s/,;]+")
# unit ids of a paging list ("M7, E12 / BC2 & L19"); a word such as "and" keeps the line
_UNIT_LIST_SPLIT = re.compile(r"[\s,;/&]+")
_UNIT = re.compile(r"(?:[A-Z]{1,6}\d{1,4}[A-Z]{0,2}|\d{1,2}[A-Z]{1,3}\d{1,3})")
# an emergency-dispatch determinant code (protocol, level, number: 25C01, 1A12) is content
# (lexicon_dispatch.json reads it), never a unit id, though some beat units look the same
_DETERMINANT = re.compile(r"\d{1,2}[A-EO]\d{2}[A-Z]?")
_CLOCK = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?|\d{1,2}/\d{1,2}/\d{2,4}|\d{4}-\d{2}-\d{2}")
_STATUS_FILLER = frozenset({"ALL", "UNIT", "UNITS", "AT", "-", "--", ":", "&"})
# the value of a record line: numbers, dates, times ("2021-000123", "08/18/2019 04:35:35",
# "1 of 2", "14:02 hrs"), at least one digit
# (one character or word per repetition: a nested "+" here backtracked exponentially on a
# long line that failed to match)
_RECORD_VALUE = r"(?=[^\d]*\d)(?:[\d:/.\-#,\s]|of|am|pm|hrs?)+"
_FRAME = ("*", "=", "#", "~", "-")
_BANNER_EDGE = re.compile(r"^[*=#~\-\s]+|[*=#~\-\s]+$")
_NOT_BANNER = re.compile(r"[^A-Za-z\s:.!/()'-]")  # a digit or any other sign: not a banner
_WORD = re.compile(r"[a-z]+")
_MAX_STATUS_CHARS = 200  # a status line is short; a longer line is words
_MAX_BANNER_CHARS = 100


@dataclass(frozen=True)
class BoilerplateRules:
    """The shapes of ``boilerplate.json``, compiled. An empty table drops nothing."""

    status_words: frozenset[str] = frozenset()
    ten_codes: frozenset[str] = frozenset()
    unit_list: re.Pattern[str] | None = None
    record: re.Pattern[str] | None = None
    footer: re.Pattern[str] | None = None
    banner_words: frozenset[str] = frozenset()

    @classmethod
    def from_table(cls, table: dict[str, Any]) -> "BoilerplateRules":
        def alternatives(key: str) -> str:
            # longest first, so "incident #" is tried before "incident"
            return "|".join(re.escape(x) for x in sorted(table.get(key, ()), key=len, reverse=True))

        labels, records, footers = alternatives("unit_list_labels"), alternatives("record_labels"), table.get("footer_starts", ())
        return cls(
            status_words=frozenset(w.upper() for w in table.get("status_words", ())),
            ten_codes=frozenset(table.get("status_ten_codes", ())),
            unit_list=re.compile(rf"(?:{labels})\s*:?\s*(?P<units>.*)", re.I) if labels else None,
            record=re.compile(rf"(?:{records})\s*[:#]?\s*{_RECORD_VALUE}", re.I) if records else None,
            footer=re.compile("|".join(f"(?:{f})" for f in footers), re.I) if footers else None,
            banner_words=frozenset(w.lower() for w in table.get("banner_words", ())),
        )

    @property
    def empty(self) -> bool:
        return not (self.status_words or self.unit_list or self.record or self.footer or self.banner_words)

    def is_boilerplate(self, piece: str) -> bool:
        """Whether the whole of one line (or pager field) is CAD wrapping."""
        line = piece.strip()
        if not line:
            return False
        if self.footer is not None and self.footer.match(line):
            return True
        if len(line) > _MAX_STATUS_CHARS:  # every other shape is short
            return False
        if self.record is not None and self.record.fullmatch(line):
            return True
        if self.unit_list is not None:
            m = self.unit_list.fullmatch(line)
            if m and self._units_only(m.group("units")):
                return True
        return self._is_status(line) or self._is_banner(line)

    def _units_only(self, text: str) -> bool:
        tokens = [t for t in _UNIT_LIST_SPLIT.split(text.upper()) if t]
        return bool(tokens) and all(_UNIT.fullmatch(t) and not _DETERMINANT.fullmatch(t) for t in tokens)

    def _is_status(self, line: str) -> bool:
        """A line of unit ids, status words, times and dates only, with at least one status
        word (or a status 10-code right after a unit id): 'M7 ONSCN', 'ASSGN / ENRT 06:17 /
        06:20', '[22:41] E12 AVAIL', 'AMB24 10-98'."""
        if not self.status_words:
            return False
        status = False
        previous_unit = False
        for raw in _STATUS_SPLIT.split(line.upper()):
            token = raw.strip("[]()")
            if not token:
                continue
            if token in self.status_words:
                status, previous_unit = True, False
            elif previous_unit and token in self.ten_codes:
                status, previous_unit = True, False
            elif _UNIT.fullmatch(token) and not _DETERMINANT.fullmatch(token):
                previous_unit = True
            elif _CLOCK.fullmatch(token) or token in _STATUS_FILLER:
                previous_unit = False
            else:
                return False
        return status

    def _is_banner(self, line: str) -> bool:
        """'*** CAD PAGE ***', '--- End of CAD page ---', 'END OF MESSAGE': banner words
        only, framed or at least two of them."""
        if not self.banner_words or len(line) > _MAX_BANNER_CHARS:
            return False
        framed = line.startswith(_FRAME) and line.endswith(_FRAME)
        head = line.lstrip("*=#~- ").split(None, 1)
        if not framed and (not head or head[0].lower() not in self.banner_words):
            return False  # the cheap test that turns away almost every line of words
        inner = _BANNER_EDGE.sub("", line)
        words = _WORD.findall(inner.lower())
        return ((framed or len(words) >= 2) and bool(words) and all(w in self.banner_words for w in words)
                and not _NOT_BANNER.search(inner))

    def strip(self, text: str) -> str:
        """``text`` without its boilerplate lines (and the separator before each). A note
        that is nothing but boilerplate, or has none, is returned unchanged."""
        if self.empty or ("\n" not in text and "\r" not in text and " | " not in text):
            return text  # one piece: dropped whole or kept, the note stays as it is
        parts = _PIECES.split(text)
        pieces, separators = parts[0::2], parts[1::2]
        drop = [self.is_boilerplate(p) for p in pieces]
        if not any(drop) or all(drop):
            return text
        out: list[str] = []
        for i, (piece, dropped) in enumerate(zip(pieces, drop)):
            if dropped:
                continue
            if out:
                out.append(separators[i - 1])
            out.append(piece)
        return "".join(out)


@lru_cache(maxsize=8)
def boilerplate_rules(rules_dir: str | Path | None = None) -> BoilerplateRules:
    """The boilerplate rules of the tables in ``rules_dir`` (default the package's); none
    for a version snapshotted before ``boilerplate.json`` existed."""
    if absent_later_table(rules_dir, "boilerplate.json"):
        return BoilerplateRules()
    return BoilerplateRules.from_table(read_rules_json(rules_dir, "boilerplate.json"))
