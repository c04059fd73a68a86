"""Text-level steps that run before tokenization: Unicode/whitespace normalisation and
masking of personal data. They work on strings because a spaCy ``Doc``'s text is fixed."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import CrisisNLPError
from .tables import read_rules, read_rules_json

_PLAIN = {
    "\u2018": "'", "\u2019": "'", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
    "\u2013": "-", "\u2014": " -- ", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    "\u00a0": " ", "\u2009": " ", "\u200b": "", "\ufeff": "", "\u00ad": "",
}
_TRANSLATE = str.maketrans(_PLAIN)


def _plain(text: str) -> str:
    """``text.translate(_TRANSLATE)`` by ``str.replace``, one key at a time: translate
    looks every character of a non-ASCII text up in a dict (1.9 ms for 20,000 characters),
    a search per key costs microseconds. The same result: each key is one character and
    no value holds a key."""
    for key, value in _PLAIN.items():
        if key in text:
            text = text.replace(key, value)
    return text


# All whitespace but line breaks; after normalisation a note has single spaces only, so
# the masking patterns never meet a long run of whitespace.
_SPACES = re.compile(r"[^\S\r\n]+")
# A run of whitespace holding a line break. The lookbehind starts a match only at the
# start of a run: "\s*[\r\n]+\s*" alone retried the run from each of its spaces
# (quadratic: 4-7 s on 'a\nb' + 20,000 spaces); the matches are the same. (The
# definition of what _line_breaks does; a test checks they agree.)
_NEWLINES = re.compile(r"(?<!\s)\s*[\r\n]+\s*")
# "17yo", "34yom", "80YOF" -> "17 yo" so that the shorthand table sees the unit.
_AGE_UNIT = re.compile(r"(?i)\b(\d{1,3})(yo|y/o|yom|yof|yrs?|m|f)\b")
_MAYBE_AGE = re.compile(r"(?i)\d[ymf]")  # what _AGE_UNIT needs; a tenth of the cost


# NFKC can lengthen a note up to 18-fold (U+FDFA is 18 characters after it); what passes
# this many characters is cut, so that a note of 20,000 characters stays a note of that
# order. Ordinary text grows by a few characters at most.
MAX_NORMALIZED = 24_000
# NFKC runs on pieces of about this many characters and stops once MAX_NORMALIZED are
# made: 20,000 U+FDFA took 28 ms in one call (360,000 characters made, then cut), and
# U+3300 21 ms; piece by piece they cost what the kept 24,000 characters cost.
NFKC_PIECE = 2_000
# Code points that NFKC can compose with the character before them although they are
# starters (canonical combining class 0): the second character of a canonical pair
# (Unicode 14; a test recomputes the list from unicodedata). Hangul vowel and trailing
# jamo join by rule and are tested by range.
_JOINS_BACK = frozenset(map(chr, (
    0x09BE, 0x09D7, 0x0B3E, 0x0B56, 0x0B57, 0x0BBE, 0x0BD7, 0x0CC2, 0x0CD5, 0x0CD6, 0x0D3E, 0x0D57, 0x0DCF,
    0x0DDF, 0x0FB5, 0x0FB7, 0x102E, 0x1B35, 0x11127, 0x1133E, 0x11357, 0x114B0, 0x114BA, 0x114BD, 0x115AF,
    0x11930)))
_BOUNDARY_SEARCH = 256  # how far a piece's end moves to reach a boundary (only marks are longer)
# Unicode's stream-safe limit (UAX #15): no text needs more than 30 combining marks in a
# row. A longer run of the marks of the main mark blocks is cut to 30 before NFKC, whose
# cost on mark runs is 0.35 µs a character (7 ms for 20,000: "Zalgo" text); no note has
# one. (Marks of other blocks are still bounded by NFKC's linear cost.)
MARKS_MAX = 30
_MARK_BLOCKS = ((0x0300, 0x036F), (0x0483, 0x0489), (0x0591, 0x05C7), (0x0610, 0x061A), (0x064B, 0x065F),
                (0x0670, 0x0670), (0x06D6, 0x06ED), (0x0730, 0x074A), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF),
                (0x20D0, 0x20FF), (0x2DE0, 0x2DFF), (0xFE20, 0xFE2F))
_MARK_RUN = re.compile("[%s]{%d,}" % ("".join(re.escape(chr(c)) for a, b in _MARK_BLOCKS for c in range(a, b + 1)
                                              if unicodedata.combining(chr(c))), MARKS_MAX + 1))


def _starts_fresh(c: str) -> bool:
    """Whether NFKC never joins ``c`` to what comes before it: ``c`` decomposes to a
    starter that composes with nothing before it, so a note can be normalised in pieces
    cut before ``c`` with the same result as whole."""
    if c.isascii():
        return True
    if unicodedata.combining(c):  # a mark: the common case in a long search, and cheap
        return False
    first = unicodedata.normalize("NFKD", c)[0]
    return (unicodedata.combining(first) == 0 and first not in _JOINS_BACK
            and not ("\u1161" <= first <= "\u1175" or "\u11a8" <= first <= "\u11c2"))


def _nfkc(text: str) -> str:
    """NFKC and the plain-character table of ``text``, cut at ``MAX_NORMALIZED``
    characters, made ``NFKC_PIECE`` characters at a time and stopped once that many are
    made. A piece ends before a character where NFKC starts afresh (:func:`_starts_fresh`),
    so the result is that of one call on the whole note; only a run of more than
    ``_BOUNDARY_SEARCH`` combining marks is cut inside (not text anyone writes)."""
    if len(text) > MARKS_MAX:
        text = _MARK_RUN.sub(lambda m: m.group()[:MARKS_MAX], text)
    out: list[str] = []
    size = start = 0
    while start < len(text) and size < MAX_NORMALIZED:
        end = min(start + NFKC_PIECE, len(text))
        stop = min(end + _BOUNDARY_SEARCH, len(text))
        while end < stop and not _starts_fresh(text[end]):
            end += 1
        piece = _plain(unicodedata.normalize("NFKC", text[start:end]))
        out.append(piece)
        size += len(piece)
        start = end
    text = "".join(out)
    return text[:MAX_NORMALIZED] if len(text) > MAX_NORMALIZED else text


def _line_breaks(text: str) -> str:
    """Each run of whitespace that holds a line break as ' ; ', line by line: the same as
    ``_NEWLINES.sub(' ; ', text)`` with string methods (the regex is tried at every
    position: 1.5 ms for 20,000 characters of gold notes, against 0.02 ms). Whitespace at
    either end may go: the caller strips it anyway."""
    lines = [line.strip() for line in text.replace("\r", "\n").split("\n")]
    kept = [line for line in lines if line]
    if not kept:
        return " ; "
    return (" ; " if not lines[0] else "") + " ; ".join(kept) + (" ; " if not lines[-1] else "")


def normalize_characters(text: str) -> str:
    """The first half of :func:`normalize_text`: NFKC (bounded: :func:`_nfkc`), plain
    quotes and dashes, line breaks as ' ; '. What the reading budget reads."""
    if not text.isascii():
        text = _nfkc(text)
    if "\n" in text or "\r" in text:
        text = _line_breaks(text)
    return text


def normalize_spacing(text: str) -> str:
    """The second half of :func:`normalize_text`: '17yo' -> '17 yo', one space between
    words, no space at either end."""
    # each substitution runs only when it can change something (cheap tests first)
    if _MAYBE_AGE.search(text):
        text = _AGE_UNIT.sub(r"\1 \2", text)
    if "  " in text or not text.isprintable():  # tabs, other control and Unicode spaces
        text = _SPACES.sub(" ", text)
    return text.strip()


def normalize_text(text: str) -> str:
    """Unicode NFKC, plain quotes and dashes, one space between words, line breaks as ' ; '.

    Line breaks separate updates in CAD notes, so they become a clause boundary that the
    negation scope stops at. Linear in the length of the note; a note that NFKC makes
    longer than ``MAX_NORMALIZED`` characters is cut there (:func:`_nfkc`), and a run of
    more than ``MARKS_MAX`` combining marks is cut to that many.
    """
    return normalize_spacing(normalize_characters(text))


# -- runs without spaces, capped before the tokenizer -------------------------------------
# spaCy's tokenizer strips prefixes and suffixes from a chunk one at a time, each step a
# regex search over the rest of the chunk: quadratic in the chunk's length (20,000 '#'
# took 64-150 s). No run in the 40,260 committed notes comes near these limits (the
# longest chunk has 19 characters, no punctuation run has 4), so ordinary notes are
# unchanged.
RUN_MAX = 40  # a longer run of non-space characters gets a space every RUN_MAX characters
SAME_PUNCT_MAX = 4  # "!!!!!!!!" -> "!!!!"
PUNCT_RUN_MAX = 4  # a longer run of mixed punctuation ("?!?!?", "'\"#(") is spaced out
_SAME_PUNCT = re.compile(r"([^\w\s])\1{%d,}" % SAME_PUNCT_MAX)
_ANY_PUNCT_RUN = re.compile(r"[^\w\s]{%d}" % (min(SAME_PUNCT_MAX, PUNCT_RUN_MAX) + 1))
_ANY_LONG_RUN = re.compile(r"(?<!\S)\S{%d}" % (RUN_MAX + 1))  # tried at the start of each run only
_PUNCT_RUN = re.compile(r"[^\w\s]{%d,}" % (PUNCT_RUN_MAX + 1))
_LONG_RUN = re.compile(r"\S{%d,}" % (RUN_MAX + 1))


def _space_out(m: re.Match[str]) -> str:
    return " ".join(m.group())


def _chop(m: re.Match[str]) -> str:
    s = m.group()
    return " ".join(s[i : i + RUN_MAX] for i in range(0, len(s), RUN_MAX))


def limit_runs(text: str) -> str:
    """Bound the work spaCy's tokenizer does per chunk: a run of one punctuation
    character longer than ``SAME_PUNCT_MAX`` is cut to that length, a run of mixed
    punctuation longer than ``PUNCT_RUN_MAX`` gets a space between its characters, and
    any run of more than ``RUN_MAX`` non-space characters a space every ``RUN_MAX``.
    Linear; leaves ordinary notes as they are (the checks are cheap when nothing is long).
    """
    if len(text) <= RUN_MAX or not (_ANY_PUNCT_RUN.search(text) or _ANY_LONG_RUN.search(text)):
        return text  # ordinary notes stop here
    if _SAME_PUNCT.search(text):
        text = _SAME_PUNCT.sub(lambda m: m.group(1) * SAME_PUNCT_MAX, text)
    if _PUNCT_RUN.search(text):
        text = _PUNCT_RUN.sub(_space_out, text)
    if _LONG_RUN.search(text):
        text = _LONG_RUN.sub(_chop, text)
    return text


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
    check: Callable[[str], int] | None  # how much of the matched text to mask (0: none)


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


# -- checks: a pattern finds a candidate, its check says how much of it to mask ----------
_LUHN_DOUBLE = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # a digit doubled, its digits summed


def _check_card(s: str) -> int:
    """The longest prefix of 13-19 digits (ending at a digit) that passes the Luhn check:
    a card number followed by another number ('4111 1111 1111 1111 12') is still found.
    One pass: the Luhn sums of all prefixes from two running sums (which digits are
    doubled depends on the parity of the prefix length)."""
    ends: list[int] = []
    sums = [[0], [0]]  # sums[k][n]: prefix of n digits, digits at index parity k doubled
    for i, ch in enumerate(s):
        if ch.isdecimal():
            d = int(ch)
            k = len(ends) % 2
            sums[k].append(sums[k][-1] + _LUHN_DOUBLE[d])
            sums[1 - k].append(sums[1 - k][-1] + d)
            ends.append(i + 1)
    for n in range(min(19, len(ends)), 12, -1):
        if sums[n % 2][n] % 10 == 0:  # the last digit (index n - 1) is not doubled
            return ends[n - 1]
    return 0


def _check_ip(s: str) -> int:
    if not any(map(str.isalnum, s)):  # "::" alone is an address, but in a note it is punctuation
        return 0
    try:
        ipaddress.ip_address(s)
    except ValueError:
        return 0
    return len(s)


def _check_intl_phone(s: str) -> int:
    """An international number: 7-15 digits after the '+' or the 011 prefix (E.164 allows
    at most 15 with the country code)."""
    body = s[1:] if s.startswith("+") else s[3:]
    n = sum(ch.isdecimal() for ch in body)
    return len(s) if 7 <= n <= 15 else 0


def _check_url(s: str) -> int:
    """The URL without the sentence punctuation after it."""
    return len(s.rstrip(".,;:!?)]}'\""))


_CHECKS: dict[str, Callable[[str], int]] = {
    "luhn": _check_card, "ip": _check_ip, "intl_phone": _check_intl_phone, "url": _check_url,
}


#: the personal-data masking tables. Masking makes features (``PII_NAME``, ``PII_PHONE``),
#: so a version trained since stop 46 snapshots them with its other rule tables and they are hashed
#: in its manifest; a version whose snapshot predates them reads the package's.
MASKING_TABLES = ("names_first.txt", "names_last.txt", "names_stop.txt", "names_vocab.txt", "pii_patterns.json")


@lru_cache(maxsize=None)
def masking_dir(rules_dir: str | None) -> str | None:
    """The folder whose masking tables a version with the rule tables of ``rules_dir``
    reads: ``rules_dir`` itself, or None (the package's) for a snapshot without them."""
    if rules_dir is None:
        return None
    have = [name for name in MASKING_TABLES if (Path(rules_dir) / name).is_file()]
    if not have:
        return None
    if len(have) < len(MASKING_TABLES):
        missing = ", ".join(sorted(set(MASKING_TABLES) - set(have)))
        raise CrisisNLPError(f"rule folder {str(rules_dir)!r} has some masking tables but not {missing}: "
                             f"copy them there from crisis_nlp/resources")
    return str(rules_dir)


@lru_cache(maxsize=None)
def _pii_patterns(source: str | None = None) -> tuple[_PIIPattern, ...]:
    table = read_rules_json(source, "pii_patterns.json")
    return tuple(
        _PIIPattern(p["name"], p["placeholder"], re.compile(p["regex"]), int(p.get("group", 0)),
                    re.compile(p["needs"]) if p.get("needs") else None, tuple(p.get("needs_any", ())),
                    int(p.get("digit_run", 0)), int(p.get("digits_then", {}).get("run", 0)),
                    re.compile(p["digits_then"]["char"]) if p.get("digits_then") else None,
                    _CHECKS[p["check"]] if p.get("check") else None)
        for p in table["patterns"]
    )


def pii_placeholders(rules_dir: str | None = None) -> frozenset[str]:
    """Every placeholder that masking writes (``PII_PHONE`` ..., ``PII_NAME``)."""
    return frozenset(p.placeholder for p in _pii_patterns(masking_dir(rules_dir))) | {NAME_PLACEHOLDER}


_DIGIT_RUNS = re.compile(r"\d+.?", re.DOTALL)  # each run of digits and the character after it


def mask_pii(text: str, *, prefilter: bool = True, names: bool = True, rules_dir: str | None = None) -> str:
    """Replace phone numbers, e-mails, SSNs, card numbers, dates of birth, addresses,
    plates, case and record numbers, IP addresses, URLs and person names by placeholders
    (``PII_PHONE`` ...), so that no feature, log line or explanation can carry them.

    Linear in the length of the note: no pattern retries an unbounded run from each of
    its positions. ``prefilter=False`` skips the cheap tests that decide whether a
    pattern can match at all; the result must be the same (a test checks it), only
    slower. ``names=False`` leaves person names (see :func:`mask_names`). ``rules_dir``:
    a version's rule tables (default the package's), see :data:`MASKING_TABLES`.
    """
    text = _mask_patterns(text, prefilter, masking_dir(rules_dir))
    return mask_names(text, rules_dir) if names else text


def _mask_patterns(text: str, prefilter: bool, source: str | None) -> str:
    # measured once: masking only removes digits and puts letters (placeholders) after a
    # run, so a run that is too short stays too short, and one followed by a character
    # only gets shorter
    after: dict[str, int] = {}
    if prefilter:
        runs = _DIGIT_RUNS.findall(text)  # "123-": a run and the character after it
        if not runs and "@" not in text and "." not in text and ":" not in text:
            return text  # every pattern needs a digit, an '@', a '.' (web address) or a ':' (IPv6)
        for m in runs:
            c = m[-1]
            n = len(m) if c.isdecimal() else len(m) - 1  # isdecimal: what \d matches
            if n > after.get(c, 0):
                after[c] = n
    longest = max(after.values(), default=0)
    # the word tests read the lower-cased note: for ASCII that is what (?i) sees; other
    # notes (about 2% after NFKC) skip them
    low = text.lower() if prefilter and text.isascii() else None
    for p in _pii_patterns(source):
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
        if p.group or p.check is not None:
            new = p.regex.sub(lambda m, p=p: _replace(m, p), text)
        else:
            new = p.regex.sub(p.placeholder, text)
        if new != text:
            text, low = new, (new.lower() if low is not None else None)
    return text


def _replace(m: re.Match[str], p: _PIIPattern) -> str:
    start, end = m.span(p.group)
    s0 = m.start()
    whole = m.group(0)
    if p.check is not None:
        n = p.check(whole[start - s0 : end - s0])
        if not n:
            return whole
        end = start + n
    return whole[: start - s0] + p.placeholder + whole[end - s0 :]


# -- person names -------------------------------------------------------------------------
NAME_PLACEHOLDER = "PII_NAME"
# A word: letters, with inner apostrophes or hyphens ("O'Neil", "Al-Amin"), not part of a
# longer run of word characters (a placeholder such as PII_ADDRESS, "17yo"). Linear: the
# separators are not letters, so there is one way to match a word, and the lookbehind
# lets only the start of a run try.
_WORD = re.compile(r"(?<!\w)[^\W\d_]+(?:['-][^\W\d_]+)*(?!\w)")
_LETTERS = re.compile(r"[^\W\d_]+")
_TITLE = re.compile(r"(?<!\w)[A-Z][a-z]+(?!\w)")  # what the kin rule needs after its cue ("son Will")
# after these, the next words are a name whatever their case or list ("RP name is Xochitl",
# "Mrs. Okafor", "the dog is named Rex")
_STRONG_CUES = frozenset("named mr mrs ms miss mx aka nka fka".split())
# after these, a listed name that is not an everyday word is a name ("caller Maria")
_WEAK_CUES = frozenset("""
caller subj subject rp pt patient client resident victim vic suspect susp per officer ofc deputy dep sgt
trooper nurse dr doctor counselor therapist worker cm with from by called
""".split())
# a note holding one of these is read by the name pass even with no listed name in it
# ("RP: Olena Horvat"; since stop 50, at about 15 µs a note: most notes hold "rp", "per" or "with")
_WEAK_CUE_WORDS = frozenset(w.upper() for w in _WEAK_CUES)
# after these, also a capitalised everyday name in a note in mixed case ("son Will")
_KIN_CUES = frozenset("""
son daughter wife husband mother father mom dad mum brother sister bro sis bf gf boyfriend girlfriend
fiance fiancee friend neighbor neighbour roommate uncle aunt grandson granddaughter grandmother
grandfather grandma grandpa cousin nephew niece stepson stepdaughter stepfather stepmother spouse
partner guardian caregiver
""".split())
# never a name, whatever comes before
_NEVER = frozenset("""
a an the is was are be been not no unk unknown unkn refused withheld declined na n anon anonymous none
he she they him her them his hers their theirs i me my we us our you your it its this that who what
and or but of on in at to for as is by if so
""".split())
# a capitalised word before one of these is a place ("Garfield St", "Harmon Hall"), not a person
_PLACE_AFTER = frozenset("""
st ave av rd dr ln ct blvd hwy way pl pkwy cir ter trl sq street avenue road drive lane court boulevard
highway place parkway circle terrace trail loop square park hall field center centre creek cr springs spring
ridge hollow heights harbor harbour lake river hills hill view motel inn hotel apts apartments school middle
high elementary college university hospital clinic church cemetery market library station plaza plz mall
county city town village township bridge fork flats flat draw valley canyon mesa point beach island bay
memorial general gen medical hs store storage insurance company co inc llc senior transit crisis house shelter
manor grove gardens estates commons ranch farm mill mills falls rehab center pharmacy deli bar grill cafe
""".split())


@lru_cache(maxsize=None)
def _name_lists(source: str | None) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    def words(fname: str) -> frozenset[str]:
        return frozenset(w.strip().upper() for w in read_rules(source, fname).splitlines()
                         if w.strip() and not w.startswith("#"))

    return words("names_first.txt"), words("names_last.txt"), words("names_stop.txt")


def name_vocab(rules_dir: str | None = None) -> frozenset[str]:
    """The everyday words of call notes (``names_vocab.txt``, lower case): a capitalised
    one is not an unlisted name; the reading budget counts them as known words."""
    return _name_vocab(masking_dir(rules_dir))


@lru_cache(maxsize=None)
def _name_vocab(source: str | None) -> frozenset[str]:
    return frozenset(w.strip() for w in read_rules(source, "names_vocab.txt").splitlines()
                     if w.strip() and not w.startswith("#"))


@lru_cache(maxsize=None)
def identity_words(rules_dir: str | None = None) -> frozenset[str]:
    """Race and ethnicity words (``identity_terms.json``, lower case): never part of a name.
    A race word after a listed surname and a comma ('the TRAIL, ASIAN SUBJ') read as 'LAST,
    FIRST' masked the word before it too, so an identity word changed the features. Not the
    colour words: 'Brown' is a surname, and a name left unmasked is a privacy failure."""
    from .identity import load_identity_terms  # here, not at the top: it imports spaCy

    terms = load_identity_terms(rules_dir=rules_dir)  # the checked table the identity component reads
    return frozenset(w.lower() for w in [*terms["race"], *(w for phrase in terms["race_phrases"] for w in phrase)])


@lru_cache(maxsize=None)
def _name_words(source: str | None) -> tuple[frozenset[str], frozenset[str]]:
    """(words without which no rule fires: the prefilter; words at which a rule can
    start: the ones the pass visits)."""
    first, last, stop = _name_lists(source)
    strong = {w.upper() for w in _STRONG_CUES | {"name", "nombre"}}
    cues = {w.upper() for w in _WEAK_CUES | _KIN_CUES}
    needed = ((first | last) - stop) | strong
    # the prefilter sees the letters between apostrophes and hyphens one piece at a time
    needed |= {part for w in needed if not w.isalpha() for part in re.split(r"[^\w]", w) if part}
    return frozenset(needed), frozenset(first | last | strong | cues)


@lru_cache(maxsize=1)
def _cue_words() -> frozenset[str]:
    return frozenset(w.upper() for w in _STRONG_CUES | _WEAK_CUES | _KIN_CUES | {"name", "nombre"})


@lru_cache(maxsize=None)
def _kin_words(source: str | None) -> tuple[frozenset[str], frozenset[str]]:
    """(kin cues, upper case; everyday names as written Capitalised): a note with neither
    a listed name nor a strong cue has a name only where a kin cue precedes one of these
    ('son Will')."""
    first, last, stop = _name_lists(source)
    return frozenset(w.upper() for w in _KIN_CUES), frozenset(w.capitalize() for w in stop & (first | last))


def _is_cap(w: str) -> bool:
    return w[0].isupper()


def mask_names(text: str, rules_dir: str | None = None) -> str:
    """Replace person names by ``PII_NAME``, only where the text says it is a name.

    - after a strong cue ('name is', 'name:', 'named', 'Mr', 'Mrs', 'Ms', 'aka'): up to
      three words, listed or capitalised (a word of ``_NEVER`` ends it);
    - after a weak cue ('caller', 'subj', 'per', 'son', 'daughter', 'with' ...): a listed
      first name or surname, or (in a note in mixed case) a capitalised word, even one of
      the everyday names of ``names_stop.txt`` ('son Will');
    - a listed first name followed by a listed surname, both capitalised ('Maria Lopez',
      'JOHN SMITH'), or 'LAST, FIRST' ('Okafor, Chidi');
    - in a note in mixed case, a capitalised listed first name that does not start a
      sentence ('spoke with Jamal', 'told Priya').

    Everyday names ('Will', 'Hope', 'Grace', 'May', 'Bill', 'Rose', 'Mark') are masked
    only after a cue; a name-like word before a place word ('Garfield St') is left. Each
    run of name words (with its initials) becomes one placeholder. Linear: one pass over
    the words.
    """
    if len(text) < 3:
        return text
    source = masking_dir(rules_dir)
    needed, cand = _name_words(source)
    pieces = _LETTERS.findall(text.upper())  # cheaper than the words; a superset of their parts
    if needed.isdisjoint(pieces):
        kin, everyday = _kin_words(source)
        if _WEAK_CUE_WORDS.isdisjoint(pieces) and (kin.isdisjoint(pieces) or everyday.isdisjoint(_TITLE.findall(text))):
            return text  # no listed name and no cue
    found = list(_WORD.finditer(text))
    words = [m.group() for m in found]
    uppers = list(map(str.upper, words))
    spans = [m.span() for m in found]
    first, last, stop = _name_lists(source)
    vocab = _name_vocab(source)
    race = identity_words(rules_dir)
    cues = _cue_words()
    n = len(words)
    n_upper = sum(map(str.isupper, words))
    n_lower = sum(map(str.islower, words))
    shouting = n_upper * 2 > n  # a note in capitals: case says nothing
    mixed = not shouting and n_upper + n_lower < n  # some words Capitalised

    def gap(i: int) -> str:  # the text between word i and word i + 1
        return text[spans[i][1] : spans[i + 1][0]] if i + 1 < n else text[spans[i][1] :]

    def listed(i: int) -> bool:
        u = uppers[i]
        return (u in first or u in last) and u not in stop and u.lower() not in race

    def capital(i: int) -> bool:  # capitalised in a way that says something
        w = words[i]
        return (not shouting and w[0].isupper()) or (shouting and w.isupper())

    def place_after(i: int) -> bool:
        return i + 1 < n and gap(i) in (" ", ". ") and uppers[i + 1].lower() in _PLACE_AFTER

    def never(i: int) -> bool:
        return uppers[i].lower() in _NEVER

    def known(i: int) -> bool:  # a word of the notes (or a cue), so not an unlisted name
        u = uppers[i]
        low = u.lower()
        return (low in vocab or low in _NEVER or low in _PLACE_AFTER or u in stop or low in race
                or (u in cand and not listed(i)))

    def namelike(i: int) -> bool:  # an unlisted word that can be part of a name next to a listed one
        return 0 <= i < n and len(words[i]) > 1 and capital(i) and not known(i)

    def follows(i: int) -> bool:  # word i continues a name that ends at word i - 1
        if i >= n or gap(i - 1) not in (" ", ". ") or never(i):
            return False
        if gap(i - 1) == ". " and len(words[i - 1]) > 1:
            return False  # a sentence ended
        w = words[i]
        if len(w) == 1:  # an initial
            return w.isupper() and not shouting and (gap(i) == " " or gap(i).startswith("."))
        if listed(i):
            return capital(i) or not mixed
        return not known(i) and (capital(i) or not (mixed or shouting))

    masked: list[tuple[int, int]] = []  # word index ranges [a, b)
    free = 0  # the first word not yet in a masked name
    visit = [k for k, u in enumerate(uppers) if u in cand and (u not in stop or u in cues or (mixed and not shouting))]
    for i in visit:  # only words that can start or cue a name
        if i < free:
            continue
        start = end = None
        u = uppers[i]
        low = u.lower()
        nxt = i + 1
        # a strong cue, or "name is" / "name:"
        if low in _STRONG_CUES and nxt < n:
            if gap(i).strip(" .:") == "" and not never(nxt) and not place_after(nxt) and (capital(nxt) or not mixed
                                                                  or uppers[nxt] in first or uppers[nxt] in last):
                start = nxt
        elif low in ("name", "nombre") and nxt < n:
            j = nxt
            if gap(i).strip() == "" and uppers[j].lower() in ("is", "was", "es") and j + 1 < n and gap(j).strip() == "":
                j += 1
            elif gap(i).strip(" ") not in (":", "-", "="):
                j = -1
            if j > 0 and not never(j) and (capital(j) or not mixed or uppers[j] in first or uppers[j] in last):
                start = j
        elif (low in _WEAK_CUES or low in _KIN_CUES) and nxt < n and gap(i).strip(" :") == "":
            while nxt + 1 < n and uppers[nxt].lower() in race and gap(nxt) == " ":
                nxt += 1  # "caller Latina Lopez": the name is after the race word
            w = words[nxt]
            if not never(nxt) and not place_after(nxt):
                if listed(nxt) and (capital(nxt) or not mixed):
                    start = nxt
                elif low in _KIN_CUES and mixed and w[0].isupper() and not w.isupper() and uppers[nxt] in first:
                    start = nxt  # "son Will", "daughter Hope": an everyday name, said to be one
                elif namelike(nxt) and gap(nxt) == " " and (namelike(nxt + 1) or (nxt + 1 < n and listed(nxt + 1))):
                    start = nxt  # "per Soren Castellano": two name-like words after a cue
        if start is None and capital(i) and listed(i) and not place_after(i):
            prev_ok = i - 1 >= free and i > 0
            if u in first and nxt < n and gap(i) == " " and capital(nxt) and uppers[nxt] in last and not place_after(nxt):
                start = i  # First Last
            elif u in first and nxt < n and gap(i) == " " and namelike(nxt) and not place_after(nxt):
                start = i  # First Unlisted ("Aisha Mbeki")
            elif u in last and prev_ok and gap(i - 1) == " " and namelike(i - 1):
                start = i - 1  # Unlisted Last ("Oluwaseun Romero")
            elif u in last and nxt < n and gap(i) == ", " and capital(nxt) and (listed(nxt) and uppers[nxt] in first
                                                                              or namelike(nxt)):
                start, end = i, nxt + 1  # LAST, FIRST
            elif u in first and prev_ok and gap(i - 1) == ", " and namelike(i - 1):
                start, end = i - 1, nxt  # Unlisted, FIRST ("Ivanova, Chayton")
            elif mixed and u in first and not words[i].isupper() and len(words[i]) > 1 and i > 0 and gap(i - 1).strip() == "":
                start = i  # a listed first name inside a sentence
        if start is None and capital(i) and mixed and u in first and u in stop and nxt < n and gap(i) == " ":
            if not words[i].isupper() and listed(nxt) and uppers[nxt] in last and capital(nxt) and not place_after(nxt):
                start = i  # "Will Johnson" in a note in mixed case
        if start is None:
            continue
        if end is None:
            end = start + 1
            if (end < n and gap(start) == ", " and capital(end) and listed(end) and uppers[end] in first
                    and (uppers[start] in last or namelike(start))):
                end += 1  # "Subj: Okafor, Chidi"
        while end < n and end - start < 4 and follows(end):
            end += 1
        masked.append((start, end))
        free = end
    if not masked:
        return text
    out = []
    pos = 0
    for a, b in masked:
        s, e = spans[a][0], spans[b - 1][1]
        if len(words[b - 1]) == 1 and e < len(text) and text[e] == ".":
            e += 1  # the initial's period
        out.append(text[pos:s])
        out.append(NAME_PLACEHOLDER)
        pos = e
    out.append(text[pos:])
    return "".join(out)
