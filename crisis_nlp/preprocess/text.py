"""Text-level steps that run before tokenization: Unicode/whitespace normalisation and
masking of personal data. They work on strings because a spaCy ``Doc``'s text is fixed."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from ..resources import load_json

_TRANSLATE = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201b": "'", "\u2032": "'", "`": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
        "\u2013": "-", "\u2014": " -- ", "\u2212": "-", "\u2010": "-", "\u2011": "-",
        "\u00a0": " ", "\u2009": " ", "\u200b": "", "\ufeff": "", "\u00ad": "",
    }
)
_SPACES = re.compile(r"[ \t\f\v]+")
_NEWLINES = re.compile(r"\s*[\r\n]+\s*")
# "17yo", "34yom", "80YOF" -> "17 yo" so that the shorthand table sees the unit.
_AGE_UNIT = re.compile(r"(?i)\b(\d{1,3})(yo|y/o|yom|yof|yrs?|m|f)\b")
_MAYBE_AGE = re.compile(r"(?i)\d[ymf]")  # what _AGE_UNIT needs; a tenth of the cost


def normalize_text(text: str) -> str:
    """Unicode NFKC, plain quotes and dashes, one space between words, line breaks as ' ; '.

    Line breaks separate updates in CAD notes, so they become a clause boundary that the
    negation scope stops at.
    """
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE)
    # each substitution runs only when it can change something (cheap tests first)
    if "\n" in text or "\r" in text:
        text = _NEWLINES.sub(" ; ", text)
    if _MAYBE_AGE.search(text):
        text = _AGE_UNIT.sub(r"\1 \2", text)
    if "  " in text or "\t" in text or "\f" in text or "\v" in text:
        text = _SPACES.sub(" ", text)
    return text.strip()


@dataclass(frozen=True)
class _PIIPattern:
    name: str
    placeholder: str
    regex: re.Pattern[str]
    group: int
    needs: re.Pattern[str] | None
    needs_any: tuple[str, ...]
    digit_run: int
    then_run: int  # digits_then: a run of this many digits ...
    then_char: re.Pattern[str] | None  # ... directly followed by a character of this class


_FOLLOWS: dict[tuple[str, str], bool] = {}  # (pattern name, character) -> in its then_char class


def _digits_then(p: _PIIPattern, after: dict[str, int]) -> bool:
    """Whether some run of at least ``p.then_run`` digits is followed by a ``then_char``;
    ``after`` maps each character that follows a digit run to the longest such run."""
    for c, n in after.items():
        if n >= p.then_run:
            hit = _FOLLOWS.get((p.name, c))
            if hit is None:
                hit = _FOLLOWS[(p.name, c)] = p.then_char.fullmatch(c) is not None  # type: ignore[union-attr]
            if hit:
                return True
    return False


@lru_cache(maxsize=1)
def _pii_patterns() -> tuple[_PIIPattern, ...]:
    table = load_json("pii_patterns.json")
    return tuple(
        _PIIPattern(p["name"], p["placeholder"], re.compile(p["regex"]), int(p.get("group", 0)),
                    re.compile(p["needs"]) if p.get("needs") else None, tuple(p.get("needs_any", ())),
                    int(p.get("digit_run", 0)), int(p.get("digits_then", {}).get("run", 0)),
                    re.compile(p["digits_then"]["char"]) if p.get("digits_then") else None)
        for p in table["patterns"]
    )


_DIGIT_RUNS = re.compile(r"\d+.?", re.DOTALL)  # each run of digits and the character after it


def mask_pii(text: str, *, prefilter: bool = True) -> str:
    """Replace phone numbers, e-mails, SSNs, dates of birth, addresses, plates and case
    numbers by placeholders (``PII_PHONE`` ...), so that no feature, log line or
    explanation can carry them.

    ``prefilter=False`` skips the cheap tests that decide whether a pattern can match at
    all; the result must be the same (a test checks it), only slower.
    """
    # measured once: masking only removes digits and puts letters (placeholders) after a
    # run, so a run that is too short stays too short, and one followed by a character
    # only gets shorter
    after: dict[str, int] = {}
    if prefilter:
        runs = _DIGIT_RUNS.findall(text)  # "123-": a run and the character after it
        if not runs and "@" not in text:  # every pattern needs a digit or an '@'
            return text
        for m in runs:
            c = m[-1]
            n = len(m) if c.isdecimal() else len(m) - 1  # isdecimal: what \d matches
            if n > after.get(c, 0):
                after[c] = n
    longest = max(after.values(), default=0)
    # the word tests read the lower-cased note: for ASCII that is what (?i) sees; other
    # notes (about 2% after NFKC) skip them
    low = text.lower() if prefilter and text.isascii() else None
    for p in _pii_patterns():
        if prefilter:
            if p.digit_run > longest:
                continue
            if p.then_char is not None and not _digits_then(p, after):
                continue
            if low is not None:
                if p.needs_any and not any(map(low.__contains__, p.needs_any)):
                    continue
                if p.needs is not None and not p.needs.search(low):
                    continue
        if p.group:
            new = p.regex.sub(lambda m, p=p: _replace_group(m, p.group, p.placeholder), text)
        else:
            new = p.regex.sub(p.placeholder, text)
        if new != text:
            text, low = new, (new.lower() if low is not None else None)
    return text


def _replace_group(m: re.Match[str], group: int, placeholder: str) -> str:
    start, end = m.span(group)
    s0 = m.start()
    whole = m.group(0)
    return whole[: start - s0] + placeholder + whole[end - s0 :]
